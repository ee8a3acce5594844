"""Service-window times and the fallback state, read from titles, text and timeline (pure).

SPEC.md section 9. Times are Danish local time and come back in UTC. Nothing ambiguous is
guessed: an unreadable time (``1800-20150``), an invalid date, a weekday that contradicts its
date or two different windows give no time at all, never a wrong one. The phrases are data in
``vocab.py``; this module holds the grammar and the rules only. No I/O, no clock.

A text is read as tokens (date, clock time, range separator, anything else) and windows are
the shapes ``date time - date time``, ``date time - time``, ``time - date time``,
``time - time date`` and ``time - time``; a shape without its own start date takes it from
the other dates named nearby (the same line, the title, the lines before).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from app.model import Fallback, Update, Window
from app.upstream import vocab
from app.upstream.dates import combine_local, to_local
from app.upstream.text import is_ref_line, match_update, normalize

_MIN_AT = datetime.min.replace(tzinfo=UTC)
_FIRST_LINES = 3  # how many leading lines of a message may hold its planned times


def _names(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _phrases(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_WD = rf"(?:(?P<wd>{_names(vocab.WINDOW_WEEKDAYS)})\.?,?\s+(?:the\s+|den\s+)?)"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?(?!\d)"
# a year is never the start of a time range ("May 19 2030-2300" has no year)
_YEAR = r"(?:,?\s*(?P<y>(?:19|20)\d{2})(?![\d.:]|\s*(?:[-–—]|to\b|til\b)\s*\d))"
_MON = rf"(?P<mon>{_names(vocab.WINDOW_MONTHS)})\b\.?"
_DATE_MD = re.compile(rf"\b{_WD}?{_MON}\s+{_DAY}{_YEAR}?")
_DATE_DM = re.compile(rf"\b(?:{_WD}|den\s+)?{_DAY}\s+(?:of\s+)?{_MON}{_YEAR}?")
_GAP = re.compile(
    r"(?P<numeric>\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b)"
    r"|(?P<time>(?<![\w.:])(?:(?P<hh>[01]\d|2[0-4])(?P<mm>[0-5]\d)"
    r"|(?P<h>[01]?\d|2[0-4])[.:](?P<m>[0-5]\d))(?![\w:]|[.,]\d))"
    rf"|(?P<sep>[-–—‐−]|\b(?:{_names(vocab.WINDOW_RANGE_WORDS)})\b)"
    rf"|(?P<glue>,|\b(?:{_names(vocab.WINDOW_TIME_GLUE)})\b\.?)"
    r"|(?P<space>\s+)|\w+|."
)
_COMPLETED = _phrases(vocab.WINDOW_COMPLETED)
_CANCELLED = _phrases(vocab.WINDOW_CANCELLED)
_NOT_CANCELLED = _phrases(vocab.WINDOW_NOT_CANCELLED)
_EXTENDED = _phrases(vocab.WINDOW_EXTENDED)
_EXTENDED_BY = re.compile(vocab.WINDOW_EXTENDED_BY)
_START_MOVED = _phrases(vocab.WINDOW_START_MOVED)
_RESCHEDULED = _phrases(vocab.WINDOW_RESCHEDULED)
_FALLBACK = _phrases(vocab.FALLBACK_SUBJECT)
_NOT_ALLOWED = _phrases(
    (*vocab.FALLBACK_WITHDRAWN, *vocab.FALLBACK_RESTRICTED, *vocab.FALLBACK_DENIED)
)
_ALLOWED = _phrases(vocab.FALLBACK_ALLOWED)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # D(ate), T(ime), S(eparator) or B(reak: anything else)
    day: date | None = None  # None for a date whose year is not known
    month_day: tuple[int, int] = (0, 0)
    minutes: int = 0  # clock time in minutes after midnight; 24:00 is 1440


class _Span(NamedTuple):
    # no start day: one from the context; no end day: the start's (the next if the end is earlier)
    start_day: date | None
    start_min: int
    end_day: date | None
    end_min: int


@dataclass(slots=True)
class _Reading:
    spans: list[_Span] = field(default_factory=list)
    free: list[_Tok] = field(default_factory=list)  # dates no span used
    stray_time: bool = False  # a clock time in no window: unreadable ("1800-20150")
    broken: bool = False  # an impossible date, a contradicting weekday, a year-less date used


# window shapes over token kinds, longest first; in "1800-2300 Tuesday May 19, 2026, 0800-1200"
# a date followed by a time starts the next window
_SHAPE_RE = re.compile(r"DTSDT|DTST|TSDT|TSTD(?!T)|TST")
# which token of a shape gives the start day, start time, end day and end time
_SHAPES: dict[str, tuple[int | None, int, int | None, int]] = {
    "DTSDT": (0, 1, 3, 4),  # Friday June 6, 2025, 2100 – Saturday June 7, 2025, 2200
    "DTST": (0, 1, None, 3),  # Tuesday May 19, 2026, 1800-2300
    "TSDT": (None, 0, 2, 3),  # 2100 – Saturday June 7, 2025, 2200
    "TSTD": (3, 0, None, 2),  # 1800-2300 Tuesday May 19, 2026
    "TST": (None, 0, None, 2),  # 08.00-20.00
}


def _full_date(year: int, month: int, day: int, weekday: int | None) -> date | None:
    """The date, or None when it does not exist or its weekday says otherwise."""
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if weekday is None or found.weekday() == weekday else None


def _date_at(text: str, pos: int) -> re.Match[str] | None:
    found = [m for r in (_DATE_MD, _DATE_DM) if (m := r.match(text, pos))]
    # "2 may" with neither year nor weekday is too often no date at all ("step 2 may fail")
    found = [m for m in found if m.re is _DATE_MD or m["y"] or m["wd"]]
    return max(found, key=lambda m: m.end(), default=None)


def _tokens(text: str) -> tuple[list[_Tok], bool]:
    """Tokens of case-folded ``text`` (glue and spaces dropped) and whether a date is bad."""
    toks: list[_Tok] = []
    broken, pos = False, 0
    while pos < len(text):
        if (match := _date_at(text, pos)) is not None:
            pos = match.end()
            month, day = vocab.WINDOW_MONTHS[match["mon"]], int(match["d"])
            weekday = vocab.WINDOW_WEEKDAYS[match["wd"]] if match["wd"] else None
            year = int(match["y"]) if match["y"] else None
            full = _full_date(year or 2000, month, day, weekday if year else None)  # a leap year
            broken |= full is None
            toks.append(_Tok("D", full if year else None, (month, day)))
            continue
        gap = _GAP.match(text, pos)
        assert gap is not None  # the last alternative matches any character
        pos = gap.end()
        if gap["time"]:
            hour, minute = int(gap["hh"] or gap["h"]), int(gap["mm"] or gap["m"])
            # 24:00 closes a day; 24:30 is no clock time
            kind = "T" if hour < 24 or minute == 0 else "B"
            toks.append(_Tok(kind, minutes=hour * 60 + minute))
        elif gap["sep"]:
            toks.append(_Tok("S"))
        elif not (gap["glue"] or gap["space"]) and not (toks and toks[-1].kind == "B"):
            toks.append(_Tok("B"))
    return toks, broken


def _read(text: str) -> _Reading:
    """The windows, free dates and stray times one piece of text names."""
    toks, broken = _tokens(normalize(text).casefold())
    kinds = "".join(t.kind for t in toks)
    reading, i = _Reading(broken=broken), 0
    while i < len(toks):
        if (shape := _SHAPE_RE.match(kinds, i)) is None:
            reading.free += [toks[i]] if kinds[i] == "D" else []
            reading.stray_time |= kinds[i] == "T"
            i += 1
            continue
        t, (sd, sm, ed, em) = toks[i : shape.end()], _SHAPES[shape.group()]
        start_day, end_day = (None if k is None else t[k].day for k in (sd, ed))
        reading.spans.append(_Span(start_day, t[sm].minutes, end_day, t[em].minutes))
        # a date whose year is not known cannot date a window
        reading.broken |= any(u.kind == "D" and u.day is None for u in t)
        i = shape.end()
    return reading


def _at(day: date, minutes: int) -> datetime | None:
    """A Copenhagen wall-clock time on ``day`` in UTC; 24:00 is the next midnight."""
    return combine_local(day + timedelta(days=minutes // 1440), minutes % 1440 // 60, minutes % 60)


def _resolve(span: _Span, contexts: Sequence[Sequence[_Tok]]) -> tuple[datetime, datetime] | None:
    """A span's instants; a missing start day must be the one date of the nearest context."""
    start_day = span.start_day
    if start_day is None:
        # "2100 – Saturday June 7, 2025, 2200" starts on a day before the one it names
        options = (
            {t.day for t in c if t.day and t.day < (span.end_day or date.max)} for c in contexts
        )
        days = next((found for found in options if found), set())
        if len(days) != 1:
            return None
        (start_day,) = days
    if span.end_day is None and span.end_min == span.start_min:
        return None  # no length, or a whole day: one cannot tell
    next_day = timedelta(days=1 if span.end_min < span.start_min else 0)
    start = _at(start_day, span.start_min)
    end = _at(span.end_day or start_day + next_day, span.end_min)
    return (start, end) if start and end and start < end else None


def _covers(window: tuple[datetime, datetime], dates: Iterable[_Tok]) -> bool:
    """True when every date a title names lies within the window (else one is a typo)."""
    first, last = (to_local(at).date() for at in window)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    month_days = [(d.month, d.day) for d in days]
    return all(t.day in days if t.day else t.month_day in month_days for t in dates)


def planned_times(title: str, lines: Sequence[str]) -> tuple[datetime, datetime] | None:
    """The planned window (UTC) the title or first lines name; None unless unambiguous."""
    head = _read(title)
    body: list[_Reading] = []
    for line in lines:
        if not normalize(line) or is_ref_line(line) or match_update(line, None):
            continue  # update lines move a window; derive_window reads them
        body.append(_read(line))
        if body[-1].spans or body[-1].stray_time or len(body) == _FIRST_LINES:
            break
    if any(r.broken or r.stray_time for r in (head, *body)):
        return None
    earlier = [t for r in body[:-1] for t in r.free]
    found = [_resolve(s, (head.free, [t for r in body for t in r.free])) for s in head.spans]
    if body:
        found += [_resolve(s, (body[-1].free, head.free, earlier)) for s in body[-1].spans]
    windows = set(found)
    if len(windows) != 1:
        return None
    window = windows.pop()
    return window if window is not None and _covers(window, head.free) else None


@dataclass(slots=True)
class _Plan:
    start_at: datetime | None = None
    end_at: datetime | None = None
    cancelled: bool = False
    sequence: int = 0
    stated: tuple[datetime, datetime] | None = None  # what the versions last said

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
        plan.move(*stated)
    plan.cancelled |= _cancels(normalize(title).casefold())


def _clock_after(text: str) -> tuple[date | None, int] | None:
    """The clock time (and its date, if any) that ``text`` opens with: "to 2000", "til kl.
    20.00", "to Wednesday May 20, 2026, 0200"; of "from 1800 to 1830" the second."""
    toks, broken = _tokens(text)
    kinds = "".join(t.kind for t in toks)
    # a time further on ("extended. Next update at 21:00") is no new end
    if broken or not (shape := re.match(r"TST|S?D?T", kinds)):
        return None
    return (toks[shape.end() - 2].day if shape.end() > 1 else None), toks[shape.end() - 1].minutes


def _rescheduled(text: str) -> tuple[datetime, datetime] | None:
    """The new window a line names in full (with its day) after a word that moves it."""
    if (moved := _RESCHEDULED.search(text)) is None:
        return None
    tail = _read(text[moved.end() :])
    if tail.broken or len(tail.spans) != 1:
        return None
    span = tail.spans[0]
    # "postponed from 1800 to 1830" names no day: it moves the start, not the whole window
    return _resolve(span, (tail.free,)) if span.start_day or span.end_day else None


def _new_times(plan: _Plan, text: str) -> tuple[datetime, datetime]:
    """The window after a line that postpones the start or extends the end."""
    start, end = plan.start_at, plan.end_at
    assert start is not None and end is not None
    if (moved := _START_MOVED.search(text)) and (clock := _clock_after(text[moved.end() :])):
        day = clock[0] or to_local(start).date()
        new = _at(day, clock[1])
        later = _at(day + timedelta(days=1), clock[1])
        if clock[0] is None and new and new < start and later and later < end:
            new = later  # 23:00 postponed to 00:30 means the night after
        start = new if new and new < end else start
    if moved := _EXTENDED.search(text):
        after = text[moved.end() :]
        if by := _EXTENDED_BY.match(after.strip()):
            count = by["count"]
            number = int(count) if count.isdigit() else vocab.WINDOW_DURATION_WORDS[count]
            end = end + timedelta(minutes=number * vocab.WINDOW_DURATION_UNITS[by["unit"]])
        elif clock := _clock_after(after):
            day = clock[0] or to_local(end).date()
            new = _at(day, clock[1])
            if new is not None and clock[0] is None and new <= start:
                new = _at(day + timedelta(days=1), clock[1])
            end = new if new is not None and new > start else end
    return start, end


def _apply_update(plan: _Plan, update: Update) -> None:
    text = normalize(update.text).casefold()
    if _COMPLETED.search(text):
        return  # the end of a window is news, not a new time
    if (whole := _rescheduled(text)) is not None:
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


def _fallback_verdict(text: str) -> bool | None:
    """True/False when a sentence of ``text`` says whether the fallback may be used."""
    sentences = re.split(r"(?<=[.!?;])\s+", normalize(text).casefold())
    about = [s for s in sentences if _FALLBACK.search(s)]
    if any(_NOT_ALLOWED.search(s) for s in about):
        return False  # checked first: "not allowed" contains "allowed"
    return True if any(_ALLOWED.search(s) for s in about) else None


def derive_fallback(statements: Sequence[tuple[datetime | None, str]]) -> Fallback | None:
    """The fallback state the latest statement about it gives; None when nothing is said."""
    said = [(at, v) for at, text in statements if (v := _fallback_verdict(text)) is not None]
    # undated text is the oldest; at one instant "not allowed" is taken as the later word
    said.sort(key=lambda s: (s[0] is not None, s[0] or _MIN_AT, not s[1]))
    if not said:
        return None
    allowed = said[-1][1]
    # a permission repeated in every version was given when it was first said
    run = list(itertools.takewhile(lambda s: s[1] == allowed, reversed(said)))
    return Fallback(allowed, min((at for at, _ in run if at is not None), default=None))
