"""Up to when time alone leaves what a page shows as it is (pure: no I/O, no clock).

A stored document keeps the digest of its inputs (``app.render.inputs``) and, beside it, a
moment up to which that digest holds while the store and the page context (but the poll's time)
stay as they are: its *horizon*, never later than the first moment time could change it (an
earlier one only costs working the digest out again). A poll that
finds the store as the last publish left it, before a document's horizon, knows the digest
without working it out (``app.publish.publisher``). Time enters the pages in four ways, and each
has its next moment here:

- a system's state, a window's place (in progress, to come, past) and an overrun change only
  when an open incident's window (not cancelled) starts, ends, or passed its end
  ``OVERRUN_SHOWN`` ago;
- a Statuspage maintenance that is over says when it ended: its planned end once that passed;
- dates in words change with the local day (Danish time);
- a system's figures change at their token's next moment (``app.site.figures``: the start of
  a disruption or window to come, closed or not); while an interval is under way they move
  with every moment, and the horizon is ``now`` itself (the digest is worked out at every
  poll).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from app.model import Incident
from app.site.figures import FiguresToken
from app.site.system_state import OVERRUN_SHOWN, is_open
from app.upstream.dates import local_to_utc, to_local


def next_local_day(now: datetime) -> datetime:
    """The next Danish local midnight after ``now``, in UTC."""
    return local_to_utc(datetime.combine(to_local(now).date() + timedelta(days=1), time()))


def _after(now: datetime, moments: Iterable[datetime | None]) -> list[datetime]:
    return [m for m in moments if m is not None and m > now]


def states_horizon(opened: Iterable[Incident], now: datetime) -> datetime:
    """A moment after ``now`` before which no state, window's place, overrun or local day
    changes, for the open incidents ``opened``: the first start, end or end of an overrun to
    come, or the next local midnight."""
    moments = [next_local_day(now)]
    for incident in opened:
        window = incident.window
        if window is None or window.cancelled or not is_open(incident):
            continue
        end = window.end_at
        moments += _after(now, (window.start_at, end, end + OVERRUN_SHOWN if end else None))
    return min(moments)


def ends_horizon(incidents: Iterable[Incident], now: datetime) -> datetime | None:
    """The first planned end after ``now`` of the windows of ``incidents`` (a maintenance that
    is over says when it ended: its planned end once that passed); None when none is to
    come."""
    ends = (i.window.end_at for i in incidents if i.window is not None)
    return min(_after(now, ends), default=None)


def figures_horizon(token: FiguresToken, now: datetime) -> datetime:
    """A moment before which figures with ``token`` do not change: ``now`` itself while an
    interval is under way (they move at every moment), else their next moment or the next
    local day, whichever comes first."""
    if token.under_way:
        return now
    moments = [next_local_day(now)]
    if token.moment is not None and token.moment > now:
        moments.append(token.moment)
    return min(moments)
