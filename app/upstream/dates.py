"""Upstream date formats, read as Europe/Copenhagen local time and returned as UTC.

Pure functions. Formats (SPEC.md section 6): ``DD-MM-YYYY kl. HH:MM``, ``DD-MM-YYYY HH:MM:SS``,
``DD Mon YYYY HH:MM`` (English or Danish month, either case), ``YYYY-MM-DD HH:MM``. An
ambiguous autumn hour is read as the first occurrence (summer time); a time in the spring gap
is shifted forward by the gap, as zoneinfo does. Anything else is None: never guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

MONTHS: dict[str, int] = {}
for _n, _names in enumerate(
    [
        ("jan", "january", "januar"),
        ("feb", "february", "februar"),
        ("mar", "march", "marts", "mrt"),
        ("apr", "april"),
        ("may", "maj"),
        ("jun", "june", "juni"),
        ("jul", "july", "juli"),
        ("aug", "august"),
        ("sep", "sept", "september"),
        ("oct", "okt", "october", "oktober"),
        ("nov", "november"),
        ("dec", "december"),
    ],
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _n

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))

_DMY = re.compile(
    r"^(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})(?:\s+(?:kl\.?\s*)?(?P<H>\d{1,2})[:.](?P<M>\d{2})"
    r"(?::(?P<S>\d{2}))?)?$",
    re.IGNORECASE,
)
_YMD = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2}))?)?$"
)
_DMONY = re.compile(
    rf"^(?P<d>\d{{1,2}})\.?\s+(?P<mon>{_MONTH_RE})\.?\s+(?P<y>\d{{4}})"
    r"(?:,?\s+(?:kl\.?\s*)?(?P<H>\d{1,2})[:.](?P<M>\d{2}))?$",
    re.IGNORECASE,
)


def local_to_utc(value: datetime) -> datetime:
    """Read a naive Copenhagen wall-clock time and return it in UTC (DST aware)."""
    return value.replace(tzinfo=COPENHAGEN, fold=0).astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to Copenhagen local time."""
    return value.astimezone(COPENHAGEN)


def exact_local(day: date, hour: int, minute: int) -> datetime | None:
    """A Copenhagen wall-clock time in UTC when it names exactly one instant; None for the
    hour that happens twice (autumn) and the one that never happens (spring)."""
    try:
        wall = datetime.combine(day, time(hour, minute))
    except ValueError:
        return None
    first, second = (wall.replace(tzinfo=COPENHAGEN, fold=f).astimezone(UTC) for f in (0, 1))
    if first != second or first.astimezone(COPENHAGEN).replace(tzinfo=None) != wall:
        return None
    return first


def combine_local(day: date, hour: int, minute: int, second: int = 0) -> datetime | None:
    """Build a UTC instant from a local date and clock time; None when out of range."""
    try:
        return local_to_utc(datetime.combine(day, time(hour, minute, second)))
    except ValueError:
        return None


def _build(
    y: str, m: int, d: str, hh: str | None, mm: str | None, ss: str | None
) -> datetime | None:
    try:
        naive = datetime(int(y), m, int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None
    return local_to_utc(naive)


def parse_local(text: str) -> datetime | None:
    """Parse any upstream timestamp format; UTC result, or None when unreadable."""
    value = " ".join(text.replace("\xa0", " ").split()).strip().rstrip(".")
    if not value:
        return None
    if match := _DMY.match(value):
        g = match.groupdict()
        return _build(g["y"], int(g["m"]), g["d"], g["H"], g["M"], g["S"])
    if match := _YMD.match(value):
        g = match.groupdict()
        return _build(g["y"], int(g["m"]), g["d"], g["H"], g["M"], g["S"])
    if match := _DMONY.match(value):
        g = match.groupdict()
        return _build(g["y"], MONTHS[g["mon"].lower()], g["d"], g["H"], g["M"], None)
    return None


def nearest_before(day_time: datetime, base: datetime) -> datetime:
    """Move a time named on ``base``'s date back a day when it would lie well after ``base``.

    An update stamped 23:50 in a version published at 00:10 belongs to the day before.
    """
    if day_time > base + timedelta(minutes=30) and base - (
        day_time - timedelta(days=1)
    ) <= timedelta(hours=12):
        return day_time - timedelta(days=1)
    return day_time
