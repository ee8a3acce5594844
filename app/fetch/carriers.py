"""What carries requests to the upstream, targets and hubs: the network (``Network``:
urllib3's connection pools, trust anchors loaded at the first https:// request, proxies from
the environment when asked) or a stand-in (``StaticTransport``); and the watchdog that ends a
body read at a deadline.

A carrier makes one request and hands back its ``Answer``; redirects, limits and retries are
the ``Fetcher``'s (and the ``Poster``'s). urllib3 rather than httpx: a conditional GET through
the fetcher costs about a third of the CPU (docs/design.md), and a cron poll makes some 30.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus
from typing import Protocol
from urllib.parse import unquote, urlsplit

import urllib3

from app.errors import FetchError
from app.fetch.trust import tls_context

# no retry inside urllib3 (the Fetcher retries with its own backoff); made once, not per request
NO_RETRY = urllib3.Retry(total=False)
READ_SIZE = 64 * 1024  # bytes of a body handed over at a time (decoded: urllib3 bounds it too)


# what a carrier raises when no answer, or no whole answer, comes (``Transport.request``)
FAILURES = (urllib3.exceptions.HTTPError, OSError)


def failure(url: str, error: Exception) -> FetchError:
    """The ``FetchError`` for what a carrier raised: no connection, a timeout, or a broken
    answer."""
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # a kind of timeout to urllib3
        # "HTTPSConnection(host=..., port=443): Failed to resolve ...": the URL says the host
        said = str(error)
        return FetchError(url, f"ConnectError: {said.partition('): ')[2] or said}")
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return FetchError(url, "timed out")
    return FetchError(url, f"{type(error).__name__}: {error}")


class Answer(Protocol):
    """One answer as a carrier gives it: the status, the headers (names in lower case, repeated
    ones joined with ", ") and the body as chunks (decoded from gzip or deflate). ``interrupt``
    (from another thread) ends a read of the body that is waiting, at once. ``done`` after
    reading the body to its end (the connection is kept for the next request), ``abandon``
    otherwise (it is closed)."""

    status: int
    reason: str
    headers: dict[str, str]

    def chunks(self) -> Iterator[bytes]: ...

    def interrupt(self) -> None: ...

    def done(self) -> None: ...

    def abandon(self) -> None: ...


class Transport(Protocol):
    """What carries requests: ``Network`` by default, or a stand-in such as ``StaticTransport``.
    ``request`` raises one of ``FAILURES`` when no answer comes (a timeout as urllib3's
    ``TimeoutError``); ``timeout`` bounds the connect and each read."""

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        body: bytes | None = None,
    ) -> Answer: ...

    def close(self) -> None: ...


class _PooledAnswer:
    """An answer read from one of urllib3's pooled connections."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self.status = response.status
        self.reason = response.reason or ""
        self.headers = {k.lower(): v for k, v in response.headers.itermerged()}

    def chunks(self) -> Iterator[bytes]:
        return self._response.stream(READ_SIZE, decode_content=True)

    def interrupt(self) -> None:
        # shuts the socket down for reading (kept by the answer even when http.client has let
        # go of it, as for a body that ends with its connection)
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            self._response.shutdown()

    def done(self) -> None:
        # whatever is left (nothing, for a 304 or a body read to its end) is read first: a
        # pooled connection whose answer is unfinished cannot carry the next request
        self._response.drain_conn()
        self._response.release_conn()

    def abandon(self) -> None:
        self._response.close()  # closes its connection: a half-read body cannot be reused
        self._response.release_conn()


def _bypassed(host: str, proxies: dict[str, str]) -> bool:
    """True when ``NO_PROXY`` (in ``proxies`` as urllib reads the environment) names ``host``."""
    import urllib.request

    # the function is in the module, not in its stubs
    return bool(urllib.request.proxy_bypass_environment(host, proxies))  # type: ignore[attr-defined]


class Network:
    """The network: one urllib3 pool per origin, shared by the fetcher's threads, keeping up
    to ``connections`` open connections to each (more are opened when more requests are in
    flight at once: a poll reads all its sources at the same time).

    http:// goes through a pool whose TLS context trusts nothing, so it can never carry
    https://; the https:// pools are made at the first https:// request with the context
    ``trust`` gives, so a process that reaches only http:// URLs never loads trust anchors.
    With ``trust_env``, ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` (read once;
    ``user:password@`` in a proxy's URL is sent as its login) choose a proxy per request:
    http:// through it, https:// tunnelled (``CONNECT``) and checked against the same trust."""

    def __init__(
        self,
        trust_env: bool = False,
        trust: Callable[[], ssl.SSLContext] = tls_context,
        connections: int = 10,
    ) -> None:
        self._trust = trust
        self._connections = connections
        self._proxies: dict[str, str] = {}
        if trust_env:  # urllib.request costs a cron poll some 15 ms to import: only when asked
            import urllib.request

            self._proxies = urllib.request.getproxies_environment()
        self._plain = self._pools(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._secure: urllib3.PoolManager | None = None
        self._via: dict[str, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()

    def _pools(self, context: ssl.SSLContext) -> urllib3.PoolManager:
        return urllib3.PoolManager(
            maxsize=self._connections, block=False, retries=NO_RETRY, ssl_context=context
        )

    def _manager(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
        if proxy and not _bypassed(parts.hostname or "", self._proxies):
            with self._lock:
                if proxy not in self._via:
                    self._via[proxy] = self._proxy(proxy)
                return self._via[proxy]
        if parts.scheme != "https":
            return self._plain
        with self._lock:
            if self._secure is None:
                self._secure = self._pools(self._trust())
            return self._secure

    def _proxy(self, proxy: str) -> urllib3.ProxyManager:
        """Pools through ``proxy`` as the environment names it: ``host:port`` means http://, and
        a user and password in it are sent as ``Proxy-Authorization`` (Basic)."""
        where = urllib3.util.parse_url(proxy if "://" in proxy else f"http://{proxy}")
        login = {}
        if where.auth:
            login = urllib3.make_headers(proxy_basic_auth=unquote(where.auth))
            where = where._replace(auth=None)
        context = self._trust()
        return urllib3.ProxyManager(
            where.url,
            proxy_headers=login,
            maxsize=self._connections,
            block=False,
            retries=NO_RETRY,
            ssl_context=context,
            proxy_ssl_context=context,
        )

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        body: bytes | None = None,
    ) -> Answer:
        response = self._manager(url).urlopen(
            method,
            url,
            body=body,
            headers=dict(headers),
            redirect=False,
            retries=NO_RETRY,
            preload_content=False,
            decode_content=True,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        return _PooledAnswer(response)

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            managers = [self._plain, self._secure, *self._via.values()]
        for manager in managers:
            if manager is not None:
                manager.clear()


class _StaticAnswer:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.status = status
        self.reason = HTTPStatus(status).phrase
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._body = body

    def chunks(self) -> Iterator[bytes]:
        if self._body:
            yield self._body

    def interrupt(self) -> None:
        pass

    def done(self) -> None:
        pass

    def abandon(self) -> None:
        pass


class StaticTransport:
    """Answers GETs from ``documents`` (URL → body and content type), with ETag and 304.

    A URL not in the table gets 404. The table may be replaced at any time (``serve``).
    """

    def __init__(self, documents: Mapping[str, tuple[bytes, str]] | None = None) -> None:
        self.documents: Mapping[str, tuple[bytes, str]] = documents or {}

    def serve(self, documents: Mapping[str, tuple[bytes, str]]) -> None:
        """Answer from ``documents`` from now on."""
        self.documents = documents

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        body: bytes | None = None,
    ) -> Answer:
        """One answer from the table (a GET; anything else is 405)."""
        if method != "GET":
            return _StaticAnswer(405, {"Allow": "GET"})
        document = self.documents.get(url)
        if document is None:
            return _StaticAnswer(404, {"Content-Type": "text/plain"}, b"not in the table")
        body, content_type = document
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if {k.lower(): v for k, v in headers.items()}.get("if-none-match") == etag:
            return _StaticAnswer(304, {"ETag": etag})
        return _StaticAnswer(200, {"Content-Type": content_type, "ETag": etag}, body)

    def close(self) -> None:
        pass


class Watchdog:
    """Ends a body read at the poll's deadline: one read may otherwise wait up to the whole
    timeout past it (a source that sends a byte every 14 s with a 15 s timeout). At the
    deadline it interrupts the answer (its socket is shut down), which wakes a blocked read."""

    def __init__(self, answer: Answer, deadline: float | None) -> None:
        self.fired = False
        self._answer = answer
        self._timer: threading.Timer | None = None
        if deadline is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
            self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self._answer.interrupt()

    def __enter__(self) -> Watchdog:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
