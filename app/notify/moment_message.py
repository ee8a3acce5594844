"""The words of a reminder, a "started" and a "not reported complete", in English and Danish.
Pure.

They read as a colleague would say it, the systems first: "DMS Import, DMS Export: service
window in 1 hour, 18:00-23:00 Danish time. Files sent to DMS Import/DMS Export/DMS Forsendelse
are rejected during the service window. The fallback procedure may only be used if absolutely
necessary." The consequence and the fallback sentence are the agency's own (the first sentence
of its message that says what is rejected or closed, and the one about the fallback
procedure); when it says nothing about the fallback procedure but toldfeed knows its state,
toldfeed says it in its own words.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.catalogue import Catalogue
from app.model import Fallback, Incident, Lang, Window
from app.notify.message import LABELS, Message
from app.notify.timed import OVERRUN, REMINDER, STARTED
from app.render.entry import system_names
from app.render.i18n import word
from app.render.status import describe_window
from app.render.words import MONTHS_LONG, WEEKDAYS
from app.store.records import Notification
from app.upstream.dates import to_local

WORDS: dict[Lang, dict[str, str]] = {
    Lang.EN: {
        REMINDER: "Service window {lead}",
        STARTED: "Service window started",
        OVERRUN: "Service window not reported complete",
        "reminder_says": "{systems}: service window {lead}, {when}.",
        "started_says": "{systems}: the service window has started, {when}.",
        "overrun_says": "{systems}: the service window was planned to end {end} and is still "
        "not reported complete. The agency often announces an extension only after the "
        "planned end.",
        "in": "in {amount}",
        "day": "{n} day",
        "days": "{n} days",
        "hour": "{n} hour",
        "hours": "{n} hours",
        "minute": "{n} minute",
        "minutes": "{n} minutes",
        "and": " ",
        "times": "{start}-{end} Danish time",
        "times_on": "{day}, {start}-{end} Danish time",
        "times_span": "{start_day} {start} to {end_day} {end} Danish time",
        "times_open": "{day} from {start} Danish time, end not announced",
        "end_at": "at {end} Danish time",
        "end_on": "on {day} at {end} Danish time",
        "fallback_allowed": "The fallback procedure is allowed.",
        "fallback_restricted": "The fallback procedure only in the cases the agency names.",
        "fallback_not_allowed": "The fallback procedure is not allowed.",
        "test": "TEST",
        "test_says": "This is a test of toldfeed's notifications; nothing has happened.",
    },
    Lang.DA: {
        REMINDER: "Servicevindue {lead}",
        STARTED: "Servicevindue startet",
        OVERRUN: "Servicevindue ikke meldt afsluttet",
        "reminder_says": "{systems}: servicevindue {lead}, {when}.",
        "started_says": "{systems}: servicevinduet er startet, {when}.",
        "overrun_says": "{systems}: servicevinduet skulle slutte {end} og er endnu ikke meldt "
        "afsluttet. Styrelsen melder ofte en forlængelse først efter det planlagte "
        "sluttidspunkt.",
        "in": "om {amount}",
        "day": "{n} dag",
        "days": "{n} dage",
        "hour": "{n} time",
        "hours": "{n} timer",
        "minute": "{n} minut",
        "minutes": "{n} minutter",
        "and": " og ",
        "times": "kl. {start}-{end} dansk tid",
        "times_on": "{day} kl. {start}-{end} dansk tid",
        "times_span": "{start_day} kl. {start} til {end_day} kl. {end} dansk tid",
        "times_open": "{day} fra kl. {start} dansk tid, sluttidspunkt ikke oplyst",
        "end_at": "kl. {end} dansk tid",
        "end_on": "{day} kl. {end} dansk tid",
        "fallback_allowed": "Nødproceduren må bruges.",
        "fallback_restricted": "Nødproceduren kun i de tilfælde, styrelsen nævner.",
        "fallback_not_allowed": "Nødproceduren må ikke bruges.",
        "test": "TEST",
        "test_says": "Dette er en test af toldfeeds beskeder; intet er sket.",
    },
}

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CONSEQUENCE = re.compile(
    r"\b(?:rejected|fail|closed during|unavailable|afvist|afvises|fejle|lukket under|utilgængelig)",
    re.IGNORECASE,
)
_FALLBACK = re.compile(r"\b(?:fallback|emergency procedure|nødprocedure)", re.IGNORECASE)
_LONGEST = 240  # a quoted sentence longer than this is not quoted


def lead_words(seconds: int, lang: Lang) -> str:
    """``in 1 hour 30 minutes`` / ``om 2 dage``: whole days from 2 days, else hours and minutes."""
    w = WORDS[lang]
    days, rest = divmod(seconds, 86400)
    if days >= 2 and not rest:
        parts = [(days, "day")]
    else:
        hours, rest = divmod(seconds, 3600)
        parts = [(hours, "hour"), (rest // 60, "minute")]
    said = [w[unit if n == 1 else f"{unit}s"].format(n=n) for n, unit in parts if n]
    return w["in"].format(amount=w["and"].join(said))


def _day(local: datetime, lang: Lang) -> str:
    weekday = WEEKDAYS[lang][local.weekday()]
    month = MONTHS_LONG[lang][local.month - 1]
    return (
        f"{weekday} {local.day}. {month}" if lang is Lang.DA else f"{weekday} {local.day} {month}"
    )


def when_words(window: Window, lang: Lang, today: datetime) -> str:
    """The window's times in Danish time, its day named unless it is ``today``'s."""
    w = WORDS[lang]
    start = to_local(window.start_at)
    on_today = start.date() == to_local(today).date()
    if window.end_at is None:
        return w["times_open"].format(day=_day(start, lang), start=f"{start:%H:%M}")
    end = to_local(window.end_at)
    if end.date() != start.date():
        return w["times_span"].format(
            start_day=_day(start, lang),
            start=f"{start:%H:%M}",
            end_day=_day(end, lang),
            end=f"{end:%H:%M}",
        )
    times = {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    return (
        w["times"].format(**times)
        if on_today
        else w["times_on"].format(day=_day(start, lang), **times)
    )


def _end_words(end_at: datetime, lang: Lang, today: datetime) -> str:
    end = to_local(end_at)
    if end.date() == to_local(today).date():
        return WORDS[lang]["end_at"].format(end=f"{end:%H:%M}")
    return WORDS[lang]["end_on"].format(day=_day(end, lang), end=f"{end:%H:%M}")


def agency_says(incident: Incident, lang: Lang) -> list[str]:
    """The agency's sentences on what is rejected or closed and on the fallback procedure
    (one each, the first), from its message in ``lang`` only."""
    text = incident.message_text.get(lang.value, "")
    sentences = [s.strip() for s in _SENTENCE.split(text) if 0 < len(s.strip()) <= _LONGEST]
    found = []
    for pattern in (_CONSEQUENCE, _FALLBACK):
        match = next((s for s in sentences if pattern.search(s) and s not in found), None)
        if match is not None:
            found.append(match if match.endswith((".", "!", "?")) else f"{match}.")
    return found


def _fallback_words(fallback: Fallback, lang: Lang) -> str:
    if fallback.allowed:
        return WORDS[lang]["fallback_allowed"]
    return WORDS[lang]["fallback_restricted" if fallback.restricted else "fallback_not_allowed"]


def _facts(incident: Incident, systems: str, lang: Lang) -> tuple[tuple[str, str], ...]:
    facts = [(word(lang, "message"), incident.title_in(lang)), (word(lang, "systems"), systems)]
    if incident.ref:
        facts.append((word(lang, "reference"), incident.ref))
    return tuple(facts)


def compose_moment(note: Notification, catalogue: Catalogue, lang: Lang, page_url: str) -> Message:
    """What a reminder or window event (``note``) says, in ``lang``."""
    incident, timing = note.incident, note.timing
    assert incident is not None and incident.window is not None and timing is not None
    w = WORDS[lang]
    window = incident.window
    systems = ", ".join(system_names(incident, catalogue, lang)) or "-"
    lead = lead_words(timing.lead_seconds or 0, lang)
    when = when_words(window, lang, timing.at)
    says = {
        REMINDER: w["reminder_says"].format(systems=systems, lead=lead, when=when),
        STARTED: w["started_says"].format(systems=systems, when=when),
        OVERRUN: w["overrun_says"].format(
            systems=systems, end=_end_words(window.end_at or window.start_at, lang, timing.at)
        ),
    }[note.event]
    # after the planned end, what is rejected is no news; what the fallback allows still is
    quoted = [
        s for s in agency_says(incident, lang) if note.event != OVERRUN or _FALLBACK.search(s)
    ]
    if incident.fallback is not None and not any(_FALLBACK.search(s) for s in quoted):
        quoted.append(_fallback_words(incident.fallback, lang))
    headline = f"{w[note.event].format(lead=lead)}: {systems}"
    if note.test:
        headline, quoted = f"{w['test']}: {headline}", [*quoted, w["test_says"]]
    return Message(
        id=note.id,
        event=note.event,
        lang=lang,
        key=incident.key,
        headline=headline,
        title=headline,
        state="",
        systems=systems,
        latest="",
        window=describe_window(window, lang),
        fallback="",
        link=page_url,
        labels={key: word(lang, key) for key in LABELS},
        facts=_facts(incident, systems, lang),
        official=incident.link_in(lang),
        summary=" ".join([says, *quoted]),
    )
