"""The deliverer's books: each outcome of an attempt committed with the figures of its target,
in one transaction, and said in one log line (no address: subscribers are one target).

A delivered notification is removed (its target counts it), a failed one is kept with its
next attempt (``notify_backoff_seconds`` doubled per attempt, at most an hour, or the target's
``Retry-After``), a given-up one is kept with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from app.config import Settings
from app.notify.channel import Answer
from app.notify.retry import FAILED, GIVEN_UP, retry_wait
from app.store import Batch, Store
from app.store.records import Delivery, Notification, OutboxState, TargetStats

log = logging.getLogger("toldfeed.notify")


class Ledger:
    """Commits what became of each notification, with its target's figures."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def failure(
        self,
        state: OutboxState,
        n: int,
        note: Notification,
        answer: Answer,
        now: datetime,
        give_up_at: datetime,
    ) -> tuple[OutboxState, str]:
        """Commit a failed attempt: retried after the backoff, or given up at its time."""
        attempts = note.attempts + 1
        failed = replace(note, attempts=attempts, last_error=answer.said)
        if now >= give_up_at:
            return self.give_up(state, n, failed, answer.said, now, attempted=True), GIVEN_UP
        wait = retry_wait(self.settings, attempts, answer.retry_after)
        failed = replace(failed, next_attempt_at=min(now + timedelta(seconds=wait), give_up_at))
        return self.failed(state, n, failed, answer, now), FAILED

    def record(
        self,
        state: OutboxState,
        n: int,
        note: Notification | None,
        name: str,
        stats: TargetStats | None = None,
        done: bool = True,
    ) -> OutboxState:
        """Commit notification ``n`` as it stands and the bookkeeping, in one transaction."""
        pending = dict(state.pending)
        if done:
            pending.pop(n, None)
        targets = dict(state.targets)
        if stats is not None:
            targets[name] = stats
        state = replace(state, pending=pending, targets=targets)
        batch = Batch()
        Store.stage_notification(batch, n, note)
        if done:
            Store.stage_fanout(batch, n, None)  # a fan-out's progress goes with it
        Store.stage_outbox_state(batch, state)
        self.store.commit(batch)
        return state

    def stats(self, state: OutboxState, name: str) -> TargetStats:
        return state.targets.get(name, TargetStats())

    def delivered(
        self, state: OutboxState, n: int, note: Notification, answer: Answer, now: datetime
    ) -> OutboxState:
        stats = self.stats(state, note.target)
        stats = replace(stats, delivered=stats.delivered + 1, last_success_at=now)
        log.info(
            "notification delivered target=%s id=%s attempt=%d answer=%s",
            note.target,
            note.id,
            note.attempts + 1,
            answer.said,
        )
        return self.record(state, n, None, note.target, stats)  # delivered: removed

    def failed(
        self, state: OutboxState, n: int, note: Notification, answer: Answer, now: datetime
    ) -> OutboxState:
        stats = self.stats(state, note.target)
        stats = replace(stats, failed=stats.failed + 1, last_failure_at=now, last_error=answer.said)
        log.warning(
            "notification failed target=%s id=%s attempt=%d reason=%s next_attempt_at=%s",
            note.target,
            note.id,
            note.attempts,
            answer.said,
            note.next_attempt_at.isoformat() if note.next_attempt_at else "",
        )
        return self.record(state, n, note, note.target, stats, done=False)

    def give_up(
        self,
        state: OutboxState,
        n: int,
        note: Notification,
        reason: str,
        now: datetime,
        attempted: bool = False,
    ) -> OutboxState:
        stats = self.stats(state, note.target)
        stats = replace(
            stats,
            failed=stats.failed + (1 if attempted else 0),
            given_up=stats.given_up + 1,
            last_failure_at=now if attempted else stats.last_failure_at,
            # one never attempted (it waited behind a failing one) keeps the target's real error
            last_error=reason if attempted else (stats.last_error or reason),
        )
        kept = replace(note, state=Delivery.GIVEN_UP, last_error=reason, finished_at=now)
        log.error(
            "notification given up target=%s id=%s attempts=%d reason=%s",
            note.target,
            note.id,
            note.attempts,
            reason,
        )
        return self.record(state, n, kept, note.target, stats)
