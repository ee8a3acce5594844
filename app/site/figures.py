"""Per system, the figures of its page (strip, months, time to close), kept for the archive. Pure.

``SystemFigures`` keeps, per system, the incidents by how far into time they reach (so figures
read only the last months) and the sorted times to close, and reuses the figures it made while
nothing they depend on changed. ``app.site.archive.Archive`` tells it every incident that comes or
goes; the figures themselves are computed by ``app.site.stats``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from app.model import Incident
from app.site.sorted_index import SortedDurations, SortedIncidents
from app.site.stats import (
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

_FOREVER = datetime.max.replace(tzinfo=UTC)  # how far an open incident reaches


def _by_reach(incident: Incident) -> tuple[datetime, str]:
    return (reach(incident) or _FOREVER, incident.key)


class SystemFigures:
    """Incidents by reach and times to close per system (and overall), and the figures made."""

    def __init__(self) -> None:
        self._reach: dict[str, SortedIncidents] = {}
        self._durations: dict[str | None, SortedDurations] = {None: SortedDurations()}
        self._figures: dict[str, tuple[int, datetime, Figures]] = {}

    def add(self, incident: Incident, systems: Iterable[str]) -> None:
        """Count ``incident`` in the ``systems`` it names (each once)."""
        duration = close_duration(incident)
        if duration is not None:
            self._durations[None].add(duration, incident.key)
        for system in systems:
            self._reach.setdefault(system, SortedIncidents(_by_reach)).add(incident)
            if duration is not None:
                self._durations.setdefault(system, SortedDurations()).add(duration, incident.key)

    def remove(self, incident: Incident, systems: Iterable[str]) -> None:
        """Stop counting ``incident`` in the ``systems`` it names (each once)."""
        duration = close_duration(incident)
        if duration is not None:
            self._durations[None].remove(duration, incident.key)
        for system in systems:
            if system in self._reach:
                self._reach[system].remove(incident)
            if duration is not None and system in self._durations:
                self._durations[system].remove(duration, incident.key)

    def figures(self, slug: str, now: datetime, version: int) -> Figures:
        """The strip, months and time to close of ``slug`` at ``now``.

        ``version`` is the archive's version of ``slug`` (``Archive.version``). Only incidents
        reaching into the months shown are read. The figures are kept per system and reused
        while no incident of it changed, the local day is the same and every incident of it
        ended before the figures were made (then time changes nothing).
        """
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
