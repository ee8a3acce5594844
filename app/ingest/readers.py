"""The readers of a poll (I/O): sources, feed autodiscovery and detail pages.

Each read returns a record of what it got and shares nothing: the validators it learned come
back in ``http`` and the pipeline folds them in. A document that looks cut off (a dropped
connection, a full disk upstream) is refused, since its partial last row could overwrite a
complete one; a document that yields nothing keeps its old validators, so it is read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from app.catalogue import Catalogue
from app.errors import FetchError
from app.fetch import Fetcher
from app.http_records import Response, Validators
from app.ingest.sources import Source
from app.model import Lang, SourceKind
from app.store.records import HttpState, Outcome, SourceReport, SourceState
from app.upstream.detail import parse_detail_page
from app.upstream.links import Origin
from app.upstream.listpage import parse_list_page
from app.upstream.result import DetailLink, ParseResult
from app.upstream.rss import parse_rss

log = logging.getLogger("toldfeed.ingest")


@dataclass(frozen=True, slots=True)
class KindReader:
    """How one kind of upstream document is read: its parser, and the endings that tell a
    whole document from one cut off in transit."""

    parse: Parser
    endings: tuple[bytes, ...]  # one of them ends a whole document (lower case)
    cut_off: str  # what a document without one is said to be
    last: bool = True  # the ending must be last (a feed); else near the end (a page's footer)

    def truncated(self, body: bytes) -> str | None:
        """Why ``body`` looks cut off, or None."""
        tail = body[-4096:].rstrip().lower()
        whole = tail.endswith(self.endings) if self.last else any(e in tail for e in self.endings)
        return None if whole else self.cut_off


class Parser(Protocol):
    """An upstream parser (``app.upstream``): bytes and headers in, a ``ParseResult`` out."""

    def __call__(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        url: str,
        lang: Lang,
        catalogue: Catalogue,
        observed_at: datetime,
        origins: frozenset[Origin] | None = None,
    ) -> ParseResult: ...


_PAGE_ENDINGS = (b"</html>", b"</body>")
_PAGE_CUT = "truncated page (no </html>)"
# the table of readers: a new kind of upstream document is one row (and its parser)
READERS: dict[SourceKind, KindReader] = {
    SourceKind.RSS: KindReader(
        parse_rss,
        (b"</rss>", b"</feed>", b"</rdf:rdf>"),
        "not a complete feed (no closing </rss> or </feed>)",
    ),
    SourceKind.PAGE: KindReader(parse_list_page, _PAGE_ENDINGS, _PAGE_CUT, last=False),
    SourceKind.DETAIL: KindReader(parse_detail_page, _PAGE_ENDINGS, _PAGE_CUT, last=False),
}


def truncated(kind: SourceKind, body: bytes) -> str | None:
    """Why a document of ``kind`` looks cut off, or None."""
    return READERS[kind].truncated(body)


@dataclass(frozen=True, slots=True)
class SourceRead:
    """One source read: its report, its state after the read, what it yielded."""

    report: SourceReport
    state: SourceState  # the stored state unless ``result`` is set
    result: ParseResult | None = None  # set when the source was fetched and yielded messages
    http: Mapping[str, HttpState] = field(default_factory=dict)  # validators learned, by URL


@dataclass(frozen=True, slots=True)
class DetailRead:
    """One detail page read: an error, nothing new (304), or what it yielded."""

    link: DetailLink
    error: str | None = None
    result: ParseResult | None = None  # None without an error: not modified
    http: HttpState | None = None  # validators learned


class Reader:
    """Reads upstream documents for one poll at ``now``, until ``deadline`` (monotonic)."""

    def __init__(
        self,
        fetcher: Fetcher,
        catalogue: Catalogue,
        http: Mapping[str, HttpState],
        now: datetime,
        deadline: float,
    ) -> None:
        self.fetcher = fetcher
        self.catalogue = catalogue
        self.http = http  # as before the poll; never written here
        self.now = now
        self.deadline = deadline
        # one parse at a time: a parse is mostly Python, which runs one thread at a time
        # anyway (lexbor and nh3, which need no interpreter, are its smaller part); two taking
        # turns on the interpreter cost some 10-25 % more CPU than one after the other, so a
        # thread whose answer came waits here instead of contending (measured: benchmarks.md)
        self._parsing = threading.Lock()

    def _get(self, url: str) -> Response:
        state = self.http.get(url)
        validators = Validators(state.etag, state.last_modified) if state else None
        return self.fetcher.get(url, validators, self.deadline)

    def _seen(
        self,
        url: str,
        response: Response,
        last_updated_at: datetime | None = None,
        *,
        parsed: bool = False,
    ) -> HttpState:
        """The HTTP state to remember after a good answer for ``url``."""
        old = self.http.get(url)
        return HttpState(
            checked_at=self.now,
            etag=response.validators.etag,
            last_modified=response.validators.last_modified,
            parsed=parsed or (old is not None and old.parsed),
            last_updated_at=last_updated_at if parsed else (old.last_updated_at if old else None),
        )

    def _parse(self, kind: SourceKind, response: Response, lang: Lang) -> ParseResult:
        with self._parsing:
            return READERS[kind].parse(
                response.body,
                response.headers,
                url=response.url,
                lang=lang,
                catalogue=self.catalogue,
                observed_at=self.now,
                origins=self.fetcher.origins,  # links elsewhere are neither followed nor published
            )

    def source(self, source: Source, stored: SourceState | None, skipped: bool) -> SourceRead:
        """Read one configured source (the discovered feed URL, for an RSS source that has one)."""
        report = SourceReport(url=source.url, kind=source.kind)
        state = stored or SourceState()
        if skipped:
            return SourceRead(replace(report, outcome=Outcome.SKIPPED), state)
        if time.monotonic() > self.deadline:
            return SourceRead(replace(report, error="poll time budget exhausted"), state)
        url = (state.discovered or source.url) if source.kind is SourceKind.RSS else source.url
        try:
            response = self._get(url)
        except FetchError as e:
            return SourceRead(replace(report, error=e.reason, retry_after=e.retry_after), state)
        report = replace(report, max_age=response.max_age, via=url if url != source.url else None)
        if response.not_modified:
            report = replace(report, outcome=Outcome.NOT_MODIFIED, entries=state.entries)
            return SourceRead(report, state, http={url: self._seen(url, response)})
        if (cut := truncated(source.kind, response.body)) is not None:
            return SourceRead(replace(report, error=cut), state)
        result = self._parse(source.kind, response, source.lang)
        entries = len({o.oid for o in result.observations})
        report = replace(
            report,
            warnings=result.warnings,
            unknown_systems=result.unknown_systems,
            entries=entries,
        )
        if not result.observations:
            error = result.warnings[0] if result.warnings else "nothing readable"
            return SourceRead(replace(report, error=error), state)
        state = replace(state, links=result.links, feed_links=result.feed_links, entries=entries)
        return SourceRead(
            replace(report, outcome=Outcome.FETCHED),
            state,
            result,
            http={url: self._seen(url, response)},
        )

    def discover(
        self, source: Source, stored: SourceState | None, candidates: Iterable[str]
    ) -> SourceRead | None:
        """Read the first feed the pages advertise that works, for a failed RSS source."""
        for candidate in candidates:
            if candidate == source.url or not self.fetcher.allowed(candidate):
                continue
            state = replace(stored or SourceState(), discovered=candidate)
            try:
                response = self._get(candidate)
            except FetchError:
                continue
            report = SourceReport(
                url=source.url, kind=SourceKind.RSS, via=candidate, max_age=response.max_age
            )
            http = {candidate: self._seen(candidate, response)}
            if response.not_modified:
                report = replace(report, outcome=Outcome.NOT_MODIFIED, entries=state.entries)
                return SourceRead(report, state, http=http)
            if truncated(SourceKind.RSS, response.body) is not None:
                continue
            result = self._parse(SourceKind.RSS, response, source.lang)
            if not result.observations:
                continue
            log.info("feed autodiscovered: %s (configured %s failed)", candidate, source.url)
            entries = len({o.oid for o in result.observations})
            report = replace(
                report,
                outcome=Outcome.FETCHED,
                entries=entries,
                warnings=(f"configured feed URL failed; read {candidate} instead",),
                unknown_systems=result.unknown_systems,
            )
            state = replace(state, links=result.links, entries=entries)
            return SourceRead(report, state, result, http=http)
        return None

    def detail(self, link: DetailLink) -> DetailRead:
        """Read one detail page."""
        try:
            response = self._get(link.url)
        except FetchError as e:
            return DetailRead(link, error=e.reason)
        if response.not_modified:
            return DetailRead(link, http=self._seen(link.url, response))
        if (cut := truncated(SourceKind.DETAIL, response.body)) is not None:
            return DetailRead(link, error=cut)
        result = self._parse(SourceKind.DETAIL, response, link.lang)
        if not result.observations:
            return DetailRead(link, result=result)  # validators not kept: read it again
        first = result.observations[0]
        http = self._seen(link.url, response, first.last_updated_at, parsed=True)
        return DetailRead(link, result=result, http=http)
