"""The WebSub publish ping: after a poll that changed documents, tell the hub which feeds.

One POST, form-encoded: ``hub.mode=publish`` and one ``hub.url`` per changed feed (the form
that widely used hubs accept). The feeds themselves name the hub (``<link rel="hub">``), so
subscribers find it; the ping lets the hub fetch and push at once instead of polling.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from app.errors import FetchError
from app.fetch import Poster
from app.notify.channel import Answer


def ping_body(urls: Sequence[str]) -> bytes:
    """The form body of one publish ping."""
    return urlencode([("hub.mode", "publish"), *(("hub.url", url) for url in urls)]).encode()


def ping_hub(poster: Poster, hub: str, urls: Sequence[str], timeout: float) -> Answer:
    """Send one publish ping for ``urls``; 2xx (hubs answer 204) is success."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        answer = poster.post(hub, ping_body(urls), headers, timeout=timeout)
    except FetchError as e:
        return Answer(False, e.reason)
    return Answer(answer.ok, f"HTTP {answer.status} {answer.reason}".rstrip(), answer.retry_after)
