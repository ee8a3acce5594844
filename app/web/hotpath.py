"""The hot path: stored documents served straight from WSGI, in front of Flask.

Every published URL (feeds, index, embeds, badges, OPML, the API) is answered here without
the framework: resolve the URL, take the stored bytes, answer conditional requests with 304,
gzip when asked, add caching and CORS headers. Anything else falls through to Flask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
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


def _not_modified(environ: dict[str, Any], doc: Document) -> bool:
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        if match == doc.etag:  # what a feed reader sends back: one tag, as given
            return True
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or doc.etag in tags
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
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
_Heads = tuple[tuple[_Header, ...], tuple[_Header, ...], tuple[_Header, ...]]
_Answer = tuple[str, list[_Header], bytes]
_READS = frozenset({"GET", "HEAD"})


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
        self._resolved: dict[tuple[str, str], Doc | None] = {}  # resolve() is pure: memoize it
        self._csp = {
            **_CSP,
            "embed": "default-src 'none'; style-src 'unsafe-inline'; "
            f"frame-ancestors {frame_ancestors}",
        }
        self._dates: dict[datetime, str] = {}
        self._heads: dict[tuple[str, datetime, str], _Heads] = {}  # by version (CSP: by kind)
        # (path, query) → the document a GET of it was answered with and its headers, under
        # the library's serial then: asked again, only the validators and encoding are looked at
        self._ready: dict[tuple[str, str], tuple[int, Document, _Heads]] = {}

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
        method = environ.get("REQUEST_METHOD", "GET")
        serial = self.library.current()
        ready = self._ready.get(key)
        if ready is not None and ready[0] == serial and method in _READS:
            document, heads = ready[1], ready[2]  # asked before, the library unchanged since
        else:
            try:
                found = self._find(key, method)
            except _Answered as answered:
                return answered.answer
            if found is None:
                return None
            doc, document = found
            known = self._heads.get((document.etag, document.last_modified, doc.kind))
            heads = known if known is not None else self._headers_of(doc, document)
            if len(self._ready) > 4096:  # bounded: paths come from clients
                self._ready.clear()
            self._ready[key] = (serial, document, heads)
        if _not_modified(environ, document):
            return "304 Not Modified", list(heads[2]), b""
        gzipped = _wants_gzip(environ)
        body = document.gzipped if gzipped else document.body
        headers = [*heads[1 if gzipped else 0], ("Content-Length", str(len(body)))]
        return "200 OK", headers, b"" if method == "HEAD" else body

    def _find(self, key: tuple[str, str], method: str) -> tuple[Doc, Document] | None:
        """The document (and its record) a ``GET`` or ``HEAD`` of ``key`` (path, query) is
        answered with; None for a path that is not a document's. ``_Answered`` with the whole
        answer to another method, to a URL that cannot be a document's, or before any poll."""
        path, query = key
        if key in self._resolved:
            doc = self._resolved[key]
        else:
            if len(path) + len(query) > MAX_URL:
                raise _Answered(self._error(414, f"URL longer than {MAX_URL} characters"))
            try:
                if self.urls.match(path) is None:
                    doc = None
                else:
                    args = dict(
                        parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=20)
                    )
                    doc = self.urls.resolve(path, args, self.library)
            except RequestError as e:
                raise _Answered(self._error(e.status, e.message)) from e
            except (ValueError, UnicodeDecodeError) as e:
                raise _Answered(self._error(400, f"malformed query string: {e}")) from e
            if len(self._resolved) > 4096:
                self._resolved.clear()
            self._resolved[key] = doc
        if doc is None:
            return None
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
        return doc, document

    def _headers_of(self, doc: Doc, document: Document) -> _Heads:
        """The headers of one document's answers (plain, gzip, 304), made once per version."""
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
        heads = (  # Content-Length goes on per answer, from the very bytes sent
            tuple(headers),
            (*headers, ("Content-Encoding", "gzip")),
            tuple(h for h in headers if h[0] != "Content-Type"),
        )
        if len(self._heads) > 4096:  # bounded: a version of each document at a time, or so
            self._heads.clear()
        self._heads[(document.etag, document.last_modified, doc.kind)] = heads
        return heads
