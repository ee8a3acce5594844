"""The daily digest: when one is due and what it shows. Pure: the clock is a parameter.

A recipient with ``digest_at`` gets one digest per Danish local day, at that time: due from
that moment, sent by the first pass at or after it. A pass finds only the latest moment that
has passed, so days missed while toldfeed was down give one late digest, never several; a
recipient first seen after that moment waits for the next one (its first digest is not late).

The digest shows the open disruptions (newest first), the service windows of the next 7 days
(to come, in progress, or past their planned end and not reported complete; cancelled ones
too: that is news), and what closed since the last
digest, each narrowed to the recipient's systems.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from app.model import Incident, Kind, Status
from app.notify.recipients import Recipient
from app.notify.timed import DIGEST, digest_id
from app.site.system_state import OVERRUN_SHOWN
from app.store.records import Digest, DigestMark, Notification, Timing
from app.upstream.dates import local_to_utc, to_local

AHEAD = timedelta(days=7)  # the windows a digest lists
VALID = timedelta(days=1)  # a digest not delivered within a day is given up: the next one is due


def moment_of(day: date, at: time) -> datetime:
    """The UTC moment of Danish local ``at`` on ``day`` (a time in the spring gap moves on by
    the gap; an autumn hour that comes twice is the first one)."""
    return local_to_utc(datetime.combine(day, at))


def latest_moment(at: time, now: datetime) -> tuple[date, datetime]:
    """The Danish local day and UTC moment of the latest digest time at or before ``now``."""
    day = to_local(now).date()
    moment = moment_of(day, at)
    if moment > now:
        day -= timedelta(days=1)
        moment = moment_of(day, at)
    return day, moment


def next_moment(at: time, now: datetime) -> datetime:
    """The first digest moment after ``now``."""
    day, _ = latest_moment(at, now)
    return moment_of(day + timedelta(days=1), at)


def digest_due(recipient: Recipient, mark: DigestMark | None, now: datetime) -> date | None:
    """The Danish local day whose digest ``recipient`` is due at ``now``, or None (none due,
    no digest chosen, or ``mark`` None: the recipient is seen for the first time)."""
    if recipient.digest_at is None or mark is None:
        return None
    day, moment = latest_moment(recipient.digest_at, now)
    if mark.day is not None:
        return day if mark.day < day else None
    return day if mark.taken_at <= moment else None


def _by_start(incident: Incident) -> tuple[datetime, str]:
    window = incident.window
    return (window.start_at if window else incident.published_at, incident.key)


def _window_ahead(incident: Incident, now: datetime) -> bool:
    """To come within ``AHEAD``, in progress, or past its planned end less than
    ``OVERRUN_SHOWN`` ago with its incident open (its end not reported)."""
    window = incident.window
    if window is None or incident.status is Status.CLOSED:
        return False
    if window.start_at >= now:
        return window.start_at < now + AHEAD
    return now < (window.end_at or window.start_at) + OVERRUN_SHOWN


def take_digest(
    recipient: Recipient,
    open_incidents: Iterable[Incident],
    recently_closed: Iterable[Incident],
    day: date,
    now: datetime,
    since: datetime,
) -> Notification:
    """``recipient``'s digest for ``day``, taken at ``now``: what is open, the windows of the
    next 7 days, what closed after ``since``."""
    mine = [i for i in open_incidents if recipient.names_any(i.systems)]
    disruptions = sorted(
        (i for i in mine if i.kind is Kind.DISRUPTION),
        key=lambda i: (i.published_at, i.key),
        reverse=True,
    )
    windows = sorted((i for i in mine if _window_ahead(i, now)), key=_by_start)
    closed = sorted(
        (
            i
            for i in recently_closed
            if i.closed_at is not None and i.closed_at > since and recipient.names_any(i.systems)
        ),
        key=lambda i: (i.closed_at or now, i.key),
    )
    assert recipient.digest_at is not None
    moment = moment_of(day, recipient.digest_at)
    digest = Digest(day, now, since, tuple(disruptions), tuple(windows), tuple(closed))
    return Notification(
        digest_id(recipient.name, day),
        recipient.name,
        DIGEST,
        None,
        now,
        timing=Timing(moment, max(moment, now) + VALID),
        digest=digest,
    )
