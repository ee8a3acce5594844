"""Documents rendered: a typed document record plus the incidents → bytes. Pure.

``Archive`` holds the incidents newest change first, with a per-system index, and hands each
feed its members without scanning the whole archive. ``Renderer`` turns one document record
(``app.documents``) into a ``Document`` (bytes, type, ETag, gzip); it keeps every rendered
entry keyed by the incident itself (so an unchanged incident is rendered once per language, and
a cached entry can never outlive the incident it shows).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from app.catalogue import Catalogue
from app.config import Settings
from app.documents import (
    Badge,
    Calendar,
    Doc,
    Embed,
    Feed,
    IncidentsApi,
    IndexPage,
    Opml,
    Scope,
    SystemsApi,
)
from app.model import Incident, Lang, Status
from app.render.calendar import render_calendar
from app.render.entry import Entry, render_entry
from app.render.feeds import FORMATS, FeedMeta, render_feed
from app.render.i18n import word
from app.render.pages import (
    PageContext,
    feed_title,
    render_api,
    render_badge,
    render_embed,
    render_index,
    render_opml,
)
from app.render.status import render_systems_api
from app.state import SystemState, system_states
from app.urls import Urls

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = {
    **{fmt: f"{ctype}; charset=utf-8" for fmt, ctype in FORMATS.items()},
    "html": "text/html; charset=utf-8",
    "svg": "image/svg+xml",
    "opml": "text/x-opml; charset=utf-8",
    "api": "application/json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}
ENTRY_CACHE_SIZE = 4096  # entries (incident × language); a feed shows at most feed_limit_max


@dataclass(frozen=True, slots=True)
class Document:
    """Rendered bytes with what conditional GET and compression need."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    gzipped: bytes

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: datetime) -> Document:
        """Wrap bytes: the ETag is a hash of the body; the gzip form is made once here."""
        etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
        return cls(
            body,
            content_type,
            etag,
            last_modified.replace(microsecond=0),
            gzip.compress(body, compresslevel=6, mtime=0),
        )


def _order(incident: Incident) -> tuple[datetime, str]:
    return (incident.updated_at, incident.key)


def _by_start(incident: Incident) -> tuple[datetime, str]:
    return (incident.window.start_at if incident.window else _EPOCH, incident.key)


class _Sorted:
    """Incidents kept sorted by a key as they come and go (bisect: no re-sort per change)."""

    def __init__(self, order: Callable[[Incident], tuple[datetime, str]]) -> None:
        self.order = order
        self._keys: list[tuple[datetime, str]] = []
        self._items: list[Incident] = []

    def add(self, incident: Incident) -> None:
        key = self.order(incident)
        at = bisect.bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._items.insert(at, incident)

    def remove(self, incident: Incident) -> None:
        key = self.order(incident)
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            del self._keys[at]
            del self._items[at]

    def newest(self) -> Iterator[Incident]:
        """Largest key first."""
        return reversed(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Archive:
    """Every incident in memory, newest change first, indexed by key, system, openness, window.

    The indexes are updated per changed incident, so a poll that changed one incident costs
    the same with 100 or 10,000 archived.
    """

    def __init__(self, incidents: Iterable[Incident] = ()) -> None:
        self.by_key: dict[str, Incident] = {}
        self._all = _Sorted(_order)
        self._systems: dict[str, _Sorted] = {}
        self._open: dict[str, Incident] = {}
        self._statuses: dict[Status, _Sorted] = {status: _Sorted(_order) for status in Status}
        self._windows = _Sorted(_by_start)
        loaded = sorted(incidents, key=_order)
        for incident in loaded:  # appending in order: each insert lands at the end
            self._add(incident)

    def _add(self, incident: Incident) -> None:
        self.by_key[incident.key] = incident
        self._all.add(incident)
        for system in incident.systems:
            self._systems.setdefault(system, _Sorted(_order)).add(incident)
        if incident.status is not Status.CLOSED:
            self._open[incident.key] = incident
        self._statuses[incident.status].add(incident)
        if incident.window is not None:
            self._windows.add(incident)

    def _remove(self, incident: Incident) -> None:
        self.by_key.pop(incident.key, None)
        self._all.remove(incident)
        for system in incident.systems:
            if system in self._systems:
                self._systems[system].remove(incident)
        self._open.pop(incident.key, None)
        self._statuses[incident.status].remove(incident)
        if incident.window is not None:
            self._windows.remove(incident)

    def apply(self, changed: dict[str, Incident | None]) -> None:
        """Replace or remove the incidents of ``changed`` (key → new incident or None)."""
        for key, incident in changed.items():
            old = self.by_key.get(key)
            if old is not None:
                self._remove(old)
            if incident is not None:
                self._add(incident)

    def newest_first(self) -> list[Incident]:
        """Every incident, newest change first (the key breaks ties, for stable output)."""
        return list(self._all.newest())

    def of_system(self, slug: str) -> list[Incident]:
        """The incidents naming ``slug``, newest change first."""
        found = self._systems.get(slug)
        return list(found.newest()) if found is not None else []

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed, newest change first (all that can make a system's state)."""
        return sorted(self._open.values(), key=_order, reverse=True)

    def windows(self, limit: int) -> list[Incident]:
        """The ``limit`` incidents with the latest-starting windows (bounds the calendars)."""
        return list(itertools.islice(self._windows.newest(), limit))

    def states(self, catalogue: Catalogue, now: datetime) -> dict[str, SystemState]:
        """Every catalogue system's state at ``now``."""
        return system_states(self.open_incidents(), catalogue, now)

    def for_pages(self, per_system: int) -> list[Incident]:
        """Open incidents plus each system's newest few: all the index and embeds show."""
        chosen = dict(self._open)
        for found in self._systems.values():
            for incident in itertools.islice(found.newest(), per_system):
                chosen.setdefault(incident.key, incident)
        return sorted(chosen.values(), key=_order, reverse=True)

    def latest_of(self, slug: str, count: int) -> list[Incident]:
        """The newest ``count`` incidents naming ``slug``."""
        found = self._systems.get(slug)
        return list(itertools.islice(found.newest(), count)) if found is not None else []

    def select(self, doc: Feed | IncidentsApi, limit: int) -> list[Incident]:
        """The members of a feed or API query, newest change first, at most ``limit``."""
        system = doc.value if isinstance(doc, Feed) and doc.scope is Scope.SYSTEM else ""
        if isinstance(doc, IncidentsApi):
            system = doc.system
        status = doc.status
        if isinstance(doc, Feed) and doc.scope is Scope.STATUS:
            status = Status(doc.value)
        # the narrowest index that holds every member; shows() checks the rest
        if system:
            pool = self._systems.get(system, _Sorted(_order))
        elif status is not None:
            pool = self._statuses[status]
        else:
            pool = self._all
        chosen: list[Incident] = []
        for incident in pool.newest():
            if doc.shows(incident):
                chosen.append(incident)
                if len(chosen) >= limit:
                    break
        return chosen

    @property
    def latest(self) -> datetime:
        """The newest change of any incident."""
        return next((i.updated_at for i in self._all.newest()), _EPOCH)


class Renderer:
    """Renders documents for one catalogue and configuration."""

    def __init__(self, settings: Settings, catalogue: Catalogue, urls: Urls) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.urls = urls
        self._entries: OrderedDict[tuple[str, Lang], tuple[Incident, Entry]] = OrderedDict()
        self._lock = threading.Lock()  # web workers render variants from several threads

    def entry(self, incident: Incident, lang: Lang) -> Entry:
        """The entry of ``incident`` in ``lang``, rendered once per version of the incident."""
        key = (incident.key, lang)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and (cached[0] is incident or cached[0] == incident):
                self._entries.move_to_end(key)
                return cached[1]
        entry = render_entry(incident, self.catalogue, lang)
        with self._lock:
            self._entries[key] = (incident, entry)
            if len(self._entries) > ENTRY_CACHE_SIZE:
                self._entries.popitem(last=False)
        return entry

    def _limit(self, doc: Feed | IncidentsApi) -> int:
        return self.settings.feed_limit_default if doc.limit is None else doc.limit

    def render(
        self, doc: Doc, archive: Archive, ctx: PageContext, notice: Incident | None
    ) -> Document:
        """Render one document."""
        latest = archive.latest
        refreshed = ctx.refreshed_at or latest
        match doc:
            case Feed():
                return self._feed(doc, archive, notice)
            case IndexPage():
                states = archive.states(self.catalogue, refreshed)
                body = render_index(
                    archive.for_pages(3), states, self.catalogue, ctx, doc.lang, self.urls
                )
                return Document.of(body, TYPES["html"], refreshed)
            case Embed():
                state = archive.states(self.catalogue, refreshed)[doc.system]
                incidents = archive.latest_of(doc.system, 3)
                body = render_embed(
                    incidents, state, self.catalogue, ctx, doc.system, doc.lang, self.urls
                )
                return Document.of(body, TYPES["html"], refreshed)
            case Badge():
                state = archive.states(self.catalogue, refreshed)[doc.system]
                body = render_badge(state, self.catalogue, doc.lang, refreshed)
                return Document.of(body, TYPES["svg"], refreshed)
            case SystemsApi():
                states = archive.states(self.catalogue, refreshed)
                body = render_systems_api(states, self.catalogue, ctx.refreshed_at)
                return Document.of(body, TYPES["api"], refreshed)
            case Calendar():
                return self._calendar(doc, archive)
            case Opml():
                return Document.of(render_opml(self.catalogue, self.urls), TYPES["opml"], _EPOCH)
            case IncidentsApi():
                chosen = archive.select(doc, self._limit(doc))
                return Document.of(render_api(chosen, ctx.refreshed_at), TYPES["api"], latest)

    def _calendar(self, doc: Calendar, archive: Archive) -> Document:
        chosen = [i for i in archive.windows(self.settings.feed_limit_max) if doc.shows(i)]
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
        )
        modified = max((i.updated_at for i in chosen), default=_EPOCH)
        return Document.of(body, TYPES["ics"], modified)

    def _feed(self, doc: Feed, archive: Archive, notice: Incident | None) -> Document:
        chosen = archive.select(doc, self._limit(doc))
        entries = [self.entry(incident, doc.lang) for incident in chosen]
        if notice is not None and doc.carries_notice:
            entries.insert(0, render_entry(notice, self.catalogue, doc.lang))
        updated = max((e.incident.updated_at for e in entries), default=archive.latest)
        title = feed_title(self.catalogue, doc.scope, doc.value, doc.lang)
        if doc.status is not None:
            title = f"{title} ({word(doc.lang, doc.status.value)})"
        scope = f"feeds/{doc.scope.value}" + (f"/{doc.value}" if doc.value else "")
        lang = "da:" if doc.lang is Lang.DA else ""
        query = f"?status={doc.status.value}" if doc.status else ""
        meta = FeedMeta(
            id=f"tag:toldfeed,2026:{lang}{scope}{query}",
            title=title,
            subtitle=word(doc.lang, "feed_subtitle"),
            self_url=self.urls.url(doc),
            home_url=self.urls.url(IndexPage(doc.lang)),
            lang=doc.lang,
            updated_at=updated,
        )
        body = render_feed(doc.fmt.value, meta, entries)
        return Document.of(body, TYPES[doc.fmt.value], updated)

    def render_many(
        self, docs: Iterable[Doc], archive: Archive, ctx: PageContext, notice: Incident | None
    ) -> Iterator[tuple[Doc, Document]]:
        """(record, document) for each of ``docs``."""
        for doc in docs:
            yield doc, self.render(doc, archive, ctx, notice)
