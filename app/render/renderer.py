"""Documents rendered: a typed document record plus the incidents → bytes. Pure.

``Renderer`` turns one document record (``app.site.documents``) and the ``Archive``
(``app.site.archive``) into a ``Document`` (bytes, type, ETag, gzip); it keeps every rendered entry
keyed by the incident itself (so an unchanged incident is rendered once per language, and a
cached entry can never outlive the incident it shows).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from markupsafe import Markup

from app.catalogue import Catalogue
from app.config import Settings
from app.model import Incident, Lang, Window
from app.render.calendar import event_bytes, render_calendar
from app.render.chrome import incident_item
from app.render.entry import Entry, render_entry
from app.render.feeds import FORMATS, Kept, entry_bytes, feed_meta, render_feed
from app.render.history import history_document
from app.render.i18n import word
from app.render.incident import render_incident_page
from app.render.index import RECENTLY_CLOSED, render_index
from app.render.inputs import document_horizon, document_inputs, system_inputs
from app.render.pages import (
    api_json,
    render_api,
    render_badge,
    render_embed,
    render_opml,
)
from app.render.per_version import PerVersion
from app.render.stamps import PLACEHOLDER, restamped_document, stamped_document
from app.render.stats import render_stats_figures
from app.render.status import render_systems_api
from app.render.statuspage import StatuspageRenderer
from app.render.subscribe import PartsAtHand
from app.render.system import joined_lines, render_system_page
from app.site.archive import EPOCH, Archive
from app.site.documents import (
    Badge,
    Calendar,
    Doc,
    Embed,
    Feed,
    IncidentPage,
    IncidentsApi,
    IndexPage,
    Opml,
    StatsApi,
    StatuspageApi,
    SystemPage,
    SystemsApi,
)
from app.site.sets import history_pages
from app.site.urls import Urls
from app.store.rendered import Document, FeedPart, PageContext, Stamp

TYPES = {
    **{fmt: f"{ctype}; charset=utf-8" for fmt, ctype in FORMATS.items()},
    "html": "text/html; charset=utf-8",
    "svg": "image/svg+xml",
    "opml": "text/x-opml; charset=utf-8",
    "api": "application/json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}
ENTRY_CACHE_SIZE = 4096  # entries (incident × language); a feed shows at most feed_limit_max


class Renderer:
    """Renders documents for one catalogue and configuration."""

    def __init__(self, settings: Settings, catalogue: Catalogue, urls: Urls) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.urls = urls
        self._entries: PerVersion[tuple[str, Lang], Entry] = PerVersion(ENTRY_CACHE_SIZE)
        self._events: PerVersion[tuple[str, Lang], bytes] = PerVersion(ENTRY_CACHE_SIZE)
        self._entry_bytes: PerVersion[tuple[str, Lang, str], bytes] = PerVersion(ENTRY_CACHE_SIZE)
        self.entries_made = 0  # feed entries written from an incident (not taken as they stood)
        self._pages: dict[SystemPage, tuple[str, Document]] = {}
        self._api: PerVersion[str, bytes] = PerVersion(ENTRY_CACHE_SIZE)
        self._lines: PerVersion[tuple[str, Lang], Markup] = PerVersion(ENTRY_CACHE_SIZE)
        self.index_parts = PartsAtHand(catalogue, urls)  # depend on URL map and catalogue only
        self._lock = threading.Lock()  # web workers render variants from several threads
        self._statuspage = StatuspageRenderer(catalogue, urls, TYPES["api"])

    def entry(self, incident: Incident, lang: Lang) -> Entry:
        """The entry of ``incident`` in ``lang``, rendered once per version of the incident."""
        page = self.urls.url(IncidentPage(lang, incident.key))
        return self._entries.get(
            (incident.key, lang),
            incident,
            lambda: render_entry(incident, self.catalogue, lang, page),
        )

    def _entry_bytes_of(self, incident: Incident, lang: Lang, fmt: str) -> bytes:
        """``incident``'s entry in a ``fmt`` feed in ``lang``, written once per version and
        shared by every feed that lists it."""

        def make() -> bytes:
            self.entries_made += 1
            return entry_bytes(self.entry(incident, lang), fmt)

        return self._entry_bytes.get((incident.key, lang, fmt), incident, make)

    def line(self, incident: Incident, lang: Lang) -> Markup:
        """``incident``'s line in a list of incidents in ``lang`` (``incident_item``), written
        once per version and shared by the lists that show it: its systems' pages and history
        pages, the index."""
        return self._lines.get(
            (incident.key, lang),
            incident,
            lambda: incident_item(incident, self.catalogue, lang, self.urls),
        )

    def api_json(self, incident: Incident) -> bytes:
        """The incident as /api/incidents.json gives it, encoded once per version."""
        return self._api.get(incident.key, incident, lambda: api_json(incident))

    def _event(self, incident: Incident, window: Window, lang: Lang) -> bytes:
        """The incident's calendar event in ``lang``, serialized once per version (the "all"
        calendar and each of its systems' show the same event)."""
        return self._events.get(
            (incident.key, lang),
            incident,
            lambda: event_bytes(incident, window, self.catalogue, lang),
        )

    def _limit(self, doc: Feed | IncidentsApi) -> int:
        return self.settings.feed_limit_default if doc.limit is None else doc.limit

    def render(
        self,
        doc: Doc,
        archive: Archive,
        ctx: PageContext,
        notice: Incident | None,
        kept: Kept | None = None,
    ) -> Document:
        """Render one document (``kept``: a feed's entries, or a history page's lines, as they
        stood in stored bytes, ``stored_entries``)."""
        latest = archive.latest
        refreshed = ctx.refreshed_at or latest
        match doc:
            case Feed():
                return self._feed(doc, archive, notice, kept)
            case IndexPage():
                states = archive.states(self.catalogue, refreshed)
                frame = render_index(
                    states,
                    archive.open_incidents(),
                    [self.line(i, doc.lang) for i in archive.latest_closed(RECENTLY_CLOSED)],
                    self.index_parts.get(doc.lang),
                    self.catalogue,
                    ctx,
                    doc.lang,
                    self.urls,
                    PLACEHOLDER,
                )
                return stamped_document(doc, frame, ctx, TYPES["html"], refreshed)
            case SystemPage():
                if doc.page == 1:
                    return self._system_page(doc, archive, ctx, refreshed)
                return history_document(
                    doc,
                    archive,
                    ctx,
                    self.catalogue,
                    self.urls,
                    TYPES["html"],
                    kept,
                    lambda incident: self.line(incident, doc.lang),
                )
            case IncidentPage():
                incident = archive.get(doc.key)
                body = render_incident_page(doc, incident, self.catalogue, ctx, self.urls)
                modified = incident.updated_at if incident is not None else latest
                return Document.of(body, TYPES["html"], modified)
            case StatsApi():
                figures = {slug: archive.figures(slug, refreshed) for slug in self.catalogue.slugs}
                body = render_stats_figures(
                    {slug: (f.months, f.close) for slug, f in figures.items()},
                    archive.close_overall(),
                    refreshed,
                    self.catalogue,
                    doc.lang,
                )
                return Document.of(body, TYPES["api"], refreshed)
            case Embed():
                state = archive.states(self.catalogue, refreshed)[doc.system]
                incidents = archive.latest_of(doc.system, 3)
                frame = render_embed(
                    incidents,
                    state,
                    self.catalogue,
                    ctx,
                    doc.system,
                    doc.lang,
                    self.urls,
                    PLACEHOLDER,
                )
                return stamped_document(doc, frame, ctx, TYPES["html"], refreshed)
            case Badge():
                state = archive.states(self.catalogue, refreshed)[doc.system]
                readable = ctx.state_known
                body = render_badge(state, self.catalogue, doc.lang, refreshed, readable)
                return Document.of(body, TYPES["svg"], refreshed)
            case SystemsApi():
                states = archive.states(self.catalogue, refreshed)
                body = render_systems_api(
                    states, self.catalogue, ctx.refreshed_at, readable=ctx.state_known
                )
                return Document.of(body, TYPES["api"], refreshed)
            case Calendar():
                return self._calendar(doc, archive)
            case Opml():
                body = render_opml(self.catalogue, self.urls, doc.lang, doc.systems)
                return Document.of(body, TYPES["opml"], EPOCH)
            case IncidentsApi():
                chosen = archive.select(doc, self._limit(doc))
                frame = render_api([self.api_json(i) for i in chosen], None, PLACEHOLDER)
                return stamped_document(doc, frame, ctx, TYPES["api"], latest)
            case StatuspageApi():
                return self._statuspage.render(doc, archive, ctx)

    def restamp(
        self, doc: Doc, body: bytes, old: Stamp, archive: Archive, ctx: PageContext
    ) -> Document | None:
        """``doc`` from its stored ``body`` (showing ``old``) with the stamp of ``ctx``'s poll
        (``app.render.stamps``); None when it cannot be: render it then."""
        api = isinstance(doc, IncidentsApi)
        modified = archive.latest if api else ctx.refreshed_at or archive.latest
        return restamped_document(doc, body, old, ctx, TYPES["api" if api else "html"], modified)

    def inputs(self, doc: Doc, archive: Archive, ctx: PageContext) -> str:
        """A digest of everything ``doc`` shows, for the documents whose renderer can tell
        (the same in any process); "" for the others (they are always rendered)."""
        if isinstance(doc, StatuspageApi):
            return self._statuspage.inputs(doc, archive, ctx)
        limit = self._limit(doc) if isinstance(doc, IncidentsApi) else -1
        return document_inputs(doc, archive, ctx, self.catalogue, limit)

    def horizon(self, doc: Doc, archive: Archive, ctx: PageContext) -> datetime | None:
        """Up to when time alone leaves ``inputs(doc, ...)`` as they are now (the archive and
        the context but the poll's time as they are); None when it cannot be told."""
        if isinstance(doc, StatuspageApi):
            return self._statuspage.horizon(doc, archive, ctx)
        return document_horizon(doc, archive, ctx, self.catalogue)

    def _system_page(
        self, doc: SystemPage, archive: Archive, ctx: PageContext, now: datetime
    ) -> Document:
        """A system's page 1, rendered again only when something it shows changed."""
        slug = doc.system
        state = archive.states(self.catalogue, now)[slug]
        figures = archive.figures(slug, now)
        key = system_inputs(doc, archive, ctx, self.catalogue, now)
        with self._lock:
            kept = self._pages.get(doc)
        if kept is not None and kept[0] == key:
            return kept[1]
        listed = archive.history_page(slug, 1)
        pages = history_pages(archive.history_count(slug))
        opened = archive.get_many(state.incidents)
        shown = archive.get_many(k for cell in figures.strip for k in cell.keys)
        titles = {i.key: i.title_in(doc.lang) for i in shown}
        lines = joined_lines([self.line(i, doc.lang) for i in listed])
        body = render_system_page(
            doc, state, figures, lines, pages, opened, titles, self.catalogue, ctx, self.urls
        )
        document = Document.of(body, TYPES["html"], now)
        with self._lock:
            self._pages[doc] = (key, document)
        return document

    def _calendar(self, doc: Calendar, archive: Archive) -> Document:
        chosen = archive.windows(self.settings.feed_limit_max, doc.system)
        system = self.catalogue.get(doc.system) if doc.system else None
        name = (
            word(doc.lang, "calendar_system", name=system.name_in(doc.lang))
            if system
            else word(doc.lang, "calendar_all")
        )
        body = render_calendar(
            chosen,
            self.catalogue,
            lang=doc.lang,
            name=name,
            refresh_seconds=int(self.settings.poll_seconds),
            event=self._event,
        )
        modified = max((i.updated_at for i in chosen), default=EPOCH)
        return Document.of(body, TYPES["ics"], modified)

    def _feed(
        self, doc: Feed, archive: Archive, notice: Incident | None, kept: Kept | None
    ) -> Document:
        """``kept``: the entries of the feed's stored bytes, by incident key with their
        version's mark: an entry whose version still holds is taken as it stood."""
        fmt = doc.fmt.value
        chosen = archive.select(doc, self._limit(doc))
        marks = [archive.mark_of(incident) for incident in chosen]
        entries = []
        for incident, mark in zip(chosen, marks, strict=True):
            stood = (kept or {}).get(incident.key)
            if stood is not None and mark is not None and stood[0] == mark:
                entries.append(stood[1])
            else:
                entries.append(self._entry_bytes_of(incident, doc.lang, fmt))
        shown = list(chosen)
        if notice is not None and doc.carries_notice:
            entries.insert(0, entry_bytes(render_entry(notice, self.catalogue, doc.lang), fmt))
            shown.insert(0, notice)
        updated = max((i.updated_at for i in shown), default=EPOCH)  # its own members only
        meta = feed_meta(doc, self.catalogue, self.urls, updated, self.settings.websub_hub)
        body, spans = render_feed(fmt, meta, entries)
        first = len(shown) - len(chosen)  # after the notice, if any
        parts = tuple(
            FeedPart(incident.key, mark, *spans[first + n])
            for n, (incident, mark) in enumerate(zip(chosen, marks, strict=True))
            if mark is not None
        )
        return Document.of(body, TYPES[fmt], updated, parts=parts)

    def render_many(
        self, docs: Iterable[Doc], archive: Archive, ctx: PageContext, notice: Incident | None
    ) -> Iterator[tuple[Doc, Document]]:
        """(record, document) for each of ``docs``."""
        for doc in docs:
            yield doc, self.render(doc, archive, ctx, notice)
