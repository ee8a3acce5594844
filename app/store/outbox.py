"""The store's outbox of push notifications (``app.notify``).

Keys (each spelled here only):

    outbox:<n>             notification number <n> (written by a poll, in its batch)
    meta:outbox_seq        the highest notification number a poll has written
    notify:state           the deliverer's bookkeeping: what is pending, figures per target
    meta:news_since        the newest change the first poll filled the store with

A poll only adds numbers above ``outbox_seq`` (under the poll lock); only the deliverer
rewrites a notification or ``notify:state`` (under its own lock): no lost updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.store.codec import decode_time, encode_time
from app.store.core import Batch, StoreCore
from app.store.delivery_codec import (
    notification_from_dict,
    notification_to_dict,
    outbox_state_from_dict,
    outbox_state_to_dict,
)
from app.store.records import Notification, OutboxState

_OUTBOX, _OUTBOX_SEQ, _NOTIFY = "outbox:", "meta:outbox_seq", "notify:state"
_NEWS_SINCE = "meta:news_since"


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
    def stage_notifications(batch: Batch, after: int, notes: Sequence[Notification]) -> None:
        """Queue new notifications, numbered from ``after + 1``."""
        for n, note in enumerate(notes, start=after + 1):
            batch.put(f"{_OUTBOX}{n}", notification_to_dict(note))
        if notes:
            batch.put(_OUTBOX_SEQ, after + len(notes))

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
