"""Dates, clock times and range separators in text, as tokens (pure): the words of
``window_times``'s grammar. The phrases are data in ``vocab.py``. No I/O, no clock."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.upstream import vocab


def _names(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_WD = rf"(?:(?P<wd>{_names(vocab.WINDOW_WEEKDAYS)})\.?,?\s+(?:the\s+|den\s+)?)"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?(?!\d)"
# a year is never the start of a time range ("May 19 2030-2300" has no year)
_YEAR = r"(?:,?\s*(?P<y>(?:19|20)\d{2})(?![\d:]|\.\d|\s*(?:[-–—]|to\b|til\b)\s*\d))"
_MON = rf"(?P<mon>{_names(vocab.WINDOW_MONTHS)})\b\.?"
_DATE_MD = re.compile(rf"\b{_WD}?{_MON}\s+{_DAY}{_YEAR}?")
_DATE_DM = re.compile(rf"\b(?:{_WD}|den\s+)?{_DAY}\s+(?:of\s+)?{_MON}{_YEAR}?")
GAP = re.compile(
    r"(?P<numeric>\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b)"
    r"|(?P<time>(?<![\w.:])(?:(?P<hh>[01]\d|2[0-4])(?P<mm>[0-5]\d)"
    r"|(?P<h>[01]?\d|2[0-4])[.:](?P<m>[0-5]\d))(?![\w:]|[.,]\d))"
    rf"|(?P<sep>[-–—‐−]|\b(?:{_names(vocab.WINDOW_RANGE_WORDS)})\b)"
    rf"|(?P<glue>,|\b(?:{_names(vocab.WINDOW_TIME_GLUE)})\b\.?)"
    r"|(?P<space>\s+)|\w+|."
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: a date, a clock time, a range separator or a break (anything else)."""

    kind: str  # D(ate), T(ime), S(eparator) or B(reak: anything else)
    day: date | None = None  # None for a date whose year is not known
    month_day: tuple[int, int] = (0, 0)
    minutes: int = 0  # clock time in minutes after midnight; 24:00 is 1440


def full_date(year: int, month: int, day: int, weekday: int | None) -> date | None:
    """The date, or None when it does not exist or its weekday says otherwise."""
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if weekday is None or found.weekday() == weekday else None


# what a date can begin with besides a digit: a weekday's or a month's first letter, or "den"
_DATE_FIRST = frozenset(w[0] for w in (*vocab.WINDOW_WEEKDAYS, *vocab.WINDOW_MONTHS, "den"))


def date_at(text: str, pos: int) -> re.Match[str] | None:
    if pos >= len(text) or not (text[pos] in _DATE_FIRST or text[pos].isdecimal()):
        return None  # the two patterns cannot match here: no need to try them
    found = [m for r in (_DATE_MD, _DATE_DM) if (m := r.match(text, pos))]
    # "2 may" with neither year nor weekday is too often no date at all ("step 2 may fail")
    found = [m for m in found if m.re is _DATE_MD or m["y"] or m["wd"]]
    return max(found, key=lambda m: m.end(), default=None)


@functools.lru_cache(maxsize=4096)
def tokenize(text: str) -> tuple[tuple[Token, ...], bool]:
    """Tokens of case-folded ``text`` (glue and spaces dropped) and whether a date is bad.

    Cached: an incident is derived again at every poll that reads it, from the same texts.
    """
    toks: list[Token] = []
    broken, pos = False, 0
    while pos < len(text):
        if (match := date_at(text, pos)) is not None:
            pos = match.end()
            month, day = vocab.WINDOW_MONTHS[match["mon"]], int(match["d"])
            weekday = vocab.WINDOW_WEEKDAYS[match["wd"]] if match["wd"] else None
            year = int(match["y"]) if match["y"] else None
            full = full_date(year or 2000, month, day, weekday if year else None)  # a leap year
            broken |= full is None
            toks.append(Token("D", full if year else None, (month, day)))
            continue
        gap = GAP.match(text, pos)
        assert gap is not None  # the last alternative matches any character
        pos = gap.end()
        if gap["time"]:
            hour, minute = int(gap["hh"] or gap["h"]), int(gap["mm"] or gap["m"])
            # 24:00 closes a day; 24:30 is no clock time
            kind = "T" if hour < 24 or minute == 0 else "B"
            toks.append(Token(kind, minutes=hour * 60 + minute))
        elif gap["sep"]:
            toks.append(Token("S"))
        elif not (gap["glue"] or gap["space"]) and not (toks and toks[-1].kind == "B"):
            toks.append(Token("B"))
    return tuple(toks), broken
