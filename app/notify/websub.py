"""The WebSub publish ping: after a poll that changed documents, tell the hub which feeds.

One POST, form-encoded: ``hub.mode=publish`` and one ``hub.url`` per changed feed (the form
that widely used hubs accept). The feeds themselves name the hub (``<link rel="hub">``), so
subscribers find it; the ping lets the hub fetch and push at once instead of polling.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlencode

from app.errors import FetchError
from app.fetch.poster import Poster
from app.notify.channel import Answer

log = logging.getLogger("toldfeed.service")


def ping_body(urls: Sequence[str]) -> bytes:
    """The form body of one publish ping."""
    return urlencode([("hub.mode", "publish"), *(("hub.url", url) for url in urls)]).encode()


def ping_hub(poster: Poster, hub: str, urls: Sequence[str], timeout: float) -> Answer:
    """Send one publish ping for ``urls`` and log its outcome; 2xx (hubs answer 204) is
    success."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        got = poster.post(hub, ping_body(urls), headers, timeout=timeout)
        answer = Answer(got.ok, f"HTTP {got.status} {got.reason}".rstrip(), got.retry_after)
    except FetchError as e:
        answer = Answer(False, e.reason)
    if answer.ok:
        log.info("websub ping hub=%s feeds=%d answer=%s", hub, len(urls), answer.said)
    else:
        log.warning("websub ping failed hub=%s feeds=%d reason=%s", hub, len(urls), answer.said)
    return answer
