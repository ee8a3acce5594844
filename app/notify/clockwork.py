"""Passes over the clock: queue the reminders, window events and digests that are due.

A pass runs in the process that polls (``toldfeed poll`` after its poll; ``toldfeed serve``'s
poller at least every 60 s), on the incidents of its publisher's archive. It queues into the
same outbox as changes, in one commit, each notification only if its id was never queued for
that recipient (checked inside the commit's transaction): of two processes passing at once,
or a process killed after its commit and started again, each due notification is queued
exactly once, and delivery then keeps the outbox's promises (retries, give-up, figures).

What a pass that finds nothing due costs: the schedule of every window's moments is kept
between passes while the archive is unchanged (it is rebuilt, and what toldfeed learnt about
new or moved windows is recorded, after a change), what this process knows to be queued is
remembered, and each recipient's digest is looked at again only when its next time comes; so
such a pass reads nothing from the store and bisects one sorted list.

What a pass reads is kept as an immutable view, so ``toldfeed serve``'s delivery thread passes
on it every few seconds (``between``) while the store holds the same incidents, and a poll that
waits for a slow upstream in the poller thread delays no reminder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.model import Incident
from app.notify.digest import digest_due, next_moment, take_digest
from app.notify.recipients import Recipient
from app.notify.timed import Schedule, due_notifications, learn, plan
from app.site.archive import Archive
from app.store import Batch, Store
from app.store.records import Notification
from app.upstream.dates import to_local

log = logging.getLogger("toldfeed.notify")
CLOSED_LOOKED_AT = 500  # the most recently changed closed incidents a digest looks through


@dataclass(frozen=True, slots=True)
class _View:
    """What a pass reads, taken from the archive by the thread that owns it (the poller):
    immutable, so a pass in another thread may use it while the store has not moved on."""

    serial: int  # the archive's
    generation: int  # the store's, as the archive reflects it
    leads: frozenset[int]
    schedule: Schedule
    open_incidents: tuple[Incident, ...]
    closed: tuple[Incident, ...]  # the most recently changed closed ones


class Clockwork:
    """The passes over the clock of one process, on one store (thread-safe)."""

    def __init__(self, store: Store, grace_seconds: int) -> None:
        self.store = store
        self.grace = timedelta(seconds=grace_seconds)
        self._lock = threading.Lock()
        self._view: _View | None = None  # kept while every window in it is known
        self._told: set[tuple[str, str]] = set()  # (recipient, id) known to be queued
        self._digest_next: dict[str, datetime] = {}  # recipient → when to look again
        self._tidied_on: date | None = None

    def run(
        self,
        archive: Archive,
        generation: int,
        now: datetime,
        recipients: Sequence[Recipient],
    ) -> list[Notification]:
        """Queue what is due at ``now`` for ``recipients``; the notifications queued.

        ``archive`` holds the store's incidents as of ``generation``; call from the thread
        that owns it.
        """
        chosen = [r for r in recipients if r.told_of_time]
        if not chosen:
            return []
        with self._lock:
            return self._pass(self.view(archive, generation, now, chosen), now, chosen)

    def between(self, now: datetime, recipients: Sequence[Recipient]) -> list[Notification]:
        """``run`` on what the last ``run`` saw, from any thread, while the store holds the
        same incidents (a poll in this process reading a slow upstream delays nothing);
        nothing when it has moved on or the leads changed (the next ``run`` looks)."""
        chosen = [r for r in recipients if r.told_of_time]
        leads = frozenset(lead for r in chosen for lead in r.leads)
        with self._lock:
            view = self._view
            if not chosen or view is None or view.leads != leads:
                return []
            if self.store.generation() != view.generation:
                return []
            return self._pass(view, now, chosen)

    def _pass(
        self, view: _View, now: datetime, recipients: Sequence[Recipient]
    ) -> list[Notification]:
        notes = due_notifications(
            view.schedule, now, recipients, lambda name, id_: (name, id_) in self._told
        )
        batch = Batch()
        looked = self._digests(batch, view, now, recipients, notes)
        queued = Store.stage_notifications(batch, notes, once=True)
        today = to_local(now).date()
        tidy = self._tidied_on != today
        if tidy:  # once a day: drop what was kept long enough
            self.store.stage_forget_queued(batch, now)
        self.store.commit(batch)
        # remembered only once committed: a failed commit is tried again at the next pass
        if tidy:  # forgotten here too (what is still due is looked up in the store once more)
            self._tidied_on = today
            self._told.clear()
        self._told.update((n.target, n.id) for n in notes)  # queued now, or before
        self._digest_next.update(looked)
        for note in queued:
            log.info("queued %s target=%s id=%s", note.event, note.target, note.id)
        return list(queued)

    def view(
        self, archive: Archive, generation: int, now: datetime, recipients: Sequence[Recipient]
    ) -> _View:
        """The moments of every window and what a digest shows (kept while the archive and
        the leads are unchanged); windows new or moved since the last look are recorded as
        known from ``now``."""
        leads = frozenset(lead for r in recipients for lead in r.leads)
        kept = self._view
        if kept is not None and kept.serial == archive.serial and kept.leads == leads:
            return kept
        open_incidents = tuple(archive.open_incidents())
        windows = [i for i in open_incidents if i.window is not None]
        known = self.store.windows_known()
        fresh, gone = learn(windows, known, now)
        if fresh or gone:
            batch = Batch()
            Store.stage_windows_known(batch, generation, fresh, gone)
            self.store.commit(batch)
            for key in gone:
                known.pop(key, None)
            for key in fresh:  # as committed (another process may have known one first)
                if (record := self.store.window_known(key)) is not None:
                    known[key] = record
        schedule = plan(windows, known, leads, self.grace)
        closed = tuple(archive.latest_closed(CLOSED_LOOKED_AT))
        view = _View(archive.serial, generation, leads, schedule, open_incidents, closed)
        self._view = view if not schedule.unknown else None  # kept when every window is known
        return view

    def _digests(
        self,
        batch: Batch,
        view: _View,
        now: datetime,
        recipients: Sequence[Recipient],
        notes: list[Notification],
    ) -> dict[str, datetime]:
        """Add the digests due at ``now`` to ``notes`` (their marks staged in ``batch``);
        when to look at each recipient looked at again."""
        looked = {}
        for recipient in recipients:
            at = recipient.digest_at
            if at is None or now < self._digest_next.get(recipient.name, now):
                continue
            looked[recipient.name] = next_moment(at, now)
            mark = self.store.digest_mark(recipient.name)
            if mark is None:  # seen for the first time: its first digest is the next one
                Store.stage_digest_mark(batch, recipient.name, None, now)
                continue
            day = digest_due(recipient, mark, now)
            if day is None:
                continue
            notes.append(
                take_digest(recipient, view.open_incidents, view.closed, day, now, mark.taken_at)
            )
            Store.stage_digest_mark(batch, recipient.name, day, now)
        return looked
