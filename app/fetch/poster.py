"""POSTs to notification targets and WebSub hubs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.config import Settings
from app.fetch.carriers import FAILURES, Transport, failure
from app.fetch.network import Network
from app.fetch.watchdog import Watchdog
from app.http_records import parse_retry_after


@dataclass(frozen=True, slots=True)
class PostAnswer:
    """What a notification target or a WebSub hub answered to a POST (body cut short)."""

    status: int
    reason: str
    body: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


SLOW = b" [answer cut short: too slow]"


class Poster:
    """POSTs to notification targets and WebSub hubs: any host, no redirects, own timeouts.

    Apart from ``Fetcher``, which reaches only the hosts of the sources file. An answer of any
    status is returned; a transport failure (refused, timed out) raises FetchError.
    """

    BODY_KEPT = 2048  # bytes of an answer kept for logs and ``notify-test``

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.timeout = settings.notify_timeout_seconds
        self._transport: Transport = transport or Network(trust_env=settings.proxy_from_env)
        self._headers = {"User-Agent": settings.user_agent}

    def close(self) -> None:
        """Release connections."""
        self._transport.close()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float | None = None
    ) -> PostAnswer:
        """POST ``body`` to ``url`` within ``timeout`` seconds (the client's by default).

        The timeout bounds each wait and the answer's body as a whole: the status is known once
        the headers are in, so a body that trickles in is cut short at the deadline rather than
        read byte by byte for as long as the target cares to send it. A redirect is an answer
        like any other (not followed).
        """
        seconds = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + seconds
        try:
            answer = self._transport.request(
                "POST", url, {**self._headers, **headers}, seconds, body=body
            )
        except FAILURES as e:
            raise failure(url, e) from e
        kept = b""
        whole = False
        watchdog = Watchdog(answer, deadline)
        try:
            with watchdog:
                for chunk in answer.chunks():
                    kept += chunk
                    if len(kept) >= self.BODY_KEPT:
                        break
                    if time.monotonic() > deadline:
                        kept += SLOW
                        break
                else:
                    whole = not watchdog.fired
                    if watchdog.fired:  # ended at the deadline
                        kept += SLOW
        except TimeoutError:  # the status came; the body stopped
            kept += SLOW
        except FAILURES as e:
            if not watchdog.fired:
                raise failure(url, e) from e
            kept += SLOW  # ended at the deadline
        finally:  # past the with, the watchdog fires no more: a connection it shut is not kept
            answer.done() if whole and not watchdog.fired else answer.abandon()
        return PostAnswer(
            status=answer.status,
            reason=answer.reason,
            body=kept[: self.BODY_KEPT + 64].decode("utf-8", "replace"),
            retry_after=parse_retry_after(answer.headers.get("retry-after"), datetime.now(UTC)),
        )
