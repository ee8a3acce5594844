"""Text rules of the upstream: references, update lines and version comparison (pure).

Update lines (SPEC.md section 8) are recognised by a leading keyword (``Update``,
``Opdatering`` ...) with an optional time or date, by bare ``Done.``/``Delayed.`` lines, and by
a line opening with a date *and* time followed by a sentence. A line that names only a clock
time takes its date from ``base`` (the version that first carried it, else the message's last
update, else its creation). Nothing ambiguous is guessed: such lines keep ``at=None``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.model import Lang, Update
from app.upstream.dates import MONTHS, combine_local, nearest_before

_COPENHAGEN = ZoneInfo("Europe/Copenhagen")

REF_RE = re.compile(r"\b(INC\d{12}|WO\d{13})\b")
_ONLY_REF = re.compile(r"^\W*(INC\d{12}|WO\d{13})\W*$")

_KW = r"(?:update[ds]?|opdatering(?:er)?|opdateret)"
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_SEP = r"\s*(?:[-–—:]\s*|\s)"
_TIME = r"(?:kl\.?\s*)?(?P<H>[01]?\d|2[0-3])[:.](?P<M>[0-5]\d)"

_KEYWORD_PATTERNS: list[re.Pattern[str]] = [
    # Update D/M-YYYY HH:MM - text   |   Update 19-05-2026 18:12: text
    re.compile(
        rf"^{_KW}\s+(?:at\s+|on\s+|den\s+|d\.\s*)?(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})[/.-](?P<y>\d{{4}})"
        rf"[\s,]+{_TIME}{_SEP}(?P<text>.*)$",
        re.I,
    ),
    # Update HH:MM - text   |   Update HH.MM: text   |   Update kl. 18:12 text
    re.compile(rf"^{_KW}\s+(?:at\s+|kl\.?\s*)?{_TIME}{_SEP}(?P<text>.*)$", re.I),
    # Update at D/M/YYYY: text  |  Update on DD-MM-YYYY (text may follow on the next line)
    re.compile(
        rf"^{_KW}\s+(?:at\s+|on\s+|den\s+|d\.\s*)?(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})[/.-](?P<y>\d{{4}})"
        rf"\s*(?:[-–—:]\s*)?(?P<text>.*)$",
        re.I,
    ),
    # Update YYYY-MM-DD: text
    re.compile(
        rf"^{_KW}\s+(?:at\s+|on\s+)?(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})"
        rf"\s*(?:[-–—:]\s*)?(?P<text>.*)$",
        re.I,
    ),
    # Update 22nd Jan: text   |   Opdatering 22. jan: text
    re.compile(
        rf"^{_KW}\s+(?:at\s+|on\s+|den\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?P<mon>{_MONTH_RE})\.?"
        rf"\s*(?:[-–—:]\s*)?(?P<text>.*)$",
        re.I,
    ),
    # Update: text (a trailing HH:MM, if any, is the time)
    re.compile(rf"^{_KW}\s*[:\-–—]\s*(?P<text>.+)$", re.I),
]
_TRAILING_TIME = re.compile(r"(?:kl\.?\s*)?\b(?P<H>[01]?\d|2[0-3])[:.](?P<M>[0-5]\d)\s*\.?\s*$")
_BARE = re.compile(r"^(done|delayed|udført|forsinket|løst|resolved)\s*[.!]?$", re.I)
_DATETIME_LINE = re.compile(
    rf"^(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})(?:[/.-](?P<y>\d{{4}}))?[\s,]+{_TIME}\s*(?:[-–—:]\s*)?"
    r"(?P<text>[A-Za-zÆØÅæøå].{3,})$",
    re.I,
)


# C0/C1 controls and non-characters (no XML or HTML output may carry them), and the bidi
# controls: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks
# (U+200E, U+200F, U+061C). An override left open in a title reverses the text after it
# wherever the title is shown (tab titles, feeds, mail subjects, chat headlines): the
# upstream writes Danish and English, left to right, so it never needs one.
_CONTROLS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def strip_controls(text: str) -> str:
    """Remove control characters that no XML or HTML output may carry, and bidi controls."""
    return _CONTROLS.sub("", text)


# Unicode's format characters (category Cf), as ranges: one substitution without a call per
# character (a 30,000-letter line of "æ" took 20 ms, now under 1); a test checks them
# against ``unicodedata``
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


def drop_format(text: str) -> str:
    """``text`` without format characters (Unicode category Cf: zero-width spaces and joiners,
    soft hyphens, direction marks, byte-order marks): invisible, they must not make two
    spellings of one name differ."""
    return text if text.isascii() else FORMAT_CHARACTERS.sub("", text)


_REMEMBERED_LINE = 1_000  # lines up to this long are remembered: the merge asks again, often


def _normalized(text: str) -> str:
    return " ".join(strip_controls(text).replace("\xa0", " ").split())


def _identity(text: str) -> str:
    # invisible format characters (a zero-width space one rendering has and another not) are
    # not part of what a line says
    return normalize(drop_format(text)).casefold().rstrip(" .")


# bounded memory: a few thousand short lines, never a hostile page's one long line
_normalized_line = functools.lru_cache(maxsize=8192)(_normalized)
_identity_line = functools.lru_cache(maxsize=8192)(_identity)


def normalize(text: str) -> str:
    """Collapse white space (including non-breaking spaces), drop control characters, trim."""
    return _normalized_line(text) if len(text) <= _REMEMBERED_LINE else _normalized(text)


def update_identity(text: str) -> str:
    """The key under which two renderings of the same update line count once."""
    return _identity_line(text) if len(text) <= _REMEMBERED_LINE else _identity(text)


def find_refs(lines: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """Return (primary reference, every reference) of a message's lines.

    The primary one is the last line that holds nothing but a reference (where the agency puts
    a message's own reference); failing that, the last reference in the text.
    """
    every: list[str] = []
    standalone: str | None = None
    for line in lines:
        for ref in REF_RE.findall(line):
            if ref not in every:
                every.append(ref)
        if match := _ONLY_REF.match(line):
            standalone = match.group(1)
    primary = standalone or (every[-1] if every else None)
    return primary, tuple(every)


def is_ref_line(line: str) -> bool:
    """True for a line that is only an INC/WO reference."""
    return bool(_ONLY_REF.match(line))


def _date_of(base: datetime | None) -> date | None:
    return base.astimezone(_COPENHAGEN).date() if base else None


def _at(groups: dict[str, str | None], base: datetime | None) -> datetime | None:
    """The UTC instant an update line names, or None when it names no usable time."""
    day: date | None = None
    try:
        if groups.get("y") and groups.get("m") and groups.get("d"):
            day = date(int(groups["y"] or 0), int(groups["m"] or 0), int(groups["d"] or 0))
        elif groups.get("mon") and groups.get("d"):
            ref_day = _date_of(base)
            if ref_day is None:
                return None
            day = date(ref_day.year, MONTHS[(groups["mon"] or "").lower()], int(groups["d"] or 0))
        elif groups.get("m") and groups.get("d"):
            ref_day = _date_of(base)
            if ref_day is None:
                return None
            day = date(ref_day.year, int(groups["m"] or 0), int(groups["d"] or 0))
    except ValueError:
        return None
    hour, minute = groups.get("H"), groups.get("M")
    if day is None:
        if hour is None or minute is None or base is None:
            return None
        named = combine_local(_date_of(base) or date.min, int(hour), int(minute))
        return nearest_before(named, base) if named else None
    return combine_local(day, int(hour or 0), int(minute or 0))


def match_update(line: str, base: datetime | None) -> tuple[str, datetime | None] | None:
    """If ``line`` is an update line, return (its text, the time it names)."""
    text = normalize(line)
    if not text:
        return None
    for pattern in _KEYWORD_PATTERNS:
        if match := pattern.match(text):
            groups = match.groupdict()
            if "H" not in groups and "d" not in groups and (tail := _TRAILING_TIME.search(text)):
                groups = {"H": tail.group("H"), "M": tail.group("M")}
            return text, _at(groups, base)
    if _BARE.match(text):
        return text, None
    if match := _DATETIME_LINE.match(text):
        return text, _at(match.groupdict(), base)
    return None


def _is_bare_keyword_date(line: str) -> bool:
    """An ``Update on DD-MM-YYYY`` line whose text follows on the next lines."""
    found = match_update(line, None)
    if found is None:
        return False
    return bool(
        re.match(rf"^{_KW}\s+(?:at\s+|on\s+|den\s+)?[\d/.\-]+\s*:?$", normalize(line), re.I)
    )


def extract_updates(
    lines: Sequence[str],
    lang: Lang,
    base: datetime | None,
    seen_at: dict[str, datetime] | None = None,
) -> list[Update]:
    """Every update line in ``lines``, in text order.

    ``seen_at`` maps an update identity to the time of the first version that carried the line;
    that time then also serves as the date for a line naming only a clock time.
    """
    found: list[Update] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        first_seen = (seen_at or {}).get(update_identity(line))
        match = match_update(line, first_seen or base)
        if match is None:
            index += 1
            continue
        text, at = match
        if _is_bare_keyword_date(line):
            follow: list[str] = []
            for nxt in lines[index + 1 : index + 4]:
                if not normalize(nxt) or is_ref_line(nxt) or match_update(nxt, None):
                    break
                follow.append(normalize(nxt))
            if follow:
                text = f"{text} {' '.join(follow)}"
                index += len(follow)
        found.append(Update(text=text, lang=lang, at=at, seen_at=first_seen or base))
        index += 1
    return found


def added_lines(older: Sequence[str], newer: Sequence[str]) -> list[str]:
    """Lines of ``newer`` absent from ``older``, when ``newer`` reads as an edit of ``older``.

    A rewrite (most old lines gone) or a long insertion is not an update trail: return [].
    """
    # a line of nothing but invisible characters is no line
    old_keys = {key for line in older if (key := update_identity(line))}
    new_keys = {key for line in newer if (key := update_identity(line))}
    if not old_keys:
        return []
    kept = len(old_keys & new_keys) / len(old_keys)
    added = [
        normalize(line)
        for line in newer
        if update_identity(line) and update_identity(line) not in old_keys and not is_ref_line(line)
    ]
    if kept < 0.5 or len(added) > 3:
        return []
    return added
