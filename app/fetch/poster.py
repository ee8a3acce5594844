"""POSTs to notification targets and WebSub hubs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from app.config import Settings
from app.errors import FetchError
from app.fetch.carriers import Carriers, Transport, Watchdog
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


class Poster:
    """POSTs to notification targets and WebSub hubs: any host, no redirects, own timeouts.

    Apart from ``Fetcher``, which reaches only the hosts of the sources file. An answer of any
    status is returned; a transport failure (refused, timed out) raises FetchError.
    """

    BODY_KEPT = 2048  # bytes of an answer kept for logs and ``notify-test``

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.timeout = settings.notify_timeout_seconds
        carriers = Carriers.of(transport, settings.proxy_from_env)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.notify_timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
            trust_env=settings.proxy_from_env,
            transport=carriers.transport,
            mounts=carriers.mounts,
            verify=carriers.verify,
        )

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float | None = None
    ) -> PostAnswer:
        """POST ``body`` to ``url`` within ``timeout`` seconds (the client's by default).

        The timeout bounds each wait and the answer's body as a whole: the status is known once
        the headers are in, so a body that trickles in is cut short at the deadline rather than
        read byte by byte for as long as the target cares to send it.
        """
        seconds = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + seconds
        try:
            with self._client.stream(
                "POST", url, content=body, headers=dict(headers), timeout=httpx.Timeout(seconds)
            ) as r:
                kept = b""
                with Watchdog(r, deadline) as watchdog:
                    try:
                        for chunk in r.iter_bytes():
                            kept += chunk
                            if len(kept) >= self.BODY_KEPT:
                                break
                            if time.monotonic() > deadline:
                                kept += b" [answer cut short: too slow]"
                                break
                    except httpx.TimeoutException:  # the status came; the body stopped
                        kept += b" [answer cut short: too slow]"
                    except httpx.HTTPError:
                        if not watchdog.fired:
                            raise
                        kept += b" [answer cut short: too slow]"  # ended at the deadline
                    else:
                        if watchdog.fired and not kept.endswith(b"too slow]"):
                            kept += b" [answer cut short: too slow]"
                return PostAnswer(
                    status=r.status_code,
                    reason=r.reason_phrase,
                    body=kept[: self.BODY_KEPT + 64].decode("utf-8", "replace"),
                    retry_after=parse_retry_after(r.headers.get("retry-after"), datetime.now(UTC)),
                )
        except httpx.TimeoutException as e:
            raise FetchError(url, "timed out") from e
        except httpx.HTTPError as e:
            raise FetchError(url, f"{type(e).__name__}: {e}") from e
