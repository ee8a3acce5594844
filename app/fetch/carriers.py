"""What carries requests to the upstream, targets and hubs: what a carrier is (``Transport``,
``Answer``) and raises (``FAILURES``), and a stand-in for the network (``StaticTransport``;
the network itself is ``app.fetch.network``; the watchdog that ends a body read at a deadline
is ``app.fetch.watchdog``).

A carrier makes one request and hands back its ``Answer``; redirects, limits and retries are
the ``Fetcher``'s (and the ``Poster``'s).
"""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Protocol

from app.errors import FetchError

READ_SIZE = 64 * 1024  # bytes of a body handed over at a time (decoded: bounded too)


class ConnectFailure(OSError):
    """No connection to the origin (refused, unresolvable, unreachable; not a timeout)."""


class DecodeFailure(http.client.HTTPException):
    """A body that says it is gzip or deflate and is not."""


# what a carrier raises when no answer, or no whole answer, comes (``Transport.request``): a
# timeout is a TimeoutError, a TLS failure an ssl.SSLError (both OSErrors)
FAILURES = (http.client.HTTPException, OSError)


def failure(url: str, error: Exception) -> FetchError:
    """The ``FetchError`` for what a carrier raised: no connection, a timeout, or a broken
    answer."""
    if isinstance(error, ConnectFailure):
        return FetchError(url, f"ConnectError: {error}")
    if isinstance(error, TimeoutError):
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
    ``request`` raises one of ``FAILURES`` when no answer comes (a timeout as a
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
