"""The incidents in memory, indexed for publishing. Pure (no I/O).

``Archive`` holds the incidents newest change first, with a per-system index, and hands each
feed its members without scanning the whole archive; per system it also keeps the history in
publication order (for paging), the incidents by how far into time they reach (so figures read
only the last months) and the sorted times to close, so a system page costs the same with 100
or 10,000 archived. Every index is a sorted list kept with ``bisect`` per changed incident.
``derived_documents`` and ``derived_changes`` say which incident and history pages exist and
which a change affects.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from app.catalogue import Catalogue
from app.documents import (
    HISTORY_PAGE,
    Doc,
    Feed,
    IncidentsApi,
    Scope,
    history_documents,
    history_pages,
    incident_documents,
)
from app.model import Incident, Status
from app.state import SystemState, system_states
from app.stats import (
    CloseStats,
    Figures,
    close_duration,
    close_stats,
    daily_strip,
    history_start,
    monthly_stats,
    reach,
)
from app.upstream.dates import to_local

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FOREVER = datetime.max.replace(tzinfo=UTC)  # how far an open incident reaches
_VERSIONS = itertools.count(1)  # shared by every Archive, so a version never repeats


def _order(incident: Incident) -> tuple[datetime, str]:
    return (incident.updated_at, incident.key)


def _by_start(incident: Incident) -> tuple[datetime, str]:
    return (incident.window.start_at if incident.window else _EPOCH, incident.key)


def _by_publication(incident: Incident) -> tuple[datetime, str]:
    return (incident.published_at, incident.key)


def _by_reach(incident: Incident) -> tuple[datetime, str]:
    return (reach(incident) or _FOREVER, incident.key)


class _Sorted:
    """Incidents kept sorted by a key as they come and go (bisect: no re-sort per change)."""

    def __init__(self, order: Callable[[Incident], tuple[Any, str]]) -> None:
        self.order = order
        self._keys: list[tuple[Any, str]] = []
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

    def newer_than(self, incident: Incident) -> int:
        """How many items sort after ``incident`` (its place counted from the largest key)."""
        return len(self._keys) - bisect.bisect_right(self._keys, self.order(incident))

    def from_largest(self, start: int, stop: int) -> list[Incident]:
        """Items ``start`` to ``stop`` (exclusive) counted from the largest key."""
        count = len(self._items)
        return self._items[max(0, count - stop) : max(0, count - start)][::-1]

    def at_least(self, key: tuple[Any, str]) -> list[Incident]:
        """Items whose key is ``key`` or larger, smallest first."""
        return self._items[bisect.bisect_left(self._keys, key) :]

    def largest_key(self) -> tuple[Any, str] | None:
        """The largest key, None when empty."""
        return self._keys[-1] if self._keys else None

    def __len__(self) -> int:
        return len(self._items)


class _Durations:
    """Times to close kept sorted (bisect), with the bare durations for O(1) percentiles."""

    def __init__(self) -> None:
        self._keys: list[tuple[timedelta, str]] = []
        self.values: list[timedelta] = []

    def add(self, duration: timedelta, key: str) -> None:
        at = bisect.bisect_left(self._keys, (duration, key))
        self._keys.insert(at, (duration, key))
        self.values.insert(at, duration)

    def remove(self, duration: timedelta, key: str) -> None:
        at = bisect.bisect_left(self._keys, (duration, key))
        if at < len(self._keys) and self._keys[at] == (duration, key):
            del self._keys[at]
            del self.values[at]


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
        # per system: publication order (history pages), reach (figures), times to close
        self._history: dict[str, _Sorted] = {}
        self._reach: dict[str, _Sorted] = {}
        self._durations: dict[str | None, _Durations] = {None: _Durations()}
        self._versions: dict[str, int] = {}
        self._figures: dict[str, tuple[int, datetime, Figures]] = {}
        self._version = 0  # changes with every incident that comes, changes or goes
        self._states: tuple[tuple[int, datetime, int], dict[str, SystemState]] | None = None
        loaded = sorted(incidents, key=_order)
        for incident in loaded:  # appending in order: each insert lands at the end
            self._add(incident)

    def _systems_of(self, incident: Incident) -> Iterable[str]:
        return dict.fromkeys(incident.systems)  # a system named twice counts once

    def _add(self, incident: Incident) -> None:
        self._version = next(_VERSIONS)
        self.by_key[incident.key] = incident
        self._all.add(incident)
        duration = close_duration(incident)
        if duration is not None:
            self._durations[None].add(duration, incident.key)
        for system in self._systems_of(incident):
            self._systems.setdefault(system, _Sorted(_order)).add(incident)
            self._history.setdefault(system, _Sorted(_by_publication)).add(incident)
            self._reach.setdefault(system, _Sorted(_by_reach)).add(incident)
            if duration is not None:
                self._durations.setdefault(system, _Durations()).add(duration, incident.key)
            self._versions[system] = next(_VERSIONS)
        if incident.status is not Status.CLOSED:
            self._open[incident.key] = incident
        self._statuses[incident.status].add(incident)
        if incident.window is not None:
            self._windows.add(incident)

    def _remove(self, incident: Incident) -> None:
        self._version = next(_VERSIONS)
        self.by_key.pop(incident.key, None)
        self._all.remove(incident)
        duration = close_duration(incident)
        if duration is not None:
            self._durations[None].remove(duration, incident.key)
        for system in self._systems_of(incident):
            if system in self._systems:
                self._systems[system].remove(incident)
                self._history[system].remove(incident)
                self._reach[system].remove(incident)
            if duration is not None and system in self._durations:
                self._durations[system].remove(duration, incident.key)
            self._versions[system] = next(_VERSIONS)
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
        """Every catalogue system's state at ``now`` (worked out once per archive version and
        moment: a publish asks for it once per page, embed and badge)."""
        key = (self._version, now, id(catalogue))
        if self._states is not None and self._states[0] == key:
            return self._states[1]
        states = system_states(self.open_incidents(), catalogue, now)
        self._states = (key, states)
        return states

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

    def latest_closed(self, count: int) -> list[Incident]:
        """The ``count`` closed incidents changed last."""
        return list(itertools.islice(self._statuses[Status.CLOSED].newest(), count))

    # a system's history ------------------------------------------------------------------

    def version(self, slug: str) -> int:
        """A number that changes whenever an incident naming ``slug`` comes, changes or goes."""
        return self._versions.get(slug, 0)

    def history_count(self, slug: str) -> int:
        """How many incidents name ``slug``."""
        found = self._history.get(slug)
        return len(found) if found is not None else 0

    def history_page(self, slug: str, page: int) -> list[Incident]:
        """Page ``page`` (from 1) of the incidents naming ``slug``, newest published first."""
        found = self._history.get(slug)
        if found is None:
            return []
        return found.from_largest((page - 1) * HISTORY_PAGE, page * HISTORY_PAGE)

    def history_position(self, slug: str, incident: Incident) -> int:
        """Where ``incident`` stands (or would stand) in ``slug``'s history, 0 for the newest."""
        found = self._history.get(slug)
        return found.newer_than(incident) if found is not None else 0

    def figures(self, slug: str, now: datetime) -> Figures:
        """The strip, months and time to close of ``slug`` at ``now``.

        Only incidents reaching into the months shown are read. The figures are kept per
        system and reused while no incident of it changed, the local day is the same and
        every incident of it ended before the figures were made (then time changes nothing).
        """
        version = self.version(slug)
        kept = self._figures.get(slug)
        if kept is not None and kept[0] == version:
            made_at, figures = kept[1], kept[2]
            if made_at == now:
                return figures
            latest = self._reach[slug].largest_key() if slug in self._reach else None
            if (
                made_at < now
                and to_local(made_at).date() == to_local(now).date()
                and (latest is None or latest[0] <= made_at)
            ):
                return figures
        found = self._reach.get(slug)
        recent = found.at_least((history_start(now), "")) if found is not None else []
        durations = self._durations.get(slug)
        figures = Figures(
            tuple(daily_strip(recent, slug, now)),
            tuple(monthly_stats(recent, slug, now)),
            close_stats(durations.values if durations is not None else []),
        )
        self._figures[slug] = (version, now, figures)
        return figures

    def close_overall(self) -> CloseStats:
        """Time to close over every closed disruption (any system)."""
        return close_stats(self._durations[None].values)

    @property
    def latest(self) -> datetime:
        """The newest change of any incident."""
        return next((i.updated_at for i in self._all.newest()), _EPOCH)


def derived_documents(archive: Archive, slugs: Iterable[str]) -> list[Doc]:
    """Every derived document the archive makes exist: incident pages, later history pages.

    Incident pages come first: the history pages link to them.
    """
    docs: list[Doc] = []
    for incident in archive.newest_first():
        docs += incident_documents(incident.key)
    for slug in slugs:
        pages = history_pages(archive.history_count(slug))
        docs += history_documents(slug, range(pages, 1, -1))
    return docs


def history_counts(archive: Archive, incidents: Iterable[Incident]) -> dict[str, int]:
    """How many incidents each system named by ``incidents`` has (taken before a change)."""
    return {slug: archive.history_count(slug) for i in incidents for slug in i.systems}


def derived_changes(
    archive: Archive, before: dict[str, int], touched: Iterable[Incident]
) -> tuple[list[Doc], list[Doc]]:
    """(to render, to delete): the derived documents a change can affect, after it is applied.

    ``touched`` are the old and new versions of the changed incidents, ``before`` the history
    counts taken before the change (``history_counts``). An incident's own pages are rendered
    (or deleted when it is gone); in each system it names, the history pages from where its
    versions stand are rendered: only those pages when the system's count is unchanged, up to
    the last page when incidents came or went (everything after shifts by one). Pages past the
    new end are deleted. Page 1 is canonical and chosen by ``shows``.
    """
    render: list[Doc] = []
    delete: list[Doc] = []
    places: dict[str, list[int]] = {}
    seen: set[str] = set()
    for incident in touched:
        if incident.key not in seen:
            seen.add(incident.key)
            docs = incident_documents(incident.key)
            (render if incident.key in archive.by_key else delete).extend(docs)
        for slug in incident.systems:
            places.setdefault(slug, []).append(archive.history_position(slug, incident))
    for slug, positions in places.items():
        old = history_pages(before.get(slug, 0))
        new = history_pages(archive.history_count(slug))
        first = min(positions) // HISTORY_PAGE + 1
        last = max(positions) // HISTORY_PAGE + 1
        if before.get(slug, 0) != archive.history_count(slug):
            last = max(old, new)
        render += history_documents(slug, range(max(first, 2), min(last, new) + 1))
        delete += history_documents(slug, range(new + 1, old + 1))
    return render, delete
