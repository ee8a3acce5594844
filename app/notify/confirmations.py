"""Sending the queued confirmation mails, and the subscriptions' upkeep.

A sign-up queues its confirmation mail in the store (``confirm-mail:<id>``) in the same
transaction as the sign-up, and the web worker that answered it sends it at once in a thread
of its own: the answer never waits for the relay (nor tells, by its time, whether a mail went
out). The delivery loop sends whatever is left (a worker that died, a relay that was down), so
no sign-up is lost. One sender at a time per data directory (``<data dir>/confirm.lock``).

The upkeep, at most every ``SWEEP_EVERY`` per process: remove sign-ups not confirmed within
48 hours and forget old sign-up counts (``Subscriptions.sweep``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from app.config import Settings
from app.notify.letters import Letters
from app.notify.mail import mailable
from app.notify.signup import Subscriptions
from app.notify.smtp import Refused, RelayDown, SmtpSession
from app.notify.targets import parse_smtp_url
from app.store import Store
from app.store.locks import PollLock

log = logging.getLogger("toldfeed.notify")
SWEEP_EVERY = 600.0  # seconds
LOCK_WAIT = 30.0  # a worker's sender waits this long for another sender to finish


class Confirmations:
    """Sends queued confirmation mails; keeps the subscriptions tidy."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        subscriptions: Subscriptions,
        letters: Letters,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.subscriptions = subscriptions
        self.letters = letters
        self.clock = clock
        self.server = parse_smtp_url(settings.smtp_url)
        self.lock_path = settings.data_dir / "confirm.lock"
        self._retry_at = 0.0  # monotonic: after a failure, the loop waits until then
        self._swept_at: float | None = None

    def kick(self) -> threading.Thread:
        """Send what is queued now, in a thread of its own (after a sign-up)."""
        thread = threading.Thread(
            target=self.send,
            kwargs={"wait_seconds": LOCK_WAIT, "force": True},
            name="toldfeed-confirm",
            daemon=True,
        )
        thread.start()
        return thread

    def send(self, wait_seconds: float = 0.0, force: bool = False) -> int:
        """Send every queued confirmation mail; how many went out. After a failure the next
        try waits for the backoff, unless ``force`` (a new sign-up)."""
        if not force and time.monotonic() < self._retry_at:
            return 0
        lock = PollLock(self.lock_path)  # one per call: threads of one process send too
        if not self.store.confirmation_mails() or not lock.acquire(wait_seconds):
            return 0
        try:
            with SmtpSession(self.server, self.settings.notify_timeout_seconds) as session:
                return self._drain(session)
        except RelayDown as e:
            self._retry_at = time.monotonic() + self.settings.notify_backoff_seconds
            log.warning("confirmation mail failed reason=%s (tried again later)", e.said)
            return 0
        finally:
            lock.release()

    def _drain(self, session: SmtpSession) -> int:
        sent = 0
        held: set[str] = set()  # refused for now: tried again after the backoff
        while waiting := {
            sid: stamp for sid, stamp in self.store.confirmation_mails().items() if sid not in held
        }:  # again and again: sign-ups meanwhile
            for sid, stamp in waiting.items():
                now = self.clock()
                sub = self.subscriptions.to_mail(sid, now)
                if sub is not None and not mailable(sub.address):  # it alone: no other waits
                    log.warning("confirmation mail given up subscriber=%s reason=address", sid)
                    sub = None
                msg = self.letters.confirmation(sub, now) if sub else None
                if sub is None or msg is None:  # unsubscribed, swept, confirmed, or limited
                    self.subscriptions.mailed(sid, stamp, None)
                    continue
                outcome = session.send(msg, self.settings.smtp_from, [sub.address])
                if isinstance(outcome, Refused) and not outcome.permanent:
                    held.add(sid)
                    log.warning("confirmation mail refused for now subscriber=%s", sid)
                elif isinstance(outcome, Refused):
                    log.warning("confirmation mail refused subscriber=%s", sid)
                    self.subscriptions.mailed(sid, stamp, None)
                else:
                    self.subscriptions.mailed(sid, stamp, now)
                    sent += 1
                    log.info("confirmation mail sent subscriber=%s", sid)
        if held:
            self._retry_at = time.monotonic() + self.settings.notify_backoff_seconds
        return sent

    def upkeep(self) -> None:
        """What the delivery loop does besides notifications: the confirmation mails left,
        and the sweep (at most every ``SWEEP_EVERY`` seconds), whatever the sending met."""
        try:
            self.send()
        finally:
            self._sweep()

    def _sweep(self) -> None:
        if self._swept_at is not None and time.monotonic() - self._swept_at < SWEEP_EVERY:
            return
        self._swept_at = time.monotonic()
        swept = self.subscriptions.sweep(self.clock())
        if swept.removed or swept.expired_requests:
            log.info(
                "subscriptions swept: %d sign-up(s) never confirmed removed, %d change(s) "
                "never confirmed forgotten",
                swept.removed,
                swept.expired_requests,
            )
