"""Words and date formats of the published documents, in English and Danish."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from app.model import Lang, Status
from app.render.words import MONTHS_LONG, MONTHS_SHORT, WORDS
from app.upstream.dates import to_local


def word(lang: Lang, key: str, **values: str) -> str:
    """A phrase in ``lang``, with ``{placeholders}`` filled."""
    return WORDS[lang][key].format(**values)


def status_word(lang: Lang, status: Status) -> str:
    """The status as readers see it."""
    return WORDS[lang][status.value]


def clock_time(value: datetime, lang: Lang, now: datetime | None = None) -> str:
    """``08:40`` (``kl. 08:40``) on the local day of ``now``; the date too on any other day."""
    local = to_local(value)
    if now is not None and to_local(now).date() != local.date():
        return local_time(value, lang)
    return f"kl. {local:%H:%M}" if lang is Lang.DA else f"{local:%H:%M}"


def month_name(first: date, lang: Lang) -> str:
    """``May 2026`` / ``maj 2026``."""
    return f"{MONTHS_LONG[lang][first.month - 1]} {first.year}"


def day_name(day: date, lang: Lang) -> str:
    """``19 May 2026`` / ``19. maj 2026``."""
    month = MONTHS_LONG[lang][day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang is Lang.DA else f"{day.day} {month} {day.year}"


def hours_shown(value: timedelta) -> str:
    """Hours with one decimal, as pages show them (``1.3``): what a page's digest holds of a
    duration that grows with time."""
    return f"{value.total_seconds() / 3600:.1f}"


def hours_number(value: timedelta, lang: Lang) -> str:
    """Hours with one decimal, in the language's decimal sign: ``1.3`` / ``1,3``."""
    text = hours_shown(value)
    return text.replace(".", ",") if lang is Lang.DA else text


def duration_words(value: timedelta, lang: Lang) -> str:
    """A duration for people: ``45 min``, ``3 h 05 min``, ``2 d 4 h`` (Danish ``t`` for hours)."""
    w = WORDS[lang]
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} {w['minutes_unit']}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} {w['hours_unit']} {minutes:02d} {w['minutes_unit']}"
    days, hours = divmod(hours, 24)
    return f"{days} {w['days_unit']} {hours} {w['hours_unit']}"


def zoned_time(value: datetime, lang: Lang) -> str:
    """``local_time`` that says its zone, for text read apart from any page (a chat card, a
    mail): ``19 May 2026 21:46 Danish time``."""
    return f"{local_time(value, lang)} {WORDS[lang]['danish_time']}"


@functools.lru_cache(maxsize=8192)  # an incident's times stand on many pages and entries
def local_time(value: datetime, lang: Lang) -> str:
    """Danish local time with date and year: ``19 May 2026 21:46`` / ``19. maj 2026 kl. 21:46``."""
    local = to_local(value)
    month = MONTHS_SHORT[lang][local.month - 1]
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang is Lang.DA:
        return f"{local.day}. {month} {local.year} kl. {clock}"
    return f"{local.day} {month} {local.year} {clock}"
