"""The incidents in memory, indexed for publishing. Pure (no I/O).

``Archive`` holds the incidents newest change first, with a per-system index, and hands each
feed its members without scanning the whole archive; per system it also keeps the history in
publication order (for paging) and, in ``app.site.figures``, what the figures need (the
incidents by how far into time they reach, so figures read only the last months, and the
sorted times to close), so a system page costs the same with 100 or 10,000 archived. Every
index is a sorted list kept with ``bisect`` per changed incident (``app.site.sorted_index``).
``derived_documents`` and ``derived_changes`` say which incident and history pages exist and
which a change affects.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime

from app.catalogue import Catalogue
from app.model import Incident, Kind, Status
from app.site.documents import HISTORY_PAGE, Doc, Feed, IncidentsApi, Scope
from app.site.figures import SystemFigures
from app.site.sets import history_documents, history_pages, incident_documents
from app.site.sorted_index import SortedIncidents
from app.site.stats import CloseStats, Figures
from app.site.system_state import SystemState, system_states

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_VERSIONS = itertools.count(1)  # shared by every Archive, so a version never repeats


def _order(incident: Incident) -> tuple[datetime, str]:
    return (incident.updated_at, incident.key)


def _by_start(incident: Incident) -> tuple[datetime, str]:
    return (incident.window.start_at if incident.window else _EPOCH, incident.key)


def _by_publication(incident: Incident) -> tuple[datetime, str]:
    return (incident.published_at, incident.key)


def _fingerprint(incident: Incident) -> int:
    """64 bits that change with every version of an incident (its ``updated`` moves with every
    real change), the same in every process."""
    text = f"{incident.key}\0{incident.updated_at.isoformat()}\0{incident.status}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Archive:
    """Every incident in memory, newest change first, indexed by key, system, openness, window.

    The indexes are updated per changed incident, so a poll that changed one incident costs
    the same with 100 or 10,000 archived.
    """

    def __init__(self, incidents: Iterable[Incident] = ()) -> None:
        self.by_key: dict[str, Incident] = {}
        self._all = SortedIncidents(_order)
        self._systems: dict[str, SortedIncidents] = {}
        self._open: dict[str, Incident] = {}
        self._statuses: dict[Status, SortedIncidents] = {
            status: SortedIncidents(_order) for status in Status
        }
        self._windows = SortedIncidents(_by_start)
        self._history: dict[str, SortedIncidents] = {}  # per system, publication order
        self._figures = SystemFigures()  # per system: reach, times to close, figures made
        self._versions: dict[str, int] = {}
        # per system, the XOR of its incidents' fingerprints: the same set of versions gives
        # the same number in any process, kept per change in O(1)
        self._contents: dict[str, int] = {}
        self._version = 0  # changes with every incident that comes, changes or goes
        self._states: tuple[tuple[int, datetime, int], dict[str, SystemState]] | None = None
        loaded = sorted(incidents, key=_order)
        for incident in loaded:  # appending in order: each insert lands at the end
            self._add(incident)

    def _systems_of(self, incident: Incident) -> dict[str, None]:
        return dict.fromkeys(incident.systems)  # a system named twice counts once

    def _add(self, incident: Incident) -> None:
        self._version = next(_VERSIONS)
        self.by_key[incident.key] = incident
        self._all.add(incident)
        systems = self._systems_of(incident)
        self._figures.add(incident, systems)
        mark = _fingerprint(incident)
        for system in systems:
            self._systems.setdefault(system, SortedIncidents(_order)).add(incident)
            self._history.setdefault(system, SortedIncidents(_by_publication)).add(incident)
            self._versions[system] = next(_VERSIONS)
            self._contents[system] = self._contents.get(system, 0) ^ mark
        if incident.status is not Status.CLOSED:
            self._open[incident.key] = incident
        self._statuses[incident.status].add(incident)
        if incident.window is not None:
            self._windows.add(incident)

    def _remove(self, incident: Incident) -> None:
        self._version = next(_VERSIONS)
        self.by_key.pop(incident.key, None)
        self._all.remove(incident)
        systems = self._systems_of(incident)
        self._figures.remove(incident, systems)
        mark = _fingerprint(incident)
        for system in systems:
            if system in self._systems:
                self._systems[system].remove(incident)
                self._history[system].remove(incident)
                self._contents[system] = self._contents.get(system, 0) ^ mark
            self._versions[system] = next(_VERSIONS)
        self._open.pop(incident.key, None)
        self._statuses[incident.status].remove(incident)
        if incident.window is not None:
            self._windows.remove(incident)

    @property
    def serial(self) -> int:
        """A number that changes whenever any incident comes, changes or goes (never reused,
        by any archive of the process)."""
        return self._version

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

    def windows(self, limit: int, system: str = "", kind: Kind | None = None) -> list[Incident]:
        """The ``limit`` incidents with the latest-starting windows (naming ``system``, of
        ``kind``, if given): what a calendar shows, bounded."""
        found = (
            i
            for i in self._windows.newest()
            if (not system or system in i.systems) and (kind is None or i.kind is kind)
        )
        return list(itertools.islice(found, limit))

    def latest_of_kind(self, kind: Kind, limit: int) -> list[Incident]:
        """The ``limit`` incidents of ``kind`` changed last."""
        return list(itertools.islice((i for i in self._all.newest() if i.kind is kind), limit))

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
            pool = self._systems.get(system, SortedIncidents(_order))
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

    def contents(self, slug: str) -> int:
        """A number for the versions of the incidents naming ``slug``: equal in any process
        for the same incidents (``version`` is per process)."""
        return self._contents.get(slug, 0)

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
        """The strip, months and time to close of ``slug`` at ``now`` (kept while current)."""
        return self._figures.figures(slug, now, self.version(slug))

    def close_overall(self) -> CloseStats:
        """Time to close over every closed disruption (any system)."""
        return self._figures.close_overall()

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
        if old != new:
            first = 1  # every page's pager says how many pages there are
        render += history_documents(slug, range(max(first, 2), min(last, new) + 1))
        delete += history_documents(slug, range(new + 1, old + 1))
    return render, delete
