"""The store's self-service subscriptions (``app.notify.signup``) and their fan-outs.

Keys (each spelled here only):

    subscriber:<id>        one address's subscription; <id> is a keyed hash of the address
    subscribers:salt       the random key of those hashes (made once, kept with the store)
    confirm-mail:<id>      a confirmation mail waiting to be sent to subscriber <id>
    signups:<client>       the sign-up times of one client (a keyed hash of its IP address)
    fanout:<n>             how far outbox notification <n> has gone out to the subscribers

An address is kept in its ``subscriber:`` record only: never in a key, so no listing of keys
shows one. Read-modify-writes from web requests run in ``transaction()``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property

from app.store.codec import decode_required_time, encode_time
from app.store.core import Batch, StoreCore
from app.store.subscriber_codec import (
    fanout_from_dict,
    fanout_to_dict,
    subscription_from_dict,
    subscription_to_dict,
)
from app.store.subscriber_records import FanOutProgress, Subscription

_SUB, _SALT, _CONFIRM = "subscriber:", "subscribers:salt", "confirm-mail:"
_SIGNUPS, _FANOUT = "signups:", "fanout:"
PAGE = 500  # subscriptions read at a time


class SubscribersMixin(StoreCore):
    """Subscriptions, their confirmation mails and sign-up counts, and fan-out progress."""

    @cached_property
    def _salt(self) -> bytes:
        """The key of ``keyed_hash``: made once per store, read once per process."""
        salt = self.get(_SALT)
        if salt is None:
            with self.transaction():  # two workers at once: one salt
                salt = self.get(_SALT)
                if salt is None:
                    salt = secrets.token_hex(32)
                    batch = Batch()
                    batch.put(_SALT, salt)
                    self.commit(batch)
        return bytes.fromhex(str(salt))

    def keyed_hash(self, text: str) -> str:
        """A hash of ``text`` keyed with this store's salt: the same for the same text, and
        no dictionary of addresses turns it back into one."""
        return hashlib.blake2b(text.encode(), key=self._salt, digest_size=16).hexdigest()

    def subscriber_id(self, address: str) -> str:
        """The id of ``address`` (already in the form ``app.notify.signup`` keeps)."""
        return self.keyed_hash(address.casefold())

    def subscription(self, sid: str) -> Subscription | None:
        """Subscription ``sid``, or None."""
        data = self.get(f"{_SUB}{sid}")
        return subscription_from_dict(data) if data else None

    def subscriptions(self, after: str = "") -> Iterator[Subscription]:
        """Every subscription whose id sorts after ``after``, in id order, read a page at a time."""
        while True:
            rows = self._prefixed(_SUB, after, PAGE)
            for _, data in rows:
                yield subscription_from_dict(data)
            if len(rows) < PAGE:
                return
            after = rows[-1][0].removeprefix(_SUB)

    def subscription_counts(self) -> tuple[int, int]:
        """(confirmed, waiting for confirmation)."""
        confirmed = waiting = 0
        for _, data in self._prefixed(_SUB):
            if data.get("choices") is None:
                waiting += 1
            else:
                confirmed += 1
        return confirmed, waiting

    @staticmethod
    def stage_subscription(batch: Batch, sub: Subscription) -> None:
        """Queue a subscription as it stands now."""
        batch.put(f"{_SUB}{sub.id}", subscription_to_dict(sub))

    @staticmethod
    def stage_subscription_removed(batch: Batch, sid: str) -> None:
        """Queue the deletion of a subscription, its address and any mail waiting for it."""
        batch.delete(f"{_SUB}{sid}")
        batch.delete(f"{_CONFIRM}{sid}")

    def confirmation_waiting(self, sid: str) -> str | None:
        """The stamp of the confirmation mail waiting for subscriber ``sid`` (None: none)."""
        stamp = self.get(f"{_CONFIRM}{sid}")
        return None if stamp is None else str(stamp)

    def confirmation_mails(self) -> dict[str, str]:
        """The subscriber ids that a confirmation mail waits for, with its stamp."""
        return {key.removeprefix(_CONFIRM): str(stamp) for key, stamp in self._prefixed(_CONFIRM)}

    @staticmethod
    def stage_confirmation_mail(batch: Batch, sid: str, stamp: str | None) -> None:
        """Queue the confirmation mail of subscriber ``sid`` under a new ``stamp`` (a sign-up
        since the sender read it changes the stamp: the sender then sends again); None drops
        it."""
        if stamp is not None:
            batch.put(f"{_CONFIRM}{sid}", stamp)
        else:
            batch.delete(f"{_CONFIRM}{sid}")

    def signups(self, client: str) -> tuple[datetime, ...]:
        """The times client ``client`` (a keyed hash) signed up lately."""
        return tuple(decode_required_time(t) for t in self.get(f"{_SIGNUPS}{client}") or ())

    def signup_clients(self) -> dict[str, tuple[datetime, ...]]:
        """Every client with sign-ups kept, and their times."""
        return {
            key.removeprefix(_SIGNUPS): tuple(decode_required_time(t) for t in times)
            for key, times in self._prefixed(_SIGNUPS)
        }

    @staticmethod
    def stage_signups(batch: Batch, client: str, times: tuple[datetime, ...]) -> None:
        """Queue the sign-up times of ``client`` (none: forget the client)."""
        if times:
            batch.put(f"{_SIGNUPS}{client}", [encode_time(t) for t in times])
        else:
            batch.delete(f"{_SIGNUPS}{client}")

    def fanout(self, n: int) -> FanOutProgress | None:
        """How far outbox notification ``n`` has gone out to the subscribers (None: not begun)."""
        data = self.get(f"{_FANOUT}{n}")
        return fanout_from_dict(data) if data else None

    @staticmethod
    def stage_fanout(batch: Batch, n: int, progress: FanOutProgress | None) -> None:
        """Queue the progress of fan-out ``n``; None removes it (done or given up)."""
        if progress is None:
            batch.delete(f"{_FANOUT}{n}")
        else:
            batch.put(f"{_FANOUT}{n}", fanout_to_dict(progress))
