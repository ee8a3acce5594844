"""Each system's state at one moment ("now"), decided from the incidents. Pure: no I/O, no clock.

The rules (INTERFACE.md, "Service windows, fallback and 'now'"):

- an incident is *open* while its status is not ``closed``; the incidents passed in are what
  the last poll knew, so ``closed_at`` is not compared with ``now``;
- ``disrupted``: an open disruption (``Kind.DISRUPTION``) names the system;
- ``maintenance``: a window naming the system is in progress (``start <= now < end``), not
  cancelled, its incident open; a window without a known end lasts until its incident closes;
- ``disrupted`` beats ``maintenance``; anything else is ``operational``;
- a window past its planned end whose incident is still open (not cancelled) is an
  *overrun* (INTERFACE.md, "Before, not after"): the state rules do not change, but the system
  says so, until the incident closes or ``OVERRUN_SHOWN`` after the planned end (upstream often
  announces an extension only after the end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.catalogue import Catalogue
from app.model import Incident, Kind, State, Status, Window

_RANK = {State.DISRUPTED: 0, State.MAINTENANCE: 1, State.OPERATIONAL: 2}
OVERRUN_SHOWN = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Overrun:
    """A window past its planned end, its incident still open: no completion reported."""

    key: str
    planned_end: datetime


@dataclass(frozen=True, slots=True)
class NextWindow:
    """The soonest window still to come for a system: its incident's key and its times (UTC)."""

    key: str
    start_at: datetime
    end_at: datetime | None


@dataclass(frozen=True, slots=True)
class SystemState:
    """One system's state at ``now``.

    ``until_at`` is when the maintenance ends: set only in the ``maintenance`` state, and None
    there when a window in progress has no known end (a disruption has no announced end, so a
    window's end under a disruption would read as the disruption's end). ``incidents`` are the
    keys of every open incident naming the system, sorted.
    """

    slug: str
    state: State
    until_at: datetime | None = None
    next_window: NextWindow | None = None
    fallback_allowed: bool = False
    incidents: tuple[str, ...] = ()
    overrun: Overrun | None = None


@dataclass(frozen=True, slots=True)
class Overall:
    """The worst state over all systems and which systems are in it (catalogue order)."""

    state: State
    systems: tuple[str, ...]


def is_open(incident: Incident) -> bool:
    """Whether the incident is open (its status is not closed)."""
    return incident.status is not Status.CLOSED


def window_in_progress(incident: Incident, now: datetime) -> bool:
    """Whether the incident's window is in progress at ``now`` (started, not ended or cancelled)."""
    window = incident.window
    if window is None or window.cancelled or not is_open(incident):
        return False
    return window.start_at <= now and (window.end_at is None or now < window.end_at)


def window_to_come(incident: Incident, now: datetime) -> bool:
    """Whether the incident's window is still to come at ``now`` (not cancelled, incident open)."""
    window = incident.window
    return (
        window is not None and not window.cancelled and is_open(incident) and window.start_at > now
    )


def overrun_of(incident: Incident, now: datetime) -> Overrun | None:
    """The incident's window as an overrun at ``now``: past its planned end (less than
    ``OVERRUN_SHOWN`` ago), not cancelled, its incident open; else None."""
    window = incident.window
    if window is None or window.cancelled or window.end_at is None or not is_open(incident):
        return None
    if not window.end_at <= now < window.end_at + OVERRUN_SHOWN:
        return None
    return Overrun(incident.key, window.end_at)


def _next_key(incident: Incident) -> tuple[datetime, bool, datetime, str]:
    window = incident.window
    assert window is not None  # only windows still to come are ranked
    end = window.end_at or window.start_at
    return (window.start_at, window.end_at is None, end, incident.key)


def _state_of(slug: str, named: list[Incident], now: datetime) -> SystemState:
    open_ones = [i for i in named if is_open(i)]
    running = [w for i in named if window_in_progress(i, now) and (w := i.window) is not None]
    coming = sorted((i for i in named if window_to_come(i, now)), key=_next_key)
    if any(i.kind is Kind.DISRUPTION for i in open_ones):
        state, until_at = State.DISRUPTED, None
    elif running:
        state, until_at = State.MAINTENANCE, _until(running)
    else:
        state, until_at = State.OPERATIONAL, None
    overrun = max(  # the latest planned end
        (o for i in named if (o := overrun_of(i, now)) is not None),
        key=lambda o: (o.planned_end, o.key),
        default=None,
    )
    next_window = None
    if coming and coming[0].window is not None:
        first = coming[0].window
        next_window = NextWindow(coming[0].key, first.start_at, first.end_at)
    return SystemState(
        slug=slug,
        state=state,
        until_at=until_at,
        next_window=next_window,
        fallback_allowed=any(i.fallback is not None and i.fallback.allowed for i in open_ones),
        incidents=tuple(sorted(i.key for i in open_ones)),
        overrun=overrun,
    )


def _until(running: list[Window]) -> datetime | None:
    # Overlapping windows keep the system in maintenance until the last one ends; one open end
    # makes the end unknown.
    ends = [w.end_at for w in running if w.end_at is not None]
    return max(ends) if len(ends) == len(running) else None


def system_states(
    incidents: Iterable[Incident], catalogue: Catalogue, now: datetime
) -> dict[str, SystemState]:
    """Every catalogue system's state at ``now``, in catalogue order."""
    named: dict[str, list[Incident]] = {slug: [] for slug in catalogue.slugs}
    for incident in incidents:
        for slug in incident.systems:
            if slug in named:
                named[slug].append(incident)
    return {slug: _state_of(slug, found, now) for slug, found in named.items()}


def overall_state(states: Mapping[str, SystemState]) -> Overall:
    """The worst state of ``states`` and the systems in it (in the mapping's order)."""
    if not states:
        return Overall(State.OPERATIONAL, ())
    worst = min((s.state for s in states.values()), key=_RANK.__getitem__)
    return Overall(worst, tuple(slug for slug, s in states.items() if s.state is worst))
