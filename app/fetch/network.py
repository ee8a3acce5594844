"""The network: HTTP/1.1 over the standard library's ``http.client``, with kept connections.

One list of idle connections per origin (or per proxy and tunnelled origin), shared by the
fetcher's threads: a request takes an idle connection whose server has not closed it, or
opens one; an answer read to its end gives it back (up to ``connections`` are kept per
origin, more are opened when more requests are in flight at once). A kept connection that the
server closed while it was idle is found out before a GET is sent on it, or, when the close
crosses the request, the GET is sent once more on a new connection. Interim answers (102,
103 Early Hints) are passed over, a few and within the request's timeout.

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

import contextlib
import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from app.fetch.carriers import READ_SIZE, ConnectFailure
from app.fetch.inflate import Inflater
from app.fetch.routing import Route, route_of
from app.fetch.trust import tls_context

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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


_INTERIM_AT_MOST = 8  # interim answers (100, 102, 103) passed over before one request's answer


class _Answer(http.client.HTTPResponse):
    """http.client's answer, passing over interim ones (102 Processing, 103 Early Hints), as
    it passes over a 100 Continue: otherwise a 103 would be taken for the answer, and the
    real answer left on the connection for the next request. At most ``_INTERIM_AT_MOST`` of
    them, and all the status lines of one answer within the socket's timeout (which the
    fetcher keeps within the poll's deadline): a server that drips interim answers cannot
    hold a request longer than one that sends nothing."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self._sock = sock
        self._statuses = 0
        self._until: float | None = None  # when the status lines must have come

    def _read_status(self) -> tuple[str, int, str]:
        self._statuses += 1
        if self._statuses > _INTERIM_AT_MOST + 1:
            raise http.client.HTTPException(f"more than {_INTERIM_AT_MOST} interim answers")
        read: Callable[[], tuple[str, int, str]] = super()._read_status  # type: ignore[misc]
        timeout = self._sock.gettimeout()  # (the method is not in the stubs)
        if timeout is None:
            return read()
        now = time.monotonic()
        if self._until is None:
            self._until = now + timeout
        if now >= self._until:
            raise TimeoutError("interim answers for longer than the timeout")
        self._sock.settimeout(self._until - now)
        try:
            return read()
        finally:
            self._sock.settimeout(timeout)

    def begin(self) -> None:
        super().begin()
        while 101 < self.status < 200:  # a 101 (a protocol switch) is refused by the caller
            self.headers = self.msg = None  # type: ignore[assignment]  # begin() reads anew
            super().begin()


class _KeptAnswer:
    """An answer read from a kept connection (``carriers.Answer``)."""

    def __init__(
        self,
        network: Network,
        route: Route,
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

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._trust()
            return self._context

    def _open(self, route: Route, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if route.key[0] == "http" or route.key[0] == "via":
            conn = http.client.HTTPConnection(route.host, route.port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection(
                route.host, route.port, timeout=timeout, context=self._tls()
            )
            if route.tunnel is not None:
                conn.set_tunnel(*route.tunnel, headers=route.login)
        conn.response_class = _Answer
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
        route = route_of(url, self._proxies)
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
                if response.status < 200:  # a 101: no protocol switch was asked for
                    raise http.client.HTTPException(f"an unasked {response.status} answer")
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
