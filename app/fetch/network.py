"""The network: HTTP/1.1 over the standard library's ``http.client``, with kept connections.

One list of idle connections per origin (or per proxy and tunnelled origin), shared by the
fetcher's threads: a request takes an idle connection whose server has not closed it, or
opens one; an answer read to its end gives it back (up to ``connections`` are kept per
origin, more are opened when more requests are in flight at once). A kept connection that the
server closed while it was idle is found out before a GET is sent on it, or, when the close
crosses the request, the GET is sent once more on a new connection.

http:// is carried by plain connections, which can never carry https://; https:// by
connections with the context ``trust`` gives, made at the first https:// request, so a
process that reaches only http:// URLs never loads trust anchors. With ``trust_env``,
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` (read once; ``user:password@`` in a
proxy's URL is sent as its login) choose a proxy per request: http:// through it, https://
tunnelled (``CONNECT``) and checked against the same trust.

Bodies come decoded from gzip or deflate (``app.fetch.inflate``), at most ``READ_SIZE`` bytes at a
time however much a compressed chunk expands.

Why not urllib3: it is the same ``http.client`` underneath, and its pools, URL parsing and
retries cost a conditional GET 0.4-0.5 ms of CPU against 0.2 here (a cron poll makes some
30), and a cron process some 60 ms to import (docs/design.md).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from app.fetch.carriers import READ_SIZE, ConnectFailure
from app.fetch.inflate import Inflater
from app.fetch.trust import tls_context

_SAFE = "/%:@!$&'()*+,;=-._~?"  # kept as they are in a request target: the rest is escaped
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Route(NamedTuple):
    """How a request reaches its origin: the connection's key, host and port (the proxy's,
    when it goes through one), the tunnelled origin (https:// through a proxy) and the
    request target (absolute for http:// through a proxy)."""

    key: tuple[str, str, int, str]
    host: str
    port: int
    tunnel: tuple[str, int] | None  # the origin tunnelled to (https:// through a proxy)
    target: str
    login: dict[str, str]  # Proxy-Authorization, when the proxy's URL names a user


def _bypassed(host: str, proxies: dict[str, str]) -> bool:
    """True when ``NO_PROXY`` (in ``proxies`` as urllib reads the environment) names ``host``."""
    import urllib.request

    # the function is in the module, not in its stubs
    return bool(urllib.request.proxy_bypass_environment(host, proxies))  # type: ignore[attr-defined]


def _proxy_login(proxy: str) -> tuple[str, int, dict[str, str]]:
    """The host, port and login header of ``proxy`` as the environment names it (``host:port``
    means http://)."""
    where = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if where.scheme.lower() != "http":  # TLS to the proxy itself: its login would go in clear
        raise http.client.InvalidURL(f"a proxy must be http://, not {where.scheme}://")
    login = {}
    if where.username is not None:
        user = f"{unquote(where.username)}:{unquote(where.password or '')}"
        login = {"Proxy-Authorization": "Basic " + base64.b64encode(user.encode()).decode()}
    return where.hostname or "", where.port or 80, login


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection can carry no request: closed, or readable (the server
    closed it, or sent what nobody asked for). ``poll``, not ``select``: a process may hold
    more than 1,024 descriptors."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        ready = select.poll()
        ready.register(sock, select.POLLIN)
        return bool(ready.poll(0))
    except (OSError, ValueError):
        return True


class _KeptAnswer:
    """An answer read from a kept connection (``carriers.Answer``)."""

    def __init__(
        self,
        network: Network,
        route: _Route,
        conn: http.client.HTTPConnection,
        sock: socket.socket | None,
        response: http.client.HTTPResponse,
    ) -> None:
        self._network = network
        self._route = route
        self._conn = conn
        self._sock = sock  # as it was sent on: http.client lets go of it for a body ending it
        self._response = response
        self.status = response.status
        self.reason = response.reason or ""
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        self.headers = merged
        coding = merged.get("content-encoding", "").strip().lower()
        self._inflater = Inflater(coding != "deflate") if coding in _CODINGS else None

    def chunks(self) -> Iterator[bytes]:
        while data := self._response.read1(READ_SIZE):
            if self._inflater is None:
                yield data
            else:
                yield from self._inflater.feed(data)
        if self._response.length:  # http.client ends a body cut short without a word
            raise http.client.IncompleteRead(b"", self._response.length)

    def interrupt(self) -> None:
        # shuts the socket down for reading, which wakes a read waiting on it
        if self._sock is not None:
            with contextlib.suppress(OSError, ValueError):
                self._sock.shutdown(socket.SHUT_RD)

    def done(self) -> None:
        # whatever is left (nothing, for a 304 or a body read to its end) is read first: a
        # kept connection whose answer is unfinished cannot carry the next request
        try:
            while self._response.read1(READ_SIZE):
                pass
        except (http.client.HTTPException, OSError):
            self.abandon()
            return
        self._response.close()
        if self._response.will_close or self._conn.sock is None:
            self._conn.close()
        else:
            self._network.keep(self._route.key, self._conn)

    def abandon(self) -> None:
        self._response.close()
        self._conn.close()  # a half-read body cannot be reused


_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class Network:
    """The network (see the module's words): ``request`` makes one request on a kept
    connection and hands back its answer; ``close`` closes every kept connection."""

    def __init__(
        self,
        trust_env: bool = False,
        trust: Callable[[], ssl.SSLContext] = tls_context,
        connections: int = 10,
    ) -> None:
        self._trust = trust
        self._context: ssl.SSLContext | None = None
        self._connections = connections
        self._proxies: dict[str, str] = {}
        if trust_env:  # urllib.request costs a cron poll some 15 ms to import: only when asked
            import urllib.request

            self._proxies = urllib.request.getproxies_environment()
        self._idle: dict[tuple[str, str, int, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False  # closed: answers read after it close their connections

    def _route(self, url: str) -> _Route:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise http.client.InvalidURL(f"not an http:// or https:// URL: {url!r}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as e:  # a port that is not a number, or out of range
            raise http.client.InvalidURL(f"{e}: {url!r}") from None
        host = parts.hostname
        target = quote(parts.path or "/", safe=_SAFE) + (
            f"?{quote(parts.query, safe=_SAFE)}" if parts.query else ""
        )
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        if not proxy or _bypassed(host, self._proxies):
            return _Route((scheme, host, port, ""), host, port, None, target, {})
        via, via_port, login = _proxy_login(proxy)
        if scheme == "http":  # forwarded: the request names the whole URL
            absolute = f"http://{parts.netloc.rpartition('@')[2]}{target}"
            return _Route(("via", via, via_port, ""), via, via_port, None, absolute, login)
        key = ("tunnel", via, via_port, f"{host}:{port}")
        return _Route(key, via, via_port, (host, port), target, login)

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._trust()
            return self._context

    def _open(self, route: _Route, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if route.key[0] == "http" or route.key[0] == "via":
            conn = http.client.HTTPConnection(route.host, route.port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection(
                route.host, route.port, timeout=timeout, context=self._tls()
            )
            if route.tunnel is not None:
                conn.set_tunnel(*route.tunnel, headers=route.login)
        try:
            conn.connect()
        except (TimeoutError, ssl.SSLError):
            conn.close()
            raise
        except OSError as e:
            conn.close()
            raise ConnectFailure(f"Failed to establish a new connection: {e}") from e
        return conn

    def _kept(self, key: tuple[str, str, int, str]) -> http.client.HTTPConnection | None:
        """An idle connection for ``key`` that can still carry a request, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not _dropped(conn):
                return conn
            conn.close()

    def keep(self, key: tuple[str, str, int, str], conn: http.client.HTTPConnection) -> None:
        """Take back a connection whose answer was read to its end."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < self._connections:
                idle.append(conn)
                return
        conn.close()

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        body: bytes | None = None,
    ) -> _KeptAnswer:
        route = self._route(url)
        sent = {**headers, **route.login} if route.key[0] == "via" else dict(headers)
        conn = self._kept(route.key)
        while True:
            reused = conn is not None
            if conn is None:
                conn = self._open(route, timeout)
            else:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            try:
                conn.request(method, route.target, body=body, headers=sent)
                sock = conn.sock  # before the answer: one that ends the connection drops it
                response = conn.getresponse()
                if response.status < 200:  # http.client skips a 100 only: the answer follows
                    raise http.client.HTTPException(f"an interim {response.status} answer")
                return _KeptAnswer(self, route, conn, sock, response)
            except _STALE:
                conn.close()
                if not reused or method not in ("GET", "HEAD"):
                    raise
                conn = None  # closed by the server as the request went: once more, anew
            except BaseException:
                conn.close()
                raise

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            kept = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
            self._closed = True
        for conn in kept:
            conn.close()
