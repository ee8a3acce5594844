"""The store's outbox of push notifications (``app.notify``).

Keys (each spelled here only):

    outbox:<n>             notification number <n> (written by a poll, in its batch, or by
                           a pass over the clock)
    meta:outbox_seq        the highest notification number written
    queued:<target> <id>   a time-driven notification queued once (its id never again), kept
                           until a day after it would be too late
    notify:state           the deliverer's bookkeeping: what is pending, figures per target
    meta:news_since        the newest change the first poll filled the store with

Numbers are given inside the commit's transaction (``Batch.later``), after the highest one
written, so a poll and a pass over the clock in another process never take the same number;
a time-driven notification is queued only if its ``queued:`` record is absent in that same
transaction, so two processes queueing it at once queue it once. Only the deliverer rewrites
a notification or ``notify:state`` (under its own lock): no lost updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from app.store.codec import decode_time, encode_time
from app.store.core import Batch, Reader, StoreCore
from app.store.delivery_codec import (
    notification_from_dict,
    notification_to_dict,
    outbox_state_from_dict,
    outbox_state_to_dict,
)
from app.store.records import Notification, OutboxState

_OUTBOX, _OUTBOX_SEQ, _NOTIFY = "outbox:", "meta:outbox_seq", "notify:state"
_NEWS_SINCE = "meta:news_since"
_QUEUED = "queued:"
KEPT_AFTER = timedelta(days=1)  # a queued: record outlives its notification's deadline by this


class OutboxMixin(StoreCore):
    """Queued notifications and the deliverer's bookkeeping."""

    def news_since(self) -> datetime | None:
        """The newest change the first poll filled the store with: what is dated before is old
        news (None in stores older than this record)."""
        return decode_time(self.get(_NEWS_SINCE))

    @staticmethod
    def stage_news_since(batch: Batch, at: datetime) -> None:
        """Queue the newest change the first poll filled the store with."""
        batch.put(_NEWS_SINCE, encode_time(at))

    def outbox_seq(self) -> int:
        """The highest notification number any poll has written (0: none)."""
        return int(self.get(_OUTBOX_SEQ) or 0)

    @staticmethod
    def stage_notifications(
        batch: Batch, notes: Sequence[Notification], *, once: bool = False
    ) -> list[Notification]:
        """Queue ``notes``, numbered after the highest number when the batch commits.

        ``once``: only the time-driven notes whose (target, id) was never queued (each has a
        ``timing``). The list returned holds, after the commit, the notes actually queued.
        """
        queued: list[Notification] = []

        def step(read: Reader) -> Batch:
            queued.clear()
            out = Batch()
            seq = after = int(read(_OUTBOX_SEQ) or 0)
            seen: set[str] = set()
            for note in notes:
                if once:
                    mark = f"{_QUEUED}{note.target} {note.id}"
                    if mark in seen or read(mark) is not None or note.timing is None:
                        continue
                    seen.add(mark)
                    out.put(mark, encode_time(note.timing.until + KEPT_AFTER))
                seq += 1
                out.put(f"{_OUTBOX}{seq}", notification_to_dict(note))
                queued.append(note)
            if seq != after:
                out.put(_OUTBOX_SEQ, seq)
            return out

        if notes:
            batch.later(step)
        return queued

    def stage_forget_queued(self, batch: Batch, now: datetime) -> None:
        """Queue dropping the ``queued:`` records kept long enough (their notifications are too
        late by now)."""
        for key, until in self._prefixed(_QUEUED):
            if (decode_time(until) or now) < now:
                batch.delete(key)

    def notification(self, n: int) -> Notification | None:
        """Notification number ``n``, or None (delivered ones are removed)."""
        data = self.get(f"{_OUTBOX}{n}")
        return notification_from_dict(data) if data else None

    @staticmethod
    def stage_notification(batch: Batch, n: int, note: Notification | None) -> None:
        """Queue notification number ``n`` as it stands now; None removes it."""
        if note is None:
            batch.delete(f"{_OUTBOX}{n}")
        else:
            batch.put(f"{_OUTBOX}{n}", notification_to_dict(note))

    def outbox_state(self) -> OutboxState:
        """The deliverer's bookkeeping."""
        return outbox_state_from_dict(self.get(_NOTIFY) or {})

    @staticmethod
    def stage_outbox_state(batch: Batch, state: OutboxState) -> None:
        """Queue the deliverer's bookkeeping."""
        batch.put(_NOTIFY, outbox_state_to_dict(state))
