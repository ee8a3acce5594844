"""A system's figures as records: its state, the days of its strip, its months and how long
its disruptions stayed open. Frozen, slotted, no I/O (``app.site.figures`` works them out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    """A system's state, worst first."""

    DISRUPTED = "disrupted"
    MAINTENANCE = "maintenance"
    OPERATIONAL = "operational"


@dataclass(frozen=True, slots=True)
class DayCell:
    """One local day of a system's strip: its worst state and the incidents that touched it.

    ``keys`` are the keys of the disruptions and windows that touched the day, sorted.
    """

    day: date
    state: State
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MonthStats:
    """One local month of a system's history.

    ``month`` is the month's first day; ``start_at`` and ``end_at`` are its local midnights in
    UTC (the month is cut at ``now`` for the durations). ``disruptions`` and ``windows`` count
    the intervals overlapping the month; ``disrupted`` and ``in_windows`` are the lengths of
    their unions within it.
    """

    month: date
    start_at: datetime
    end_at: datetime
    disruptions: int = 0
    disrupted: timedelta = timedelta(0)
    windows: int = 0
    in_windows: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class CloseStats:
    """How long closed disruptions stayed open (``closed_at - published_at``).

    ``median`` and ``p90`` are nearest-rank percentiles; both are None when ``count`` is 0.
    """

    count: int
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """A system's page figures at one moment: the 90-day strip, 12 months, time to close."""

    strip: tuple[DayCell, ...]
    months: tuple[MonthStats, ...]
    close: CloseStats
