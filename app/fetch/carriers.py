"""What carries requests: the network (trust anchors loaded at the first https:// request) or
a stand-in (``StaticTransport``); and the watchdog that ends a body read at a deadline."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import httpx

from app.fetch.trust import tls_context

Transport: TypeAlias = httpx.BaseTransport
"""What carries requests: the network by default, or a stand-in such as ``StaticTransport``."""


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


class Watchdog:
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

    def __enter__(self) -> Watchdog:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
