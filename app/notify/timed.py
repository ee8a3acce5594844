"""Which reminders and window events are due at a moment. Pure: the clock is a parameter.

For every service window with a known start, not cancelled, its incident open (INTERFACE.md,
"Before, not after"):

- a reminder per lead ``L`` is due from ``start - L`` until the start (never after it), unless
  toldfeed first knew that start only after ``start - L`` (the announcement was the news);
- ``started`` is due from the start until the planned end (none for a start first known after
  it);
- ``not reported complete`` (overrun) is due from ``end + grace`` for ``OVERRUN_SHOWN`` while
  the incident is open, for the end as it stands (an extension is a new end, with a moment of
  its own; none for an end first known after that moment).

Each moment's id names the start (or end) it is about, so a moved window gets the moments of
its new times and nothing is repeated for the old ones. ``learn`` says which windows toldfeed
knows now that it did not know before (``WindowKnown``); ``Schedule`` holds every moment
sorted, so a pass that finds nothing due costs a bisection.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.model import Incident, Status
from app.notify.recipients import Recipient
from app.render.entry import entry_id
from app.site.system_state import OVERRUN_SHOWN
from app.store.records import Notification, Timing, WindowKnown

REMINDER, STARTED, OVERRUN, DIGEST = "window.reminder", "window.started", "window.overrun", "digest"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def reminder_id(incident: Incident, lead_seconds: int, start: datetime) -> str:
    """``<entry id>#remind-<L in seconds>@<start>``."""
    return f"{entry_id(incident)}#remind-{lead_seconds}@{_utc(start)}"


def started_id(incident: Incident, start: datetime) -> str:
    """``<entry id>#started@<start>``."""
    return f"{entry_id(incident)}#started@{_utc(start)}"


def overrun_id(incident: Incident, end: datetime) -> str:
    """``<entry id>#overrun@<end>``."""
    return f"{entry_id(incident)}#overrun@{_utc(end)}"


def digest_id(target: str, day: date) -> str:
    """``digest:<target>:<YYYY-MM-DD>`` (the Danish local day)."""
    return f"digest:{target}:{day.isoformat()}"


def tellable(incident: Incident) -> bool:
    """Whether the incident's window can still be told of: a start, not cancelled, open."""
    window = incident.window
    return window is not None and not window.cancelled and incident.status is not Status.CLOSED


def outdated(note: Notification, now: Incident | None) -> str:
    """Why a queued reminder or window event ``note`` is no longer true of its window as the
    store holds it ``now`` (cancelled, closed, gone, or moved since: its id names the old
    times), or ""."""
    told = note.incident.window if note.incident is not None else None
    if note.timing is None or told is None or note.event not in {REMINDER, STARTED, OVERRUN}:
        return ""
    if now is None or now.window is None or not tellable(now):
        return "no longer true: the window was cancelled or closed"
    moved = now.window.end_at != told.end_at if note.event == OVERRUN else None
    if moved or (moved is None and now.window.start_at != told.start_at):
        return "no longer true: the window was moved"
    return ""


def learn(
    incidents: Iterable[Incident], known: Mapping[str, WindowKnown], now: datetime
) -> tuple[dict[str, WindowKnown], list[str]]:
    """(the records of windows whose start or end toldfeed knows from ``now`` on, the keys
    whose records are no longer needed: closed, cancelled, gone)."""
    fresh: dict[str, WindowKnown] = {}
    seen: set[str] = set()
    for incident in incidents:
        window = incident.window
        if window is None or not tellable(incident):
            continue
        seen.add(incident.key)
        old = known.get(incident.key)
        if old is not None and (old.start_at, old.end_at) == (window.start_at, window.end_at):
            continue
        same_start = old is not None and old.start_at == window.start_at
        same_end = old is not None and old.end_at == window.end_at
        fresh[incident.key] = WindowKnown(
            window.start_at,
            old.start_known_at if old is not None and same_start else now,
            window.end_at,
            old.end_known_at if old is not None and same_end else now,
        )
    return fresh, sorted(set(known) - seen)


@dataclass(frozen=True, slots=True)
class Moment:
    """One reminder or window event of one window, the same for every recipient: due from
    ``at``, too late from ``until``. Its id is made only when it is due."""

    at: datetime
    until: datetime
    event: str
    incident: Incident
    lead_seconds: int | None = None

    @property
    def id(self) -> str:
        """The notification id, naming the start (or end) the moment is about."""
        window = self.incident.window
        assert window is not None
        if self.event == REMINDER:
            assert self.lead_seconds is not None
            return reminder_id(self.incident, self.lead_seconds, window.start_at)
        if self.event == STARTED:
            return started_id(self.incident, window.start_at)
        return overrun_id(self.incident, window.end_at or window.start_at)

    def chosen_by(self, recipient: Recipient) -> bool:
        """Whether ``recipient`` asked for this moment."""
        if recipient.digest_only or not recipient.names_any(self.incident.systems):
            return False
        if self.event == REMINDER:
            return self.lead_seconds in recipient.leads
        return recipient.window_events


def _moments(
    incident: Incident, known: WindowKnown, leads: Iterable[int], grace: timedelta
) -> list[Moment]:
    window = incident.window
    assert window is not None
    start, end = window.start_at, window.end_at
    found = [
        Moment(at, start, REMINDER, incident, lead)
        for lead in leads
        if known.start_known_at <= (at := start - timedelta(seconds=lead))
    ]
    if known.start_known_at <= start:
        until = end if end is not None and end > start else start + OVERRUN_SHOWN
        found.append(Moment(start, until, STARTED, incident))
    if end is not None and known.end_known_at <= (at := end + grace):
        found.append(Moment(at, at + OVERRUN_SHOWN, OVERRUN, incident))
    return found


def _order(moment: Moment) -> tuple[datetime, str, str, int]:
    return (moment.at, moment.incident.key, moment.event, moment.lead_seconds or 0)


class Schedule:
    """Every moment of the windows, sorted by when it is due; ``unknown`` counts the windows
    left out because their times were not recorded as known (yet)."""

    def __init__(self, moments: Iterable[Moment], unknown: int = 0) -> None:
        self.moments = sorted(moments, key=_order)
        self.unknown = unknown
        self._ats = [m.at for m in self.moments]
        self._longest = max((m.until - m.at for m in self.moments), default=timedelta(0))

    def due(self, now: datetime) -> list[Moment]:
        """The moments due at ``now``: ``at <= now < until``."""
        low = bisect.bisect_right(self._ats, now - self._longest)
        high = bisect.bisect_right(self._ats, now)
        return [m for m in self.moments[low:high] if now < m.until]

    def __len__(self) -> int:
        return len(self.moments)


def plan(
    incidents: Iterable[Incident],
    known: Mapping[str, WindowKnown],
    leads: Iterable[int],
    grace: timedelta,
) -> Schedule:
    """The schedule of the tellable windows among ``incidents`` whose times ``known`` has
    (``learn`` first: a window not yet known has no moments)."""
    leads = sorted(set(leads))
    moments: list[Moment] = []
    unknown = 0
    for incident in incidents:
        window = incident.window
        if window is None or not tellable(incident):
            continue
        record = known.get(incident.key)
        if record is None or (record.start_at, record.end_at) != (window.start_at, window.end_at):
            unknown += 1
            continue
        moments += _moments(incident, record, leads, grace)
    return Schedule(moments, unknown)


def due_notifications(
    schedule: Schedule,
    now: datetime,
    recipients: Sequence[Recipient],
    told: Callable[[str, str], bool],
) -> list[Notification]:
    """One notification per due moment and recipient that chose it, unless ``told(name, id)``
    (already queued)."""
    notes = []
    for moment in schedule.due(now):
        chosen = [r for r in recipients if moment.chosen_by(r)]
        if not chosen:
            continue
        id_, incident = moment.id, moment.incident
        timing = Timing(moment.at, moment.until, moment.lead_seconds)
        notes += [
            Notification(id_, r.name, moment.event, incident, now, timing=timing)
            for r in chosen
            if not told(r.name, id_)
        ]
    return notes
