"""Fetching upstream documents (the only importer of httpx).

Conditional GET (ETag / Last-Modified remembered by the caller and passed in), timeouts, a
bounded number of redirects, only to allowed hosts, a maximum body size read as a stream, and
retries with exponential backoff for timeouts, connection errors, 5xx and 429, honouring
``Retry-After`` up to a cap. The transport is a parameter, so tests and the demo mode can
swap the network for a local server or the bundled samples without patching anything:
``Transport`` names the type, and ``StaticTransport`` answers from a table of documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

import certifi
import httpx

from app.config import Settings
from app.errors import FetchError, HTTPStatusError, NotAllowedError, TooLargeError
from app.http_records import Response, Validators, parse_max_age, parse_retry_after
from app.upstream.links import link_problem, origins_of

Transport: TypeAlias = httpx.BaseTransport
"""What carries requests: the network by default, or a stand-in such as ``StaticTransport``."""


_TLS: ssl.SSLContext | None = None
_HASHED = re.compile(r"[0-9a-f]{8}\.[0-9]+")  # an OpenSSL hashed-directory entry


def tls_context() -> ssl.SSLContext:
    """The one TLS context of this process, shared by every client it makes: the fetcher and
    the notification client, in any runtime (``trust_context`` of the environment)."""
    global _TLS
    if _TLS is None:
        _TLS = trust_context(os.environ)
    return _TLS


def trust_context(env: Mapping[str, str]) -> ssl.SSLContext:
    """A client context (chain and host name verified, TLS 1.2 or later) trusting, in order:
    ``SSL_CERT_FILE``; ``SSL_CERT_DIR``; the system's hashed CA directory; certifi's bundle.

    A directory costs about a millisecond: OpenSSL reads from it only the CA that a server's
    chain names, when it names it. A bundle file is parsed whole, 150 certificates, 20 to 30 ms
    of every cron poll, so certifi's is the fallback for systems without a CA directory.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cafile := env.get("SSL_CERT_FILE"):
        context.load_verify_locations(cafile=cafile)
        return context
    capath = env.get("SSL_CERT_DIR") or ssl.get_default_verify_paths().capath
    if capath and _holds_hashed_certificates(capath):
        context.load_verify_locations(capath=capath)
    else:
        context.load_verify_locations(cafile=certifi.where())
    return context


def _holds_hashed_certificates(capath: str) -> bool:
    """True when a directory (or one of a ``:``-separated list) holds OpenSSL hash links."""
    for folder in capath.split(os.pathsep):
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            if any(_HASHED.fullmatch(e.name) for e in entries):
                return True
    return False


class _SecureOnFirstUse(httpx.BaseTransport):
    """The https:// transport of a client, made (with ``tls_context``) at its first request: a
    process that reaches only http:// URLs, or none, never loads trust anchors."""

    def __init__(self, trust: Callable[[], ssl.SSLContext]) -> None:
        self._trust = trust
        self._made: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._made is None:
                self._made = httpx.HTTPTransport(verify=self._trust())
        return self._made.handle_request(request)

    def close(self) -> None:
        with self._lock:
            if self._made is not None:
                self._made.close()


@dataclass(frozen=True)
class Carriers:
    """What an ``httpx.Client`` is given to carry requests: ``transport`` (for http://, or for
    everything when it is a stand-in), ``mounts`` (https://) and ``verify`` (used only for the
    proxies httpx makes from the environment)."""

    transport: Transport | None
    mounts: dict[str, Transport] | None
    verify: ssl.SSLContext | bool

    @classmethod
    def of(
        cls,
        transport: Transport | None,
        trust_env: bool,
        trust: Callable[[], ssl.SSLContext] = tls_context,
    ) -> Carriers:
        """A stand-in as given; else the network, with the context ``trust`` gives made at the
        first https:// request. With proxies in the environment httpx makes their transports at
        once, with that context."""
        if transport is not None:
            return cls(transport, None, True)
        if trust_env and urllib.request.getproxies():
            return cls(None, None, trust())
        # http:// only: a context that trusts nothing can never carry https://
        plain = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        return cls(plain, {"https://": _SecureOnFirstUse(trust)}, True)


class StaticTransport(httpx.BaseTransport):
    """Answers GETs from ``documents`` (URL → body and content type), with ETag and 304.

    A URL not in the table gets 404. The table may be replaced at any time (``serve``).
    """

    def __init__(self, documents: Mapping[str, tuple[bytes, str]] | None = None) -> None:
        self.documents: Mapping[str, tuple[bytes, str]] = documents or {}

    def serve(self, documents: Mapping[str, tuple[bytes, str]]) -> None:
        """Answer from ``documents`` from now on."""
        self.documents = documents

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """One answer from the table."""
        document = self.documents.get(str(request.url))
        if document is None:
            return httpx.Response(404, text="not in the table of documents")
        body, content_type = document
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(
            200, content=body, headers={"Content-Type": content_type, "ETag": etag}
        )


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
                with _Watchdog(r, deadline) as watchdog:
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


class _Watchdog:
    """Ends a body read at the poll's deadline: one read may otherwise wait up to the whole
    timeout past it (a source that sends a byte every 14 s with a 15 s timeout). At the
    deadline it shuts the connection's socket down, which wakes a blocked read at once."""

    def __init__(self, response: httpx.Response, deadline: float | None) -> None:
        self.fired = False
        self._timer: threading.Timer | None = None
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if deadline is not None and sock is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire, [sock])
            self._timer.daemon = True

    def _fire(self, sock: socket.socket) -> None:
        self.fired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()


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
                with _Watchdog(r, deadline) as watchdog:
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
