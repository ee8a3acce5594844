"""The hot path: stored documents served straight from WSGI, in front of Flask.

Every published URL (feeds, index, embeds, badges, OPML, the API) is answered here without
the framework: resolve the URL, take the stored bytes, answer conditional requests with 304,
gzip when asked, add caching and CORS headers. Anything else falls through to Flask.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from app.errors import RequestError
from app.publish.library import Library
from app.site.documents import Doc
from app.site.urls import Urls
from app.store.rendered import Document

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
MAX_URL = 2048
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
_CSP = {"index": _PAGE_CSP, "system": _PAGE_CSP, "incident": _PAGE_CSP}


def gzip_etag(etag: str) -> str:
    """The ETag of a document's gzip form: another representation, another strong validator
    (RFC 9110 8.8.3), so that no cache takes one body for the other."""
    return etag[:-1] + '-gz"'


def _not_modified(environ: dict[str, Any], doc: Document, gz: str) -> bool:
    """Whether the client holds this version, in either form (``gz``: its gzip form's tag)."""
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        if match == doc.etag or match == gz:  # what a feed reader sends back: one tag, as given
            return True
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or doc.etag in tags or gz in tags
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            when = parsedate_to_datetime(since[:64])  # a date is some 30 characters
        except (TypeError, ValueError, OverflowError, IndexError):  # not one: no condition
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return doc.last_modified <= when
    return False


@functools.lru_cache(maxsize=256)  # a handful of Accept-Encoding values cover all clients
def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in {"gzip", "*"}:
            return params.replace(" ", "") not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


def _wants_gzip(environ: dict[str, Any]) -> bool:
    header: str = environ.get("HTTP_ACCEPT_ENCODING") or ""
    return bool(header) and _accepts_gzip(header[:200])


_Header = tuple[str, str]


class _Heads(NamedTuple):
    """The headers of one document version's answers (Content-Length goes on per answer)."""

    plain: tuple[_Header, ...]  # a 200
    gzipped: tuple[_Header, ...]  # a 200 in gzip (its own ETag)
    same: tuple[_Header, ...]  # a 304
    same_gzipped: tuple[_Header, ...]  # a 304 to a client that takes gzip
    gzip_etag: str


_Answer = tuple[str, list[_Header], bytes]
_READS = frozenset({"GET", "HEAD"})


_UNSEEN: Any = object()  # a (path, query) not resolved yet


class _Answered(Exception):
    """The whole answer to a request for a document's URL, made without the document."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer[0])
        self.answer = answer


class DocumentServer:
    """WSGI middleware answering document URLs from the ``Library``."""

    def __init__(
        self,
        app: WSGIApp,
        urls: Urls,
        library: Library,
        max_age: int,
        frame_ancestors: str,
        on_response: Callable[[str, int], None] | None = None,
    ) -> None:
        self.app = app
        self.urls = urls
        self.library = library
        self.cache_control = f"public, max-age={max_age}"
        self.frame_ancestors = frame_ancestors
        self.on_response = on_response or (lambda path, status: None)
        # (path, query) → the document it names (None: not a document's path), and the answer
        # a GET of a published document got (its document and headers), both kept while the
        # library's serial holds: an incident forgotten or a history page gone is a 404 after
        self._resolved: dict[tuple[str, str], Doc | None] = {}
        self._ready: dict[tuple[str, str], tuple[int, Document, _Heads]] = {}
        self._serial = -1
        self._lock = threading.Lock()  # the threads' writes to the two and the serial
        self._csp = {
            **_CSP,
            "embed": "default-src 'none'; style-src 'unsafe-inline'; "
            f"frame-ancestors {frame_ancestors}",
        }
        self._dates: dict[datetime, str] = {}
        self._heads: dict[tuple[str, datetime, str], _Heads] = {}  # by version (CSP: by kind)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        answer = self.answer(environ, path)
        if answer is None:  # not a document: health, metrics, 404s
            return self.app(environ, start_response)
        status, headers, body = answer
        self.on_response(path, int(status[:3]))
        start_response(status, headers)
        return [body]

    def _error(
        self, code: int, message: str, extra: list[tuple[str, str]] | None = None
    ) -> _Answer:
        reason = {
            400: "Bad Request",
            404: "Not Found",
            405: "Method Not Allowed",
            414: "URI Too Long",
            503: "Service Unavailable",
        }[code]
        body = (message + "\n").encode("utf-8")
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),  # it may quote what the client sent
            *(extra or []),
        ]
        return f"{code} {reason}", headers, body

    def _http_date(self, value: datetime) -> str:
        text = self._dates.get(value)
        if text is None:
            if len(self._dates) > 4096:
                self._dates.clear()
            text = self._dates[value] = format_datetime(value.astimezone(UTC), usegmt=True)
        return text

    def answer(
        self, environ: dict[str, Any], path: str
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Status line, headers and body for one document request; None for other paths."""
        query = environ.get("QUERY_STRING", "")
        key = (path, query)
        try:
            doc = self._resolved.get(key, _UNSEEN)
            if doc is None or (doc is _UNSEEN and not self._document_path(key)):
                return None  # not a document's path (the path alone says: no library asked)
            serial = self.library.current()
            if serial != self._serial:
                self._moved_on(serial)
                doc = _UNSEEN  # an incident forgotten, a history page gone: a 404 now
            if doc is _UNSEEN:
                doc = self._resolve(key, serial)
                if doc is None:
                    return None
            method = environ.get("REQUEST_METHOD", "GET")
            ready = self._ready.get(key) if method in _READS else None
            if ready is not None and ready[0] == serial:
                document, heads = ready[1], ready[2]  # asked before, the library unchanged since
            else:
                document, heads = self._fetch(doc, method)
                if doc.canonical:  # a published document: the library holds it anyway
                    self._keep(self._ready, key, (serial, document, heads), serial)
        except _Answered as answered:
            return answered.answer
        gzipped = _wants_gzip(environ)
        if _not_modified(environ, document, heads.gzip_etag):
            return "304 Not Modified", list(heads.same_gzipped if gzipped else heads.same), b""
        body = document.gzipped if gzipped else document.body
        sent = heads.gzipped if gzipped else heads.plain
        headers = [*sent, ("Content-Length", str(len(body)))]
        return "200 OK", headers, b"" if method == "HEAD" else body

    def _moved_on(self, serial: int) -> None:
        """The library moved on to ``serial``: forget what was kept under the one before."""
        with self._lock:
            if serial > self._serial:  # serials only grow; a request that read an older one
                self._serial = serial  # answers from the library and keeps nothing
                self._ready.clear()
                self._resolved = {k: d for k, d in self._resolved.items() if d is None}

    def _keep(self, table: dict[Any, Any], key: Any, value: Any, serial: int) -> None:
        """``table[key] = value`` when the library is still at ``serial`` (bounded: clients
        choose the paths and queries)."""
        with self._lock:
            if serial == self._serial:
                if len(table) > 4096:
                    table.clear()
                table[key] = value

    def _document_path(self, key: tuple[str, str]) -> bool:
        """Whether a document may live at ``key``'s path (the path alone tells, remembered
        when not). ``_Answered`` for a URL that cannot be a document's."""
        path, query = key
        if len(path) + len(query) > MAX_URL:
            raise _Answered(self._error(414, f"URL longer than {MAX_URL} characters"))
        try:
            found = self.urls.match(path) is not None
        except RequestError as e:
            raise _Answered(self._error(e.status, e.message)) from e
        if not found:
            self._keep(self._resolved, key, None, self._serial)
        return found

    def _resolve(self, key: tuple[str, str], serial: int) -> Doc | None:
        """The document ``key`` (path, query) names, with the library at ``serial`` (an
        incident page or a history page only while it holds them). ``_Answered`` for a URL
        that cannot be a document's."""
        path, query = key
        try:
            args = dict(
                parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=20)
            )
            doc = self.urls.resolve(path, args, self.library)
        except RequestError as e:
            raise _Answered(self._error(e.status, e.message)) from e
        except (ValueError, UnicodeDecodeError) as e:
            raise _Answered(self._error(400, f"malformed query string: {e}")) from e
        self._keep(self._resolved, key, doc, serial)
        return doc

    def _fetch(self, doc: Doc, method: str) -> tuple[Document, _Heads]:
        """The document a ``GET`` or ``HEAD`` of ``doc`` is answered with, and its headers.
        ``_Answered`` with the whole answer to another method, or before any poll."""
        if method == "OPTIONS":
            raise _Answered(
                (
                    "204 No Content",
                    [
                        ("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
                        ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
                        ("Content-Length", "0"),
                    ],
                    b"",
                )
            )
        if method not in _READS:
            raise _Answered(
                self._error(
                    405,
                    f"method {method[:20]} not allowed; use GET or HEAD",
                    [("Allow", "GET, HEAD, OPTIONS")],
                )
            )
        document = self.library.get(doc)
        if document is None:
            raise _Answered(self._error(503, "no data yet: the first poll has not completed"))
        heads = self._heads.get((document.etag, document.last_modified, doc.kind))
        return document, heads if heads is not None else self._headers_of(doc, document)

    def _headers_of(self, doc: Doc, document: Document) -> _Heads:
        """The headers of one document's answers (200 and 304, plain and gzip), made once per
        version."""
        headers = [
            ("Content-Type", document.content_type),
            ("ETag", document.etag),
            ("Last-Modified", self._http_date(document.last_modified)),
            ("Cache-Control", self.cache_control),
            ("Vary", "Accept-Encoding"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        csp = self._csp.get(doc.kind)
        if csp is not None:
            headers.append(("Content-Security-Policy", csp))
        gz = gzip_etag(document.etag)
        zipped = [(n, gz if n == "ETag" else v) for n, v in headers]
        heads = _Heads(
            tuple(headers),
            (*zipped, ("Content-Encoding", "gzip")),
            tuple(h for h in headers if h[0] != "Content-Type"),
            tuple(h for h in zipped if h[0] != "Content-Type"),
            gz,
        )
        if len(self._heads) > 4096:  # bounded: a version of each document at a time, or so
            self._heads.clear()
        self._heads[(document.etag, document.last_modified, doc.kind)] = heads
        return heads
