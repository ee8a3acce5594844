"""Fetching upstream documents.

Conditional GET (ETag / Last-Modified remembered by the caller and passed in), timeouts, a
bounded number of redirects, only to allowed hosts, a maximum body size read as a stream, and
retries with exponential backoff for timeouts, connection errors, 5xx and 429, honouring
``Retry-After`` up to a cap. The transport is a parameter, so tests and the demo mode can
swap the network for a local server or the bundled samples without patching anything:
``Transport`` names the type, and ``StaticTransport`` answers from a table of documents.
Redirects are followed here, one hop at a time, so each hop's URL is checked first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import urljoin

from app.config import Settings
from app.errors import FetchError, HTTPStatusError, NotAllowedError, TooLargeError
from app.fetch.carriers import (
    FAILURES,
    READ_SIZE,
    Answer,
    Transport,
    failure,
)
from app.fetch.network import Network
from app.fetch.watchdog import Watchdog
from app.http_records import Response, Validators, parse_max_age, parse_retry_after
from app.upstream.links import link_problem, origins_of

REDIRECTS = frozenset({301, 302, 303, 307, 308})
BODY_TOO_LATE = "poll time budget exhausted while reading the body"


def _next_hop(url: str, target: str, answer: Answer) -> str:
    """Where a redirect from ``target`` leads; its (short) body is read so that the
    connection carries the next hop."""
    length = answer.headers.get("content-length", "")
    short = length.isascii() and length.isdigit() and int(length) <= READ_SIZE
    if short:
        try:
            for _ in answer.chunks():
                pass
        except BaseException:
            answer.abandon()
            raise
    answer.done() if short else answer.abandon()
    try:
        return urljoin(target, answer.headers["location"])
    except ValueError as e:  # e.g. "http://[::1"
        raise FetchError(url, f"redirect to a malformed URL: {e}") from e


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
        hosts = list(allowed_hosts)
        self.origins = origins_of(hosts)
        self._sleep = sleep
        # as many kept connections as requests can be in flight to one host: every source at
        # once, or the detail pages' workers
        self._transport: Transport = transport or Network(
            trust_env=settings.proxy_from_env,
            connections=max(10, settings.fetch_workers, len(hosts)),
        )
        self._headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}

    def allowed(self, url: str) -> bool:
        """True when ``url`` is http(s) on an origin (scheme, host, port) the sources file
        names, without a user name or password."""
        return link_problem(url, self.origins) is None

    def close(self) -> None:
        """Release connections."""
        self._transport.close()

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
        headers = {**self._headers, **(validators.headers() if validators else {})}
        timeout = self.settings.timeout_seconds
        if deadline is not None:
            # the poll's budget is a wall-clock deadline over connect, headers and the whole body:
            # no single wait may outlast it, and the body is abandoned once it has passed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(url, "poll time budget exhausted")
            timeout = min(timeout, remaining)
        target = url
        try:
            for _ in range(self.settings.max_redirects + 1):
                if (problem := link_problem(target, self.origins)) is not None:
                    raise NotAllowedError(target, f"not followed: {problem}")
                answer = self._transport.request("GET", target, headers, timeout)
                if answer.status in REDIRECTS and answer.headers.get("location"):
                    target = _next_hop(url, target, answer)
                    continue
                return self._read(url, target, answer, validators, deadline)
        except FAILURES as e:
            raise failure(url, e) from e
        raise FetchError(url, "too many redirects")

    def _read(
        self,
        url: str,
        final: str,
        answer: Answer,
        validators: Validators | None,
        deadline: float | None,
    ) -> Response:
        """The response of ``answer`` (to ``url``, from ``final`` after redirects)."""
        fields = answer.headers
        if answer.status == 304:
            answer.done()  # no body: the connection goes back to the pool
            return Response(
                url=final,
                status=304,
                headers=dict(fields),
                validators=validators or Validators(),
                max_age=parse_max_age(fields.get("cache-control")),
            )
        if answer.status >= 400:
            answer.abandon()
            retry = parse_retry_after(fields.get("retry-after"), datetime.now(UTC))
            raise HTTPStatusError(url, answer.status, retry)
        limit = self.settings.max_body_bytes
        declared = fields.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            answer.abandon()
            raise TooLargeError(url, f"body of {declared} bytes exceeds {limit}")
        chunks: list[bytes] = []
        size = 0
        whole = False
        watchdog = Watchdog(answer, deadline)
        try:
            with watchdog:
                for chunk in answer.chunks():
                    if deadline is not None and time.monotonic() > deadline:
                        raise FetchError(url, BODY_TOO_LATE)
                    size += len(chunk)
                    if size > limit:
                        raise TooLargeError(url, f"body exceeds {limit} bytes")
                    chunks.append(chunk)
                whole = True
        except FAILURES as e:
            if watchdog.fired:
                raise FetchError(url, BODY_TOO_LATE) from e
            raise
        finally:
            # past the with, the watchdog fires no more: a body that ended with its connection
            # shut down at the deadline ended with it, and that connection is not kept
            whole = whole and not watchdog.fired
            answer.done() if whole else answer.abandon()
        if not whole:
            raise FetchError(url, BODY_TOO_LATE)
        return Response(
            url=final,
            status=answer.status,
            body=b"".join(chunks),
            headers=dict(fields),
            validators=Validators(fields.get("etag"), fields.get("last-modified")),
            max_age=parse_max_age(fields.get("cache-control")),
        )
