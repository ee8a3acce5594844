"""The deliverer's small print: when to try again (backoff doubled per attempt, a target's
``Retry-After`` if longer), when a time-driven notification is too late to send, what a pass
reports, and the lock it runs under. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app.config import Settings
from app.notify.timed import DIGEST, OVERRUN, REMINDER, STARTED
from app.site.system_state import OVERRUN_SHOWN
from app.store.records import Notification

MAX_BACKOFF_SECONDS = 3600.0
DELIVERED, FAILED, GIVEN_UP = "delivered", "failed", "given_up"  # outcomes of an attempt
SWEPT = "swept"  # a fan-out that reached every subscriber once; some mails wait for a retry
MAILS = "mails"  # mails to subscribers (a fan-out's attempt sends many)
IDLE_SECONDS = 2.0  # how often the serving loop looks for due notifications


class Lock(Protocol):
    """An inter-process lock (``app.store.locks.PollLock`` on another file)."""

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        """Take the lock, waiting up to ``wait_seconds``; False when another holds it."""
        ...

    def release(self) -> None:
        """Release the lock."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did; ``busy`` when another process was delivering."""

    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    pending: int = 0
    busy: bool = False
    mails: int = 0  # mails sent to self-service subscribers


def retry_wait(settings: Settings, attempts: int, retry_after: float | None) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    wait = settings.notify_backoff_seconds * 2.0 ** max(0, attempts - 1)
    return max(min(MAX_BACKOFF_SECONDS, wait), retry_after or 0.0)


_TOO_LATE = {
    REMINDER: "too late: the window has started",
    STARTED: "too late: the window's planned end has passed",
    OVERRUN: "too late: the planned end passed more than "
    f"{OVERRUN_SHOWN // timedelta(hours=1)} hours ago",
    DIGEST: "too late: the next digest is due",
}


def too_late(note: Notification, now: datetime) -> str:
    """Why ``note`` must not be sent any more at ``now`` (a reminder after the start), or ""."""
    if note.timing is None or now < note.timing.until:
        return ""
    return _TOO_LATE.get(note.event, "too late")
