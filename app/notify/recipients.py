"""Who is told about time, and how: a ``Recipient`` and its choices. Pure.

The passes over the clock (``app.notify.clockwork``) work on recipients, not on the targets
file: a push target gives one (``Target.recipient``), and any other kind of recipient (a
self-service subscriber) gives one the same way, with a ``name`` unique in the outbox.

Leads are written as a duration: ``24h``, ``1h``, ``90m``, ``1h30m``, ``2d`` (days, hours,
minutes, in that order, each at most once); the digest's time as ``HH:MM`` in Danish local
time (``app.config.parse_clock``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from app.model import Lang

MAX_LEAD_SECONDS = 7 * 86400  # a reminder at most a week ahead
_LEAD = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One receiver of time-driven notifications, with its choices.

    ``leads``: reminders this many seconds before a window's start; ``window_events``: "started"
    and "not reported complete"; ``digest_at``: a daily digest at this Danish local time;
    ``digest_only``: the digest and nothing else (no change notifications either). ``systems``
    (empty: all) narrows every kind, the digest too.
    """

    name: str
    lang: Lang = Lang.EN
    systems: frozenset[str] = frozenset()
    leads: frozenset[int] = frozenset()
    window_events: bool = False
    digest_at: time | None = None
    digest_only: bool = False

    def names_any(self, systems: frozenset[str] | tuple[str, ...]) -> bool:
        """Whether something naming ``systems`` passes this recipient's systems."""
        return not self.systems or not self.systems.isdisjoint(systems)

    @property
    def told_of_time(self) -> bool:
        """Whether this recipient chose anything a pass over the clock sends."""
        return bool(self.leads or self.window_events or self.digest_at is not None)


def parse_lead(text: str) -> int:
    """``1h30m`` → 5400 (seconds); ValueError naming the accepted forms when unreadable."""
    match = _LEAD.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"cannot read the lead {text!r}: write it like 24h, 1h, 90m, 1h30m or 2d")
    seconds = sum(
        int(match[unit] or 0) * size for unit, size in zip("dhm", (86400, 3600, 60), strict=True)
    )
    if not 0 < seconds <= MAX_LEAD_SECONDS:
        raise ValueError(f"the lead {text!r} must be more than 0 and at most 7 days")
    return seconds
