"""The deliverer: sends due notifications, retries with backoff, gives up, keeps figures.

One pass (``deliver``) runs under its own lock file (``<data dir>/notify.lock``), so of the
processes sharing a data directory one delivers at a time, and never under the poll lock: a
slow or dead target never delays a poll, and a poll never waits for a target. A pass has a
time budget and each attempt its own timeout. Per target, notifications go out in the order
they were queued; after a failure the target's later notifications wait for the next pass.

Outcomes are committed one by one, each after the target answered: a process killed while
sending leaves the notification pending, and it is sent again with the same id (at least
once, never lost). A failure is retried after ``notify_backoff_seconds`` doubled per attempt
(at most an hour) or the target's ``Retry-After`` if longer; a notification not delivered
within ``notify_give_up_seconds`` of its change is given up, its last error kept (the books:
``app.notify.ledger``).

The self-service subscribers are one more target, ``subscribers``: its notification is handed
to ``app.notify.fanout``, which sends it to each of them over one connection, a part per pass
if the budget runs out (later changes wait for it, so every subscriber gets them in order);
a relay that is down is that target's failure, retried like any other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.catalogue import Catalogue
from app.config import Settings
from app.fetch.poster import Poster
from app.notify.channel import Answer, Channel, Outgoing
from app.notify.compose import words_for
from app.notify.fanout import FanOut
from app.notify.ledger import Ledger
from app.notify.outbox import pending_numbers
from app.notify.registry import CHANNELS
from app.notify.retry import (
    DELIVERED,
    FAILED,
    GIVEN_UP,
    IDLE_SECONDS,
    MAILS,
    SWEPT,
    DeliveryReport,
    Lock,
    too_late,
)
from app.notify.targets import SUBSCRIBERS, ChannelKind, Target
from app.notify.timed import outdated
from app.site.urls import Urls
from app.store import Batch, Store
from app.store.records import Delivery, Notification, OutboxState

log = logging.getLogger("toldfeed.notify")


class Deliverer:
    """Delivers the outbox of one data directory to the configured targets."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalogue: Catalogue,
        targets: Sequence[Target],
        poster: Callable[[], Poster],
        lock: Lock,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        urls: Urls,
        fanout: FanOut | None = None,
        upkeep: Callable[[], None] | None = None,
    ) -> None:
        """``poster`` makes the notification client, asked only when something is sent;
        ``fanout`` sends to the self-service subscribers (None: they are off), ``upkeep`` is
        run at the start of every pass (their confirmation mails and sweep)."""
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        self.targets = {t.name: t for t in targets}
        self._poster = poster
        self._channels: dict[ChannelKind, Channel] = {}
        self.lock = lock
        self.clock = clock
        self.sleep = sleep
        self._sent_at: dict[str, float] = {}  # target → monotonic time of its last attempt
        self._wake = threading.Event()
        # the button leads to the incident's page
        self.urls = urls
        self.fanout = fanout
        self.upkeep = upkeep
        self.ledger = Ledger(settings, store)

    def send(
        self, target: Target, note: Notification, timeout: float, page: str | None = None
    ) -> Answer:
        """One attempt to tell ``target`` about ``note``; records nothing.

        The button leads to ``page``, by default the incident's page on toldfeed (a digest's:
        the status page).
        """
        message = words_for(note, self.catalogue, target.lang, self.urls, page)
        return self.channel(target.kind).send(
            Outgoing(target, note, message, self.clock(), timeout)
        )

    def channel(self, kind: ChannelKind) -> Channel:
        """The channel of ``kind``, built on first use."""
        found = self._channels.get(kind)
        if found is None:
            found = self._channels[kind] = CHANNELS[kind](self._poster())
        return found

    def wake(self) -> None:
        """Make the serving loop look at the outbox now (a poll just queued something)."""
        self._wake.set()

    def run(self, stop: threading.Event, each_turn: Callable[[], object] | None = None) -> None:
        """Deliver until ``stop`` is set, every few seconds and whenever woken, after
        ``each_turn`` (a pass over the clock); never raises."""
        while not stop.is_set():
            for step in (each_turn, self.deliver):
                try:
                    if step is not None:
                        step()
                except Exception:  # the loop must survive anything a target or the store throws
                    log.exception("delivery pass failed")
            self._wake.wait(IDLE_SECONDS)
            self._wake.clear()

    def deliver(self, budget: float | None = None, wait_seconds: float = 0.0) -> DeliveryReport:
        """One pass over the due notifications, for at most ``budget`` seconds."""
        if self.upkeep is not None:
            try:
                self.upkeep()
            except Exception:  # a relay or store failure here must not stop notifications
                log.exception("subscription upkeep failed")
        if not self.targets and self.fanout is None:
            return DeliveryReport()  # none configured (now): what is queued waits, nothing lost
        if not self.lock.acquire(wait_seconds):
            return DeliveryReport(busy=True)
        try:
            deadline = time.monotonic() + (budget or self.settings.notify_budget_seconds)
            return self._pass(deadline)
        finally:
            self.lock.release()

    def _pass(self, deadline: float) -> DeliveryReport:
        state = self.store.outbox_state()
        seq = self.store.outbox_seq()
        if seq > state.cursor:  # take in what polls queued since the last pass
            state = replace(state, cursor=seq, pending=pending_numbers(self.store, state))
            batch = Batch()
            Store.stage_outbox_state(batch, state)
            self.store.commit(batch)
        tally = {DELIVERED: 0, FAILED: 0, GIVEN_UP: 0, SWEPT: 0, MAILS: 0}
        waiting: set[str] = set()  # targets whose earlier notification is not out yet
        for n in sorted(state.pending):
            name = state.pending[n]
            if name in waiting:
                continue
            if time.monotonic() >= deadline:
                break
            note = self.store.notification(n)
            if note is None or note.state is not Delivery.PENDING:
                state = self.ledger.record(state, n, None, name)
                continue
            now = self.clock()
            if note.next_attempt_at is not None and note.next_attempt_at > now:
                waiting.add(name)
                continue
            give_up_at = note.queued_at + timedelta(seconds=self.settings.notify_give_up_seconds)
            target = self.targets.get(name)
            reason = self._hopeless(name, target, note, now, give_up_at)
            if reason:
                state = self.ledger.give_up(state, n, note, reason, now)
                tally[GIVEN_UP] += 1
                continue
            if target is None:  # the subscribers (``_hopeless`` said they are on)
                state, outcome = self._fan_out(state, n, note, deadline, give_up_at, tally)
                if outcome is not None:
                    tally[outcome] += 1
                if outcome not in (DELIVERED, GIVEN_UP, SWEPT):
                    waiting.add(name)  # later changes wait until this one reached everyone
                continue
            if not self._pace(state, target, deadline):
                waiting.add(name)  # no time left this pass to keep Slack's pace
                continue
            state, outcome = self._attempt(state, n, note, target, deadline, give_up_at)
            tally[outcome] += 1
            if outcome != DELIVERED:
                waiting.add(name)
        return DeliveryReport(
            delivered=tally[DELIVERED],
            failed=tally[FAILED],
            given_up=tally[GIVEN_UP],
            pending=len(state.pending),
            mails=tally[MAILS],
        )

    def _hopeless(
        self,
        name: str,
        target: Target | None,
        note: Notification,
        now: datetime,
        give_up_at: datetime,
    ) -> str:
        """Why ``note`` to ``name`` is given up at ``now`` (no one to send it to, too late for
        a time-driven one, past its give-up time after its last retry), or ""."""
        if name == SUBSCRIBERS and self.fanout is None:
            return "self-service subscriptions are off (TOLDFEED_SUBSCRIPTIONS)"
        if target is None and name != SUBSCRIBERS:
            return "the target is no longer in the targets file"
        late = too_late(note, now)
        if not late and note.timing is not None and note.incident is not None:
            late = outdated(note, self.store.incident(note.key))  # a reminder, a window event
        if late:
            return late
        if target is None:  # a fan-out gives up each subscriber's mail at ``give_up_at``
            return ""
        last_retry = note.next_attempt_at is not None and note.next_attempt_at >= give_up_at
        return note.last_error or "never attempted" if now > give_up_at and not last_retry else ""

    def _attempt(
        self,
        state: OutboxState,
        n: int,
        note: Notification,
        target: Target,
        deadline: float,
        give_up_at: datetime,
    ) -> tuple[OutboxState, str]:
        """Send notification ``n`` once and commit the outcome (delivered, failed, given up)."""
        timeout = min(self.settings.notify_timeout_seconds, deadline - time.monotonic())
        answer = self.send(target, note, max(0.1, timeout))
        self._sent_at[target.name] = time.monotonic()
        now = self.clock()
        if answer.ok:
            return self.ledger.delivered(state, n, note, answer, now), DELIVERED
        return self.ledger.failure(state, n, note, answer, now, give_up_at)

    def _fan_out(
        self,
        state: OutboxState,
        n: int,
        note: Notification,
        deadline: float,
        give_up_at: datetime,
        tally: dict[str, int],
    ) -> tuple[OutboxState, str | None]:
        """Go on sending notification ``n`` to the subscribers (``app.notify.fanout``): its
        outcome once finished or failed, SWEPT while mails wait to be tried again, None while
        subscribers are left (the budget ran out)."""
        assert self.fanout is not None
        result = self.fanout.run(n, note, deadline, give_up_at)
        tally[MAILS] += result.delivered
        now = self.clock()
        if result.error is not None:
            return self.ledger.failure(state, n, note, Answer(False, result.error), now, give_up_at)
        if result.done:
            return self.ledger.delivered(state, n, note, Answer(True, result.said), now), DELIVERED
        return state, SWEPT if result.swept else None

    def _pace(self, state: OutboxState, target: Target, deadline: float) -> bool:
        """Keep the channel's pace per target (Slack: one message a second); False when the
        budget is too short.

        The last attempt is known from this process (monotonic) and from the stored figures
        (another process, a ``toldfeed poll`` after ``serve``, delivered a moment before).
        """
        pace = self.channel(target.kind).pace_seconds
        if pace <= 0:
            return True
        waits = [0.0]
        if target.name in self._sent_at:
            waits.append(self._sent_at[target.name] + pace - time.monotonic())
        stats = state.targets.get(target.name)
        times = [t for t in (stats.last_success_at, stats.last_failure_at) if t] if stats else []
        if times:
            since = (self.clock() - max(times)).total_seconds()
            if 0 <= since < pace:
                waits.append(pace - since)
        wait = max(waits)
        if wait <= 0:
            return True
        if time.monotonic() + wait >= deadline:
            return False
        self.sleep(wait)
        return True
