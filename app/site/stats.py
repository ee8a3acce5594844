"""A system's history as figures: a strip of days, months, time to close. Pure: no I/O, no clock.

The rules (INTERFACE.md, "History and statistics"):

- days and months are Europe/Copenhagen local ones, so a day is 23 or 25 hours long when the
  clocks change and a month starts at local midnight;
- a disruption (``Kind.DISRUPTION``) lasts from ``published_at`` to ``closed_at``; one still
  open (or closed at an unknown time, read as ``updated_at``) lasts up to ``now``;
- a service window lasts from its start to its end; one without a known end lasts until its
  incident closes (or up to ``now`` while open); a cancelled window is no window at all;
- the figures describe the past: every interval is cut at ``now``, so a window still to come
  counts nowhere yet;
- an interval touches a day or month when it overlaps it; one of zero length (closed the
  moment it was published) touches the day or month it happened in, but adds no hours;
- hours are the length of the union of the intervals, so overlapping disruptions count once.

Time to close uses the nearest-rank percentile: the p-th percentile of n sorted durations is
the one at rank ``ceil(p / 100 * n)``. Every figure is then a duration some disruption really
took, and "90 % were closed within the 90th percentile" holds exactly.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from app.model import (
    CloseStats,
    DayCell,
    Head,
    Incident,
    Kind,
    MonthStats,
    State,
    Status,
    close_duration,
)
from app.upstream.dates import local_to_utc, to_local

Dated = Incident | Head  # what the figures read of an incident: its head is enough
_Interval = tuple[datetime, datetime, str]  # start, end (UTC, start <= end), incident key


def _disruption_end(incident: Dated, now: datetime) -> datetime:
    if incident.status is not Status.CLOSED:
        return now
    return incident.closed_at or incident.updated_at


def _disruptions(incidents: Iterable[Dated], now: datetime) -> list[_Interval]:
    # (start, end, key) of every disruption, cut at now; one published after now is left out
    found: list[_Interval] = []
    for incident in incidents:
        if incident.kind is not Kind.DISRUPTION or incident.published_at > now:
            continue
        start = incident.published_at
        end = min(max(_disruption_end(incident, now), start), now)
        found.append((start, end, incident.key))
    return found


def _windows(incidents: Iterable[Dated], now: datetime) -> list[_Interval]:
    # (start, end, key) of every window not cancelled, cut at now; windows to come are left out
    found: list[_Interval] = []
    for incident in incidents:
        window = incident.window
        if window is None or window.cancelled or window.start_at > now:
            continue
        end = window.end_at or _disruption_end(incident, now)
        found.append((window.start_at, min(max(end, window.start_at), now), incident.key))
    return found


def _naming(incidents: Iterable[Dated], slug: str | None) -> list[Dated]:
    return [i for i in incidents if slug is None or slug in i.systems]


@lru_cache(maxsize=4096)
def _midnight(day: date) -> datetime:
    # every poll asks for the same 100-odd days: the time zone rules are worked out once
    return local_to_utc(datetime.combine(day, time()))


def _bounds(firsts: Sequence[date], after: date) -> list[datetime]:
    """The UTC instants of local midnight on each of ``firsts`` and on ``after``."""
    return [_midnight(d) for d in (*firsts, after)]


def _touched(start: datetime, end: datetime, bounds: Sequence[datetime]) -> range:
    """The indexes of the buckets ``[bounds[i], bounds[i + 1])`` that an interval touches."""
    count = len(bounds) - 1
    first = bisect_right(bounds, start) - 1
    if first >= count:
        return range(0)
    if first < 0:
        if end <= bounds[0]:
            return range(0)
        first = 0
    last = min(max(bisect_left(bounds, end) - 1, first), count - 1)
    return range(first, last + 1)


def _union(intervals: Iterable[_Interval]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end, _key in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _spread(
    intervals: Iterable[_Interval], bounds: Sequence[datetime]
) -> tuple[list[int], list[timedelta]]:
    """Per bucket: how many intervals touch it, and the length of their union within it."""
    listed = list(intervals)
    counts = [0] * (len(bounds) - 1)
    lengths = [timedelta(0)] * (len(bounds) - 1)
    for start, end, _key in listed:
        for index in _touched(start, end, bounds):
            counts[index] += 1
    for start, end in _union(listed):
        for index in _touched(start, end, bounds):
            lengths[index] += min(end, bounds[index + 1]) - max(start, bounds[index])
    return counts, lengths


@lru_cache(maxsize=1024)
def _quiet(day: date) -> DayCell:
    # most of a strip's days touch nothing: one cell each, shared by every system's strip
    return DayCell(day, State.OPERATIONAL)


def daily_strip(
    incidents: Iterable[Dated], slug: str, now: datetime, days: int = 90
) -> list[DayCell]:
    """The last ``days`` local days for ``slug``, oldest first and ending today."""
    today = to_local(now).date()
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    bounds = _bounds(dates, today + timedelta(days=1))
    named = _naming(incidents, slug)
    touched: dict[int, tuple[set[str], set[str]]] = {}  # by day: disruptions, windows
    for which, intervals in ((0, _disruptions(named, now)), (1, _windows(named, now))):
        for start, end, key in intervals:
            for index in _touched(start, end, bounds):
                touched.setdefault(index, (set(), set()))[which].add(key)
    cells: list[DayCell] = []
    for index, day in enumerate(dates):
        if index not in touched:
            cells.append(_quiet(day))
            continue
        down, planned = touched[index]
        state = State.DISRUPTED if down else State.MAINTENANCE if planned else State.OPERATIONAL
        cells.append(DayCell(day, state, tuple(sorted(down | planned))))
    return cells


def history_start(now: datetime, months: int = 12, days: int = 90) -> datetime:
    """The earliest instant the strip (``days``) or the months (``months``) at ``now`` cover.

    An incident whose every interval ends before it touches no figure but time to close.
    """
    firsts, _after = _month_firsts(now, months)
    first_day = min(firsts[0], to_local(now).date() - timedelta(days=days - 1))
    return _midnight(first_day)


def _month_firsts(now: datetime, months: int) -> tuple[list[date], date]:
    local = to_local(now)
    index = local.year * 12 + local.month - 1  # months since year 0, so stepping back is easy
    firsts = [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]
    return firsts, date((index + 1) // 12, (index + 1) % 12 + 1, 1)


def monthly_stats(
    incidents: Iterable[Dated], slug: str, now: datetime, months: int = 12
) -> list[MonthStats]:
    """The last ``months`` local months for ``slug``, oldest first and ending with this month."""
    firsts, after = _month_firsts(now, months)
    bounds = _bounds(firsts, after)
    named = _naming(incidents, slug)
    disruptions, disrupted = _spread(_disruptions(named, now), bounds)
    windows, in_windows = _spread(_windows(named, now), bounds)
    return [
        MonthStats(
            month=first,
            start_at=bounds[index],
            end_at=bounds[index + 1],
            disruptions=disruptions[index],
            disrupted=disrupted[index],
            windows=windows[index],
            in_windows=in_windows[index],
        )
        for index, first in enumerate(firsts)
    ]


def _nearest_rank(ordered: Sequence[timedelta], p: float) -> timedelta:
    # the p-th percentile (0 < p <= 100) of sorted, non-empty durations
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def close_stats(ordered: Sequence[timedelta]) -> CloseStats:
    """Median and 90th percentile of durations already sorted, shortest first (O(1))."""
    if not ordered:
        return CloseStats(0)
    return CloseStats(len(ordered), _nearest_rank(ordered, 50), _nearest_rank(ordered, 90))


def time_to_close(incidents: Iterable[Dated], slug: str | None) -> CloseStats:
    """Time to close of the closed disruptions naming ``slug`` (every system when None)."""
    durations = sorted(d for i in _naming(incidents, slug) if (d := close_duration(i)) is not None)
    return close_stats(durations)
