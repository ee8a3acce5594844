"""The self-service subscribers as an audience (pure): all of them one recipient of the passes
over the clock, and which of them a notification is for, as each of them reads it.

The outbox holds one notification for all the subscribers (target ``subscribers``), whatever
their number: a change queued by the poll, a reminder, a window event or a digest queued by a
pass over the clock for ``everyone`` (every lead a subscriber may choose, window events, the
digest at ``TOLDFEED_SUBSCRIPTION_DIGEST_AT``, every system). The fan-out
(``app.notify.fanout``) then asks ``wants`` for each subscriber, and a digest is narrowed to
the subscriber's systems (``narrowed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import time

from app.model import Incident
from app.notify.outbox import CREATED, UPDATED
from app.notify.recipients import Recipient
from app.notify.targets import SUBSCRIBERS
from app.notify.timed import DIGEST, OVERRUN, REMINDER, STARTED
from app.store.records import Notification
from app.store.subscriber_records import LEAD_SECONDS, Choices, Interest


def everyone(digest_at: time) -> Recipient:
    """All the subscribers as one recipient of the passes over the clock: every lead a
    subscriber may choose, the window events and the digest at ``digest_at``, every system.
    A pass queues one notification for all of them; ``wants`` picks who gets it."""
    return Recipient(
        SUBSCRIBERS,
        leads=frozenset(LEAD_SECONDS.values()),
        window_events=True,
        digest_at=digest_at,
    )


def wants(choices: Choices, note: Notification) -> bool:
    """True when a subscriber with ``choices`` is to be told ``note``: a change of the kind
    they chose, a reminder with a lead they chose, a window event when they chose service
    windows (each about one of their systems), the digest when they chose it."""
    if note.event == DIGEST:
        return choices.digest
    incident = note.incident
    if incident is None or not choices.names(incident):
        return False
    if note.event in (CREATED, UPDATED):
        return choices.wants(incident)
    if note.event == REMINDER:
        return note.timing is not None and note.timing.lead_seconds in choices.leads
    if note.event in (STARTED, OVERRUN):
        return Interest.WINDOWS in choices.interests
    return False


def narrowed(note: Notification, systems: frozenset[str]) -> Notification:
    """``note`` as a subscriber of ``systems`` (empty: all) reads it: a digest lists only the
    incidents that name one of them; anything else is as it is."""
    digest = note.digest
    if digest is None or not systems:
        return note

    def mine(incidents: Iterable[Incident]) -> tuple[Incident, ...]:
        return tuple(i for i in incidents if not systems.isdisjoint(i.systems))

    return replace(
        note,
        digest=replace(
            digest, open=mine(digest.open), windows=mine(digest.windows), closed=mine(digest.closed)
        ),
    )
