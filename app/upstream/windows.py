"""Service-window times and the fallback state, read from titles, text and timeline (pure).

SPEC.md section 9. Times are Danish local time and come back in UTC. Nothing ambiguous is
guessed: an unreadable time (``1800-20150``), an invalid date, a weekday that contradicts its
date or two different windows give no time at all, never a wrong one. The phrases are data in
``vocab.py``; the grammar of dates and times is ``app.upstream.window_times``; this module
holds the rules: how versions and update lines plan, move, extend and cancel a window, and
what the latest statement about the fallback procedure says. No I/O, no clock.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.model import Fallback, Update, Window
from app.upstream import vocab
from app.upstream.dates import to_local
from app.upstream.text import normalize
from app.upstream.window_times import (
    UTC_WORDS,
    clock_after,
    local_at,
    planned_in_utc,
    planned_times,
    read_times,
    resolve_span,
    zone_of_first_time,
)

_MIN_AT = datetime.min.replace(tzinfo=UTC)


def _phrases(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_COMPLETED = _phrases(vocab.WINDOW_COMPLETED)
_CANCELLED = _phrases(vocab.WINDOW_CANCELLED)
_NOT_CANCELLED = _phrases(vocab.WINDOW_NOT_CANCELLED)
_EXTENDED = _phrases(vocab.WINDOW_EXTENDED)
_EXTENDED_BY = re.compile(vocab.WINDOW_EXTENDED_BY)
_START_MOVED = _phrases(vocab.WINDOW_START_MOVED)
_RESCHEDULED = _phrases(vocab.WINDOW_RESCHEDULED)
_FALLBACK = _phrases(vocab.FALLBACK_SUBJECT)
_DENIED = _phrases((*vocab.FALLBACK_WITHDRAWN, *vocab.FALLBACK_DENIED))
_RESTRICTED = _phrases(vocab.FALLBACK_RESTRICTED)
_ALLOWED = _phrases(vocab.FALLBACK_ALLOWED)


@dataclass(slots=True)
class _Plan:
    start_at: datetime | None = None
    end_at: datetime | None = None
    cancelled: bool = False
    sequence: int = 0
    stated: tuple[datetime, datetime] | None = None  # what the versions last said
    utc: bool = False  # the versions said the times in UTC: so are later ones without a zone

    def move(self, start_at: datetime, end_at: datetime) -> None:
        if self.start_at is not None and (start_at, end_at) != (self.start_at, self.end_at):
            self.sequence += 1
        self.start_at, self.end_at = start_at, end_at


def _cancels(text: str) -> bool:
    return _CANCELLED.search(text) is not None and _NOT_CANCELLED.search(text) is None


def _apply_version(plan: _Plan, title: str, lines: Sequence[str]) -> None:
    stated = planned_times(title, lines)
    if stated is not None and stated != plan.stated:
        if plan.stated is not None:
            plan.cancelled = False  # a new plan revives a cancelled window
        plan.stated = stated
        plan.utc = planned_in_utc(title, lines)
        plan.move(*stated)
    plan.cancelled |= _cancels(normalize(title).casefold())


def _in_utc(plan: _Plan, text: str) -> bool:
    """Whether the first clock time of ``text`` is UTC: it says so after it, or it names no
    zone and the plan's times were UTC."""
    zone = zone_of_first_time(text)
    return zone == "utc" or (zone is None and plan.utc)


def _rescheduled(plan: _Plan, text: str) -> tuple[datetime, datetime] | None:
    """The new window a line names in full (with its day) after a word that moves it."""
    if (moved := _RESCHEDULED.search(text)) is None:
        return None
    tail_text = text[moved.end() :]
    tail = read_times(tail_text)
    if tail.broken or len(tail.spans) != 1:
        return None
    span = tail.spans[0]
    utc = _in_utc(plan, tail_text) or bool(UTC_WORDS.search(tail_text))  # "... 1800-2300 UTC"
    # "postponed from 1800 to 1830" names no day: it moves the start, not the whole window
    return resolve_span(span, (tail.free,), utc) if span.start_day or span.end_day else None


def _new_times(plan: _Plan, text: str) -> tuple[datetime, datetime]:
    """The window after a line that postpones the start or extends the end."""
    start, end = plan.start_at, plan.end_at
    assert start is not None and end is not None

    def day_of(at: datetime, utc: bool) -> date:
        return at.date() if utc else to_local(at).date()

    if (moved := _START_MOVED.search(text)) and (clock := clock_after(text[moved.end() :])):
        utc = _in_utc(plan, text[moved.end() :])  # "postponed to 1830 UTC"
        day = clock[0] or day_of(start, utc)
        new = local_at(day, clock[1], utc)
        later = local_at(day + timedelta(days=1), clock[1], utc)
        if clock[0] is None and new and new < start and later and later < end:
            new = later  # 23:00 postponed to 00:30 means the night after
        start = new if new and new < end else start
    if moved := _EXTENDED.search(text):
        after = text[moved.end() :]
        if by := _EXTENDED_BY.match(after.strip()):
            for count, unit in ((by["count"], by["unit"]), (by["count2"], by["unit2"])):
                if count:
                    # \d took it: a decimal digit of any script, which int() reads
                    number = int(count) if count.isdigit() else vocab.WINDOW_DURATION_WORDS[count]
                    end = end + timedelta(minutes=number * vocab.WINDOW_DURATION_UNITS[unit])
        elif clock := clock_after(after):
            utc = _in_utc(plan, after)  # "extended to 2359 UTC", "to 2359 CET (2159 UTC)"
            day = clock[0] or day_of(end, utc)
            new = local_at(day, clock[1], utc)
            if new is not None and clock[0] is None and new <= start:
                new = local_at(day + timedelta(days=1), clock[1], utc)
            end = new if new is not None and new > start else end
    return start, end


def _apply_update(plan: _Plan, update: Update) -> None:
    text = normalize(update.text).casefold()
    if _COMPLETED.search(text):
        return  # the end of a window is news, not a new time
    if (whole := _rescheduled(plan, text)) is not None:
        plan.cancelled = False  # "cancelled and moved to ...": the new window is on
        plan.move(*whole)
    elif _cancels(text):
        plan.cancelled = True
    elif plan.start_at is not None:
        plan.move(*_new_times(plan, text))


def derive_window(
    versions: Sequence[tuple[datetime, str, Sequence[str]]], updates: Sequence[Update]
) -> Window | None:
    """The window an incident's versions and timeline describe, its changes counted."""
    plan = _Plan()
    # an update without any time comes last, as it can only follow the announcement
    queue = sorted(updates, key=lambda u: (u.sort_at is None, u.sort_at or _MIN_AT, u.text))
    for at, title, lines in sorted(versions, key=lambda v: (v[0], v[1], tuple(v[2]))):
        # an update dated before any planned times (only the latest version was passed, say)
        # waits for them: it can only move a window already announced
        while plan.start_at and queue and queue[0].sort_at and queue[0].sort_at < at:
            _apply_update(plan, queue.pop(0))
        _apply_version(plan, title, lines)
    for update in queue:
        _apply_update(plan, update)
    if plan.start_at is None:
        return None
    return Window(plan.start_at, plan.end_at, plan.cancelled, plan.sequence)


def _fallback_verdict(text: str) -> str | None:
    """ "denied", "restricted" or "allowed" when a sentence of ``text`` says whether the
    fallback may be used; None when none does."""
    sentences = re.split(r"(?<=[.!?;])\s+", normalize(text).casefold())
    about = [s for s in sentences if _FALLBACK.search(s)]
    # checked in this order: "not allowed" and "only if necessary" read as "allowed" too
    for verdict, phrases in (("denied", _DENIED), ("restricted", _RESTRICTED)):
        if any(phrases.search(s) for s in about):
            return verdict
    return "allowed" if any(_ALLOWED.search(s) for s in about) else None


def derive_fallback(statements: Sequence[tuple[datetime | None, str]]) -> Fallback | None:
    """The fallback state the latest statement about it gives; None when nothing is said."""
    said = [(at, v) for at, text in statements if (v := _fallback_verdict(text)) is not None]
    # undated text is the oldest; at one instant "not allowed" is taken as the later word
    said.sort(key=lambda s: (s[0] is not None, s[0] or _MIN_AT, s[1] != "allowed"))
    if not said:
        return None
    verdict = said[-1][1]
    # a permission repeated in every version was given when it was first said
    run = list(itertools.takewhile(lambda s: s[1] == verdict, reversed(said)))
    since = min((at for at, _ in run if at is not None), default=None)
    return Fallback(verdict == "allowed", since, restricted=verdict == "restricted")
