"""The archive as the store indexes it: the incidents a document shows, read by key. Pure
(every read goes through ``Holdings``, which the store implements: ``app.store.heads``).

``Archive`` hands each feed, history page, calendar and figure its members by asking the
stored indexes (SQL tables kept per changed incident) for their keys, and reads only those
incidents, keeping the last few thousand read in memory while their version holds. So a page
or a feed costs the same with 100 or 10,000 archived, in a new process (a cron poll, a fresh
web worker) as in a warm one. ``derived_documents`` and ``derived_changes`` say which incident
and history pages exist and which a change affects.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from app.catalogue import Catalogue
from app.model import (
    CloseStats,
    Figures,
    Head,
    Incident,
    Kind,
    Marked,
    Status,
    SystemContents,
    head_of,
)
from app.site.documents import HISTORY_PAGE, Feed, IncidentsApi, Scope
from app.site.figures import FigureSource, FiguresToken, SystemFigures
from app.site.horizon import states_horizon
from app.site.system_state import SystemState, system_states

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # the time of a document that shows no incident
KEPT = 4096  # incidents kept in memory per archive (a feed shows at most feed_limit_max)


class Holdings(FigureSource, Protocol):
    """What the archive reads: the stored incidents and their indexes (``app.store.Store``)."""

    def generation(self) -> int: ...
    def incident(self, key: str) -> Incident | None: ...
    def incidents(self, keys: Sequence[str]) -> dict[str, Incident]: ...
    def head(self, key: str) -> Head | None: ...
    def marked_newest(
        self,
        system: str = "",
        status: Status | None = None,
        kind: Kind | None = None,
        limit: int = -1,
        offset: int = 0,
    ) -> list[Marked]: ...
    def marked_keys(self, keys: Iterable[str]) -> list[Marked]: ...
    def marked_open(self) -> list[Marked]: ...
    def marked_windows(
        self, limit: int, system: str = "", kind: Kind | None = None
    ) -> list[Marked]: ...
    def marked_history(self, system: str, offset: int, limit: int) -> list[Marked]: ...
    def latest_change_of(self, system: str, keys: Iterable[str]) -> datetime | None: ...
    def history_place(self, system: str, head: Head) -> int: ...
    def latest_head(self) -> Head | None: ...
    def iter_keys_newest(self) -> Iterator[str]: ...


K = TypeVar("K")
V = TypeVar("V")


def _kept(cache: dict[K, tuple[Hashable, V]], key: K, at: Hashable, make: Callable[[], V]) -> V:
    """``cache[key]``'s value while it was made ``at`` this version (and moment); else made
    again by ``make`` and kept."""
    kept = cache.get(key)
    if kept is None or kept[0] != at:
        kept = cache[key] = (at, make())
    return kept[1]


class Archive:
    """The stored incidents, read through their indexes, the last ``KEPT`` read kept."""

    def __init__(self, holdings: Holdings, salt: str | None = None) -> None:
        """``salt``: the render key of the running code, with which the figures kept in the
        store are used (``app.site.figures``)."""
        self.holdings = holdings
        self._kept: OrderedDict[str, tuple[int, Incident]] = OrderedDict()
        self._lock = threading.Lock()
        self._pinned: int | None = None
        self._figures = SystemFigures(holdings, salt)
        # what is worked out once per archive version (and moment), by key
        self._states: dict[int, tuple[Hashable, dict[str, SystemState]]] = {}
        self._contents: dict[str, tuple[Hashable, SystemContents]] = {}
        self._histories: dict[str, tuple[Hashable, list[Marked]]] = {}  # per system, whole
        self._tokens: dict[str, tuple[Hashable, FiguresToken]] = {}
        self._latest: dict[str, tuple[Hashable, datetime]] = {}
        self._horizons: dict[str, tuple[Hashable, datetime]] = {}

    @property
    def serial(self) -> int:
        """A number that changes whenever any incident comes, changes or goes (the store's
        generation; the one ``pinned`` while a publish holds it still)."""
        return self._pinned if self._pinned is not None else self.holdings.generation()

    @contextmanager
    def pinned(self, generation: int) -> Iterator[None]:
        """Take ``generation`` as the store's for a while: a publish, under the poll lock, in
        which no other process writes incidents (it reads the generation once, not per page)."""
        self._pinned = generation
        try:
            yield
        finally:
            self._pinned = None

    def _read(self, marked: Sequence[Marked]) -> list[Incident]:
        """The incidents ``marked`` names, in that order: kept ones while their mark holds,
        the others read in one statement."""
        with self._lock:
            missing = [k for k, m in marked if (kept := self._kept.get(k)) is None or kept[0] != m]
        loaded = self.holdings.incidents(missing) if missing else {}
        found: list[Incident] = []
        with self._lock:  # a web worker renders from several threads
            for key, mark in marked:
                if key in loaded:
                    self._kept[key] = (mark, loaded[key])
                kept = self._kept.get(key)
                if kept is None or kept[0] != mark:
                    continue  # removed between the two reads
                self._kept.move_to_end(key)
                found.append(kept[1])
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return found

    def mark_of(self, incident: Incident) -> int | None:
        """The mark of ``incident`` as this archive read it (None: not read here, or since
        replaced by another version)."""
        with self._lock:
            kept = self._kept.get(incident.key)
        return kept[0] if kept is not None and kept[1] is incident else None

    def get(self, key: str) -> Incident | None:
        """One incident, or None when it is not stored."""
        found = self.get_many([key])
        return found[0] if found else None

    def get_many(self, keys: Iterable[str]) -> list[Incident]:
        """The stored ones of the incidents ``keys`` names, in that order."""
        return self._read(self.holdings.marked_keys(keys))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.holdings.head(key) is not None

    def keys_newest(self) -> Iterator[str]:
        """Every incident's key, newest change first (the key breaks ties)."""
        return self.holdings.iter_keys_newest()

    def marks(
        self, system: str = "", status: Status | None = None, limit: int = -1
    ) -> list[Marked]:
        """The keys and marks of the incidents (naming ``system``, of ``status``) changed last,
        newest first: what stands for them in a document's inputs, without reading them."""
        return self.holdings.marked_newest(system, status, limit=limit)

    def open_marks(self) -> list[Marked]:
        """The keys and marks of the incidents not closed."""
        return self.holdings.marked_open()

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed, newest change first (all that can make a system's state)."""
        return self._read(self.holdings.marked_open())

    def windows(self, limit: int, system: str = "", kind: Kind | None = None) -> list[Incident]:
        """The ``limit`` incidents with the latest-starting windows (naming ``system``, of
        ``kind``, if given): what a calendar shows, bounded."""
        return self._read(self.holdings.marked_windows(limit, system, kind))

    def latest_of_kind(self, kind: Kind, limit: int) -> list[Incident]:
        """The ``limit`` incidents of ``kind`` changed last."""
        return self._read(self.holdings.marked_newest(kind=kind, limit=limit))

    def states(self, catalogue: Catalogue, now: datetime) -> dict[str, SystemState]:
        """Every catalogue system's state at ``now`` (worked out once per archive version and
        moment: a publish asks for it once per page, embed and badge)."""
        return _kept(
            self._states,
            id(catalogue),
            (self.serial, now),
            lambda: system_states(self.open_incidents(), catalogue, now),
        )

    def states_horizon(self, now: datetime) -> datetime:
        """A moment after ``now`` before which time alone changes no state, window's place or
        local day (``app.site.horizon``; once per archive version and moment)."""
        return _kept(
            self._horizons,
            "",
            (self.serial, now),
            lambda: states_horizon(self.open_incidents(), now),
        )

    def latest_of(self, slug: str, count: int) -> list[Incident]:
        """The newest ``count`` incidents naming ``slug``."""
        return self._read(self.holdings.marked_newest(slug, limit=count))

    def select(self, doc: Feed | IncidentsApi, limit: int) -> list[Incident]:
        """The members of a feed or API query, newest change first, at most ``limit``."""
        system = doc.value if isinstance(doc, Feed) and doc.scope is Scope.SYSTEM else ""
        if isinstance(doc, IncidentsApi):
            system = doc.system
        status = doc.status
        if isinstance(doc, Feed) and doc.scope is Scope.STATUS:
            if status is not None and status.value != doc.value:
                return []  # a status feed asked for another status shows nothing
            status = Status(doc.value)
        marked = self.holdings.marked_newest(system, status, limit=limit)
        return [i for i in self._read(marked) if doc.shows(i)]

    def latest_closed(self, count: int) -> list[Incident]:
        """The ``count`` closed incidents changed last."""
        return self._read(self.holdings.marked_newest(status=Status.CLOSED, limit=count))

    # a system's history ------------------------------------------------------------------

    def contents(self, slug: str) -> SystemContents:
        """What stands for the versions of the incidents naming ``slug``: equal in any process
        for the same incidents (read once per archive version)."""
        return _kept(self._contents, slug, self.serial, lambda: self.holdings.system_contents(slug))

    def history_count(self, slug: str) -> int:
        """How many incidents name ``slug``."""
        return self.contents(slug).count

    def history_page(self, slug: str, page: int) -> list[Incident]:
        """Page ``page`` (from 1) of the incidents naming ``slug``, newest published first."""
        return self._read(self.history_marks(slug, page))

    def history_marks(self, slug: str, page: int) -> list[Marked]:
        """The keys and marks of page ``page`` (from 1) of the incidents naming ``slug``.

        Page 1 is read alone; a later one from the system's whole history, read once per
        archive version (a new incident on top shifts every page: all are rendered again)."""
        start = (page - 1) * HISTORY_PAGE
        if page <= 1:
            return self.holdings.marked_history(slug, start, HISTORY_PAGE)
        whole = _kept(
            self._histories, slug, self.serial, lambda: self.holdings.marked_history(slug, 0, -1)
        )
        return whole[start : start + HISTORY_PAGE]

    def read(self, marked: Sequence[Marked]) -> dict[str, Incident]:
        """The incidents ``marked`` names (those whose mark still holds), by key."""
        return {incident.key: incident for incident in self._read(marked)} if marked else {}

    def latest_change_of(self, slug: str, keys: Iterable[str]) -> datetime | None:
        """The latest change of the incidents ``keys`` naming ``slug`` (None: none stored)."""
        return self.holdings.latest_change_of(slug, keys)

    def history_position(self, slug: str, incident: Head | Incident) -> int:
        """Where ``incident`` stands (or would stand) in ``slug``'s history, 0 for the newest."""
        head = incident if isinstance(incident, Head) else head_of(incident)
        return self.holdings.history_place(slug, head)

    def figures(self, slug: str, now: datetime) -> Figures:
        """The strip, months and time to close of ``slug`` at ``now`` (kept while current)."""
        return self._figures.figures(slug, now, self.contents(slug))

    def figures_token(self, slug: str, now: datetime) -> FiguresToken:
        """What ``figures(slug, now)`` depends on, without making them."""
        return _kept(
            self._tokens,
            slug,
            (self.serial, now),
            lambda: self._figures.token(slug, now, self.contents(slug)),
        )

    def close_overall(self) -> CloseStats:
        """Time to close over every closed disruption (any system)."""
        return self._figures.close_overall()

    def made_figures(self) -> dict[str, tuple[str, Figures]]:
        """The figures made since the last call, by system, with their tokens: for the
        publisher to keep in the store (then a new process finds them)."""
        made, self._figures.made = self._figures.made, {}
        return made

    @property
    def latest(self) -> datetime:
        """The newest change of any incident (read once per archive version: every document
        a publish renders asks)."""

        def read() -> datetime:
            head = self.holdings.latest_head()
            return head.updated_at if head is not None else EPOCH

        return _kept(self._latest, "", self.serial, read)
