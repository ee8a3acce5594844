"""Window times in text: the grammar of dates, clock times and ranges (pure).

A text is read as tokens (``clock_tokens``: date, clock time, range separator, anything else)
and windows are the shapes ``date time - date time``, ``date time - time``,
``time - date time``, ``time - time date`` and ``time - time``; a shape without its own start date takes it from
the other dates named nearby (the same line, the title, the lines before). Times are Danish
local time and come back in UTC; nothing ambiguous is guessed (``planned_times`` gives None).
The phrases are data in ``vocab.py``; how the times a timeline names move a window is
``app.upstream.windows``. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from app.upstream import vocab
from app.upstream.clock_tokens import GAP, Token, date_at, full_date, tokenize
from app.upstream.dates import exact_local, to_local
from app.upstream.text import is_ref_line, match_update, normalize

_FIRST_LINES = 3  # how many leading lines of a message may hold its planned times
UTC_WORDS = re.compile(r"\b(?:utc|gmt)\b")  # times said in UTC, not in Danish local time
UTC_ZONE_AFTER = re.compile(r"\s*\(?(?:utc|gmt|z)\b")
LOCAL_ZONE_AFTER = re.compile(r"\s*\(?(?:cet|cest|danish time|dansk tid|local time|lokal tid)\b")


class Span(NamedTuple):
    """A window as its shape names it (days may be missing, times are minutes)."""

    # no start day: one from the context; no end day: the start's (the next if the end is earlier)
    start_day: date | None
    start_min: int
    end_day: date | None
    end_min: int


@dataclass(slots=True)
class Reading:
    """What one piece of text names: windows, dates no window used, signs of trouble."""

    spans: list[Span] = field(default_factory=list)
    free: list[Token] = field(default_factory=list)  # dates no span used
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


def read_times(text: str) -> Reading:
    """The windows, free dates and stray times one piece of text names."""
    toks, broken = tokenize(normalize(text).casefold())
    kinds = "".join(t.kind for t in toks)
    reading, i = Reading(broken=broken), 0
    while i < len(toks):
        if (shape := _SHAPE_RE.match(kinds, i)) is None:
            reading.free += [toks[i]] if kinds[i] == "D" else []
            reading.stray_time |= kinds[i] == "T"
            i += 1
            continue
        t, (sd, sm, ed, em) = toks[i : shape.end()], _SHAPES[shape.group()]
        start_day, end_day = (None if k is None else t[k].day for k in (sd, ed))
        reading.spans.append(Span(start_day, t[sm].minutes, end_day, t[em].minutes))
        # a date whose year is not known cannot date a window
        reading.broken |= any(u.kind == "D" and u.day is None for u in t)
        i = shape.end()
    return reading


def local_at(day: date, minutes: int, utc: bool = False) -> datetime | None:
    """A Copenhagen wall-clock time on ``day`` in UTC; 24:00 is the next midnight. None for a
    time that names no single instant (the autumn hour that happens twice, the spring hour
    that never happens). With ``utc`` the text said its times are UTC."""
    day, hour, minute = day + timedelta(days=minutes // 1440), minutes % 1440 // 60, minutes % 60
    if utc:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    return exact_local(day, hour, minute)


def resolve_span(
    span: Span, contexts: Sequence[Sequence[Token]], utc: bool = False
) -> tuple[datetime, datetime] | None:
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
    start = local_at(start_day, span.start_min, utc)
    end = local_at(span.end_day or start_day + next_day, span.end_min, utc)
    return (start, end) if start and end and start < end else None


def _covers(window: tuple[datetime, datetime], dates: Iterable[Token]) -> bool:
    """True when every date a title names lies within the window (else one is a typo)."""
    first, last = (to_local(at).date() for at in window)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    month_days = [(d.month, d.day) for d in days]
    return all(t.day in days if t.day else t.month_day in month_days for t in dates)


@dataclass(frozen=True, slots=True)
class _Lines:
    """What the title and the first lines of a message say about times."""

    head: Reading
    body: list[Reading]  # up to the first line that names a window (or a stray time)
    later: list[Reading]  # the first lines after it: only another window counts there
    utc: bool  # the title or a line that names the window says its times are UTC


def _first_lines(title: str, lines: Sequence[str]) -> _Lines:
    head = read_times(title)
    texts = [title]
    body: list[Reading] = []
    later: list[Reading] = []
    for line in lines:
        if not normalize(line) or is_ref_line(line) or match_update(line, None):
            continue  # update lines move a window; derive_window reads them
        if len(body) + len(later) == _FIRST_LINES:
            break
        reading = read_times(line)
        if body and (body[-1].spans or body[-1].stray_time):
            later.append(reading)
        else:
            body.append(reading)
            texts.append(line)  # the text that names the window says in which time
        if body[-1].stray_time:
            break
    utc = any(UTC_WORDS.search(normalize(text).casefold()) for text in texts)
    return _Lines(head, body, later, utc)


def planned_in_utc(title: str, lines: Sequence[str]) -> bool:
    """True when the planned times are said in UTC (so are later ones without a zone)."""
    return _first_lines(title, lines).utc


def planned_times(title: str, lines: Sequence[str]) -> tuple[datetime, datetime] | None:
    """The planned window (UTC) the title or first lines name; None unless unambiguous.

    The first lines (up to ``_FIRST_LINES`` that are not update lines) are read; every window
    they and the title name must be the same one. Times are Danish local time unless the text
    says UTC (or GMT).
    """
    read = _first_lines(title, lines)
    head, body, utc = read.head, read.body, read.utc
    if any(r.broken or r.stray_time for r in (head, *body)):
        return None
    body_free = [t for r in body for t in r.free]
    found = [resolve_span(s, (head.free, body_free), utc) for s in head.spans]
    earlier = [t for r in body[:-1] for t in r.free]
    if body:
        found += [resolve_span(s, (body[-1].free, head.free, earlier), utc) for s in body[-1].spans]
    for reading in read.later:  # a second, different window in the first lines: ambiguous
        found += [w for s in reading.spans if (w := resolve_span(s, (reading.free,), utc))]
    windows = set(found)
    if len(windows) != 1:
        return None
    window = windows.pop()
    return window if window is not None and _covers(window, head.free) else None


def zone_of_first_time(text: str) -> str | None:
    """``"utc"`` or ``"local"`` when the first clock time of ``text`` names its zone right after
    it ("2359 UTC", "23.59 CET", "kl. 23.59 dansk tid"), else None."""
    at = _end_of_first_time(text)
    after = text[at : at + 20]
    if UTC_ZONE_AFTER.match(after):
        return "utc"
    if LOCAL_ZONE_AFTER.match(after):
        return "local"
    return None


def clock_after(text: str) -> tuple[date | None, int] | None:
    """The clock time (and its date, if any) that ``text`` opens with: "to 2000", "til kl.
    20.00", "to Wednesday May 20, 2026, 0200"; of "from 1800 to 1830" the second."""
    toks, broken = tokenize(text)
    kinds = "".join(t.kind for t in toks)
    # a time further on ("extended. Next update at 21:00") is no new end
    if broken or not (shape := re.match(r"TST|S?D?T", kinds)):
        return None
    day = toks[shape.end() - 2].day if kinds[shape.end() - 2 : shape.end()] == "DT" else None
    if day is None and (on := _ON_DATE.match(text, _end_of_first_time(text))):
        day = _full_date_of(on)  # "to 2000 on Sunday March 26, 2023"
    return day, toks[shape.end() - 1].minutes


_ON_DATE = re.compile(r"[\s,]*(?:on|den|d\.)\s+")


def _end_of_first_time(text: str) -> int:
    """Where the first clock time of ``text`` ends (its length when there is none)."""
    pos = 0
    while pos < len(text):
        if (match := date_at(text, pos)) is not None:
            pos = match.end()
            continue
        gap = GAP.match(text, pos)
        assert gap is not None
        if gap["time"]:
            return gap.end()
        pos = gap.end()
    return pos


def _full_date_of(on: re.Match[str]) -> date | None:
    """The dated day right after ``on`` (a year is needed), or None."""
    match = date_at(on.string, on.end())
    if match is None or not match["y"]:
        return None
    weekday = vocab.WINDOW_WEEKDAYS[match["wd"]] if match["wd"] else None
    month = vocab.WINDOW_MONTHS[match["mon"]]
    return full_date(int(match["y"]), month, int(match["d"]), weekday)
