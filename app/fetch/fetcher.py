"""Fetching upstream documents.

Conditional GET (ETag / Last-Modified remembered by the caller and passed in), timeouts, a
bounded number of redirects, only to allowed hosts, a maximum body size read as a stream, and
retries with exponential backoff for timeouts, connection errors, 5xx and 429, honouring
``Retry-After`` up to a cap. The transport is a parameter, so tests and the demo mode can
swap the network for a local server or the bundled samples without patching anything:
``Transport`` names the type, and ``StaticTransport`` answers from a table of documents.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import httpx

from app.config import Settings
from app.errors import FetchError, HTTPStatusError, NotAllowedError, TooLargeError
from app.fetch.carriers import Carriers, Transport, Watchdog
from app.http_records import Response, Validators, parse_max_age, parse_retry_after
from app.upstream.links import link_problem, origins_of


class Fetcher:
    """An HTTP client with toldfeed's limits. Thread-safe; close it when done."""

    def __init__(
        self,
        settings: Settings,
        allowed_hosts: Iterable[str],
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        # the sources' URLs (their origins: scheme, host and port) or bare host names
        self.origins = origins_of(allowed_hosts)
        self._sleep = sleep
        carriers = Carriers.of(transport, settings.proxy_from_env)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            event_hooks={"request": [self._check_host]},
            trust_env=settings.proxy_from_env,  # env lookups cost CPU on every request
            transport=carriers.transport,
            mounts=carriers.mounts,
            verify=carriers.verify,
        )

    def allowed(self, url: str) -> bool:
        """True when ``url`` is http(s) on an origin (scheme, host, port) the sources file
        names, without a user name or password."""
        return link_problem(url, self.origins) is None

    def _check_host(self, request: httpx.Request) -> None:
        # every request, redirects included
        if (problem := link_problem(str(request.url), self.origins)) is not None:
            raise NotAllowedError(str(request.url), f"not followed: {problem}")

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def get(
        self, url: str, validators: Validators | None = None, deadline: float | None = None
    ) -> Response:
        """GET ``url`` conditionally, retrying transient failures; raise FetchError."""
        attempt = 0
        while True:
            try:
                return self._once(url, validators, deadline)
            except FetchError as e:
                transient = not isinstance(e, HTTPStatusError) or e.status >= 500 or e.status == 429
                if isinstance(e, TooLargeError | NotAllowedError):
                    transient = False
                wait = self.settings.backoff_seconds * (2**attempt) * (1 + random.random() / 4)
                if e.retry_after is not None:
                    if e.retry_after > self.settings.retry_after_cap_seconds:
                        raise  # the caller backs the source off for that long
                    wait = max(wait, e.retry_after)
                late = deadline is not None and time.monotonic() + wait > deadline
                if not transient or attempt >= self.settings.retries or late:
                    raise
                attempt += 1
                self._sleep(wait)

    def _once(self, url: str, validators: Validators | None, deadline: float | None) -> Response:
        headers = validators.headers() if validators else {}
        limit = self.settings.max_body_bytes
        timeout = self.settings.timeout_seconds
        if deadline is not None:
            # the poll's budget is a wall-clock deadline over connect, headers and the whole body:
            # no single wait may outlast it, and the body is abandoned once it has passed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(url, "poll time budget exhausted")
            timeout = min(timeout, remaining)
        try:
            with self._client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(timeout)
            ) as r:
                if r.status_code == 304:
                    r.read()  # empty; reading it lets the connection go back to the pool
                    return Response(
                        url=str(r.url),
                        status=304,
                        headers=dict(r.headers),
                        validators=validators or Validators(),
                        max_age=parse_max_age(r.headers.get("cache-control")),
                    )
                if r.status_code >= 400:
                    retry = parse_retry_after(r.headers.get("retry-after"), datetime.now(UTC))
                    raise HTTPStatusError(url, r.status_code, retry)
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise TooLargeError(url, f"body of {declared} bytes exceeds {limit}")
                chunks: list[bytes] = []
                size = 0
                with Watchdog(r, deadline) as watchdog:
                    try:
                        for chunk in r.iter_bytes():
                            if deadline is not None and time.monotonic() > deadline:
                                raise FetchError(
                                    url, "poll time budget exhausted while reading the body"
                                )
                            size += len(chunk)
                            if size > limit:
                                raise TooLargeError(url, f"body exceeds {limit} bytes")
                            chunks.append(chunk)
                    except httpx.HTTPError as e:
                        if watchdog.fired:
                            raise FetchError(
                                url, "poll time budget exhausted while reading the body"
                            ) from e
                        raise
                    if watchdog.fired:  # a body that ends with the connection ended with it
                        raise FetchError(url, "poll time budget exhausted while reading the body")
                return Response(
                    url=str(r.url),
                    status=r.status_code,
                    body=b"".join(chunks),
                    headers={k.lower(): v for k, v in r.headers.items()},
                    validators=Validators(r.headers.get("etag"), r.headers.get("last-modified")),
                    max_age=parse_max_age(r.headers.get("cache-control")),
                )
        except FetchError:
            raise
        except httpx.TimeoutException as e:
            raise FetchError(url, "timed out") from e
        except httpx.TooManyRedirects as e:
            raise FetchError(url, "too many redirects") from e
        except httpx.HTTPError as e:
            raise FetchError(url, f"{type(e).__name__}: {e}") from e
