"""Upstream vocabulary: header and field labels, status and type words (en and da)."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlsplit

from app.model import Kind, Lang, Status
from app.upstream.text import drop_format

# list-page column headers -> field
LIST_HEADERS: dict[str, str] = {
    "status": "status",
    "system": "system",
    "systems": "system",
    "systemer": "system",
    "title": "title",
    "titel": "title",
    "overskrift": "title",
    "last updated": "updated",
    "senest opdateret": "updated",
    "opdateret": "updated",
    "updated": "updated",
    "message": "message",
    "meddelelse": "message",
    "besked": "message",
    "created": "created",
    "oprettet": "created",
    "type": "type",
}

# detail-page field labels -> field
DETAIL_LABELS: dict[str, str] = {
    "last updated": "updated",
    "updated": "updated",
    "opdateret": "updated",
    "senest opdateret": "updated",
    "type": "type",
    "status": "status",
    "system": "system",
    "systems": "system",
    "systemer": "system",
    "message": "message",
    "meddelelse": "message",
    "besked": "message",
}

VERSION_STAMP = re.compile(
    r"^\s*(updated|published|opdateret|publiceret|offentliggjort|oprettet)\s*:?\s*"
    r"(\d{1,2}-\d{1,2}-\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*$",
    re.I,
)

_CLOSED = {"closed", "afsluttet", "lukket", "resolved", "løst", "cancelled", "canceled", "aflyst"}
_SCHEDULED = {
    "scheduled unavailability",
    "planlagt nedlukning",
    "scheduled",
    "planlagt",
    "service window",
    "servicevindue",
    "scheduled maintenance",
}
_DISRUPTION = {"service disruption", "driftsforstyrrelse", "disruption", "incident", "current"}


@functools.lru_cache(maxsize=1024)  # the same few labels, on every row of every page
def label_key(text: str) -> str:
    """Fold a header or label for lookup: case, spaces, format characters (zero-width spaces,
    soft hyphens) and a trailing colon ignored."""
    return " ".join(drop_format(text).replace("\xa0", " ").split()).casefold().rstrip(":").strip()


def parse_status(text: str) -> Status | None:
    """Normalize a status label; '' gives None, an unknown label means a current disruption."""
    key = label_key(text)
    if not key:
        return None
    if key in _CLOSED:
        return Status.CLOSED
    if key in _SCHEDULED:
        return Status.SCHEDULED
    return Status.CURRENT


def parse_kind(text: str) -> Kind | None:
    """Normalize a type label: scheduled unavailability, or anything else is a disruption."""
    key = label_key(text)
    if not key:
        return None
    return Kind.SCHEDULED if key in _SCHEDULED else Kind.DISRUPTION


def is_status_word(text: str) -> bool:
    """True when ``text`` is a known status or type label (for unlabelled cells)."""
    key = label_key(text)
    return key in _CLOSED or key in _SCHEDULED or key in _DISRUPTION


@functools.lru_cache(maxsize=4096)  # a message's link stands in the lists, the feed, the page
def oid_of(url: str) -> int | None:
    """The message id (``oid``) in a data.aspx URL, whatever the other parameters."""
    try:
        query = dict((k.lower(), v) for k, v in parse_qsl(urlsplit(url).query))
    except ValueError:
        return None
    value = query.get("oid", "")
    return int(value) if value.isascii() and value.isdigit() else None


@functools.lru_cache(maxsize=4096)
def lang_of_url(url: str, default: Lang) -> Lang:
    """The language a data.aspx URL asks for: lang=us/US/en is English, da or none Danish."""
    query = dict((k.lower(), v.lower()) for k, v in parse_qsl(urlsplit(url).query))
    if "lang" not in query:
        return Lang.DA if "oid" in query else default
    return Lang.EN if query["lang"] in {"us", "en", "uk", "gb"} else Lang.DA


def lang_of_document(html_lang: str, default: Lang) -> Lang:
    """The language an <html lang> attribute names, else ``default``."""
    code = html_lang.lower()[:2]
    return Lang.EN if code == "en" else Lang.DA if code == "da" else default


# --- Service windows and the fallback procedure (SPEC.md section 9), read by windows.py ------
# Names are matched whole and case-folded; phrases are regular expressions searched in
# case-folded text with white space collapsed. A new wording is one more entry.

# month names in free text: English, Danish (also used on English pages: "Marts"), short forms
# and misspellings; each tuple is one month, January first
_WINDOW_MONTH_NAMES: tuple[tuple[str, ...], ...] = (
    ("january", "januar", "jan", "janaury", "januari"),
    ("february", "februar", "feb", "febuary", "feburary", "februari"),
    ("march", "marts", "mar", "mrt", "marhc"),
    ("april", "apr", "apirl"),
    ("may", "maj"),
    ("june", "juni", "jun"),
    ("july", "juli", "jul"),
    ("august", "aug", "agust", "augusti"),
    ("september", "sep", "sept", "septmber", "septemper"),
    ("october", "oktober", "oct", "okt", "ocotber"),
    ("november", "nov", "novmber"),
    ("december", "dec", "decmber"),
)
WINDOW_MONTHS: dict[str, int] = {
    name: number for number, names in enumerate(_WINDOW_MONTH_NAMES, start=1) for name in names
}

# weekday names; each tuple is one day, Monday first (Python's date.weekday() numbering)
_WEEKDAY_NAMES: tuple[tuple[str, ...], ...] = (
    ("monday", "mandag", "mon"),
    ("tuesday", "tirsdag", "tue", "tues", "tuseday"),
    ("wednesday", "onsdag", "wed", "wednsday", "wendesday"),
    ("thursday", "torsdag", "thu", "thur", "thurs", "thursady"),
    ("friday", "fredag", "fri"),
    ("saturday", "lørdag", "loerdag", "lordag", "sat", "saturaday"),
    ("sunday", "søndag", "soendag", "sondag", "sun"),
)
WINDOW_WEEKDAYS: dict[str, int] = {
    name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names
}

# words that may stand between a date and a clock time or before a clock time ("klokken 1515")
WINDOW_TIME_GLUE: tuple[str, ...] = (
    "kl",
    "klokken",
    "at",
    "from",
    "fra",
    "cet",
    "cest",
    "hrs",
    "h",
)
# words joining the start and the end of a window, besides dashes
WINDOW_RANGE_WORDS: tuple[str, ...] = ("to", "til", "till", "until")

# a line saying the window is over: it ends nothing early and moves nothing
WINDOW_COMPLETED: tuple[str, ...] = (
    r"\bcompleted\b",
    r"\bhas ended\b",
    r"\bis over\b",
    r"\bfinished\b",
    r"\b(?:marked as|has been|was|is) performed\b",
    r"\bafsluttet\b",
    r"\ber slut\b",
    r"\ber gennemført\b",
    r"\b(?:er|blev|markeret som) udført\b",
)
WINDOW_CANCELLED: tuple[str, ...] = (
    r"\bcancell?ed\b",
    r"\bcalled off\b",
    r"\bwill not take place\b",
    r"\baflyst\b",
    r"\bannulleret\b",
    r"\bgennemføres ikke\b",
    r"\bbliver ikke gennemført\b",
)
# checked before WINDOW_CANCELLED: "not cancelled, but postponed"
WINDOW_NOT_CANCELLED: tuple[str, ...] = (
    r"\bnot (?:been )?cancell?ed\b",
    r"\bikke (?:blevet )?(?:aflyst|annulleret)\b",
)
# the end moves: the first clock time after the phrase is the new end
WINDOW_EXTENDED: tuple[str, ...] = (
    r"\bextended\b",
    r"\bprolonged\b",
    r"\bforlænget\b",
    r"\bforlænges\b",
    r"\bend(?: time)? (?:is |has been )?(?:postponed|moved|delayed)\b",
    r"\bslut(?:tidspunkt(?:et)?)? (?:er )?(?:udskudt|rykket)\b",
)
# "extended by 30 minutes", "forlænget med 1 time": a duration instead of a clock time
WINDOW_EXTENDED_BY: str = (
    r"\b(?:by|med) (?P<count>\d{1,3}|an?|one|two|en|et|to) "
    r"(?P<unit>hours?|minutes?|mins?|timer?|minutter?)\b"
    # "by 1 hour and 30 minutes" / "med 1 time og 30 minutter"
    r"(?: (?:and|og) (?P<count2>\d{1,3}|an?|one|two|en|et|to) "
    r"(?P<unit2>minutes?|mins?|minutter?)\b)?"
)
WINDOW_DURATION_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "en": 1,
    "et": 1,
    "two": 2,
    "to": 2,
}
# minutes per unit
WINDOW_DURATION_UNITS: dict[str, int] = dict.fromkeys(("hour", "hours", "time", "timer"), 60)
WINDOW_DURATION_UNITS |= dict.fromkeys(("minute", "minutes", "min", "mins", "minut", "minutter"), 1)
# the start moves: the first clock time after the phrase is the new start
WINDOW_START_MOVED: tuple[str, ...] = (
    r"\bstart(?: time)?(?: of the (?:service ?)?window)? (?:is |has been )?(?:postponed|delayed|moved)\b",
    r"\b(?:will now|now) starts? at\b",
    r"\bstarter (?:først|senere)\b",
    r"\bstart(?:en|tidspunkt(?:et)?)? (?:er )?(?:udskudt|rykket)\b",
)
# a later line naming a whole new window (date and times) replaces the planned times
WINDOW_RESCHEDULED: tuple[str, ...] = (
    r"\bpostponed\b",
    r"\brescheduled\b",
    r"\bmoved\b",
    r"\bnew (?:time|date)\b",
    r"\bchanged\b",
    r"\bextended\b",
    r"\budskudt\b",
    r"\bflyttet\b",
    r"\bændret\b",
    r"\bnyt tidspunkt\b",
    r"\bforlænget\b",
)

# a sentence speaks about the fallback (emergency) procedure when it names it
FALLBACK_SUBJECT: tuple[str, ...] = (
    r"\bfallback",
    r"\bemergency[ -]?procedure",
    r"\bcontingency procedure",
    r"\bnødprocedure",
    r"\breserveprocedure",
)
# withdrawals, restrictions and negations are checked before permissions: all are "not allowed"
FALLBACK_WITHDRAWN: tuple[str, ...] = (
    r"\bno longer\b",
    r"\bnot any longer\b",
    r"\bhas been withdrawn\b",
    r"\bikke længere\b",
    r"\bikke mere\b",
)
FALLBACK_RESTRICTED: tuple[str, ...] = (
    r"\bonly\b.{0,200}\bnecessary\b",
    r"\bonly in (?:an )?emergenc",
    r"\b(?:may|can|must|should) only\b",  # "may only be used for perishable goods"
    r"\bonly (?:be )?(?:allowed|permitted|used|applied|possible)\b",
    r"\b(?:allowed|permitted|used|applied) only\b",
    r"\bonly (?:for|when|if|in case)\b",
    r"\bkun (?:tilladt|muligt|for|når|hvis|ved|i tilfælde)\b",
    r"\b(?:tilladt|muligt|anvendes|bruges|benyttes) kun\b",
    r"\bkun\b.{0,200}\bnødvendig",
    r"\bmå kun\b",
)
FALLBACK_DENIED: tuple[str, ...] = (
    r"\bnot (?:be )?(?:allowed|permitted|possible)\b",
    r"\b(?:may|must|can) ?not\b",
    r"\bcan't\b",
    r"\bmå ikke\b",
    r"\ber ikke (?:tilladt|muligt)\b",
    r"\bkan ikke\b",
)
FALLBACK_ALLOWED: tuple[str, ...] = (
    r"\ballowed\b",
    r"\bpermitted\b",
    r"\b(?:may|can) (?:now )?be used\b",
    r"\bmå (?:gerne |nu )?(?:anvendes|bruges|benyttes)\b",
    r"\ber (?:nu )?tilladt\b",
    r"\bkan (?:nu )?(?:anvendes|bruges|benyttes)\b",
)
