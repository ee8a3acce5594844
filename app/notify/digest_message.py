"""The words of a daily digest, in English and Danish. Pure.

One message: a headline with the day, one line that sums it up ("1 open disruption, 2 service
windows in the next 7 days, nothing closed since 19 May 2026 07:00 Danish time"; an empty
digest says "Nothing open, no service windows in the next 7 days, ..."), then three lists:
the open disruptions with their newest update, the windows of the next 7 days in Danish time
with the fallback state, what closed since the last digest. Each line links to the incident's
page on toldfeed; the button leads to the status page.
"""

from __future__ import annotations

from collections.abc import Callable

from app.catalogue import Catalogue
from app.model import Incident, Lang
from app.notify.message import LABELS, Item, Message, Section
from app.notify.moment_message import when_words
from app.render.entry import system_names, timeline
from app.render.i18n import clock_time, word, zoned_time
from app.render.status import describe_fallback
from app.render.words import MONTHS_LONG, WEEKDAYS
from app.store.records import Digest, Notification

WORDS: dict[Lang, dict[str, str]] = {
    Lang.EN: {
        "headline": "Daily digest, {day}",
        "open_one": "1 open disruption",
        "open_many": "{n} open disruptions",
        "open_none": "no open disruptions",
        "windows_one": "1 service window in the next 7 days",
        "windows_many": "{n} service windows in the next 7 days",
        "windows_none": "no service windows in the next 7 days",
        "closed_one": "1 closed since {since}",
        "closed_many": "{n} closed since {since}",
        "closed_none": "nothing closed since {since}",
        "empty": "Nothing open, no service windows in the next 7 days, nothing closed since "
        "{since}.",
        "open_title": "Open disruptions",
        "windows_title": "Service windows, next 7 days",
        "closed_title": "Closed since {since}",
        "since": "since {time}",
        "newest": "newest update {line}",
        "started": "in progress",
        "overrun": "planned end passed, not reported complete",
        "cancelled": "cancelled",
        "closed_at": "closed {time}",
        "button": "Status page",
    },
    Lang.DA: {
        "headline": "Dagligt overblik, {day}",
        "open_one": "1 åben driftsforstyrrelse",
        "open_many": "{n} åbne driftsforstyrrelser",
        "open_none": "ingen åbne driftsforstyrrelser",
        "windows_one": "1 servicevindue de næste 7 dage",
        "windows_many": "{n} servicevinduer de næste 7 dage",
        "windows_none": "ingen servicevinduer de næste 7 dage",
        "closed_one": "1 afsluttet siden {since}",
        "closed_many": "{n} afsluttet siden {since}",
        "closed_none": "intet afsluttet siden {since}",
        "empty": "Intet åbent, ingen servicevinduer de næste 7 dage, intet afsluttet siden "
        "{since}.",
        "open_title": "Åbne driftsforstyrrelser",
        "windows_title": "Servicevinduer, de næste 7 dage",
        "closed_title": "Afsluttet siden {since}",
        "since": "siden {time}",
        "newest": "nyeste opdatering {line}",
        "started": "i gang",
        "overrun": "planlagt slut passeret, ikke meldt afsluttet",
        "cancelled": "aflyst",
        "closed_at": "afsluttet {time}",
        "button": "Statussiden",
    },
}


def _count(what: str, n: int, lang: Lang, **values: str) -> str:
    key = f"{what}_{'none' if n == 0 else 'one' if n == 1 else 'many'}"
    return WORDS[lang][key].format(n=n, **values)


def _day(digest: Digest, lang: Lang) -> str:
    day = digest.day
    weekday, month = WEEKDAYS[lang][day.weekday()], MONTHS_LONG[lang][day.month - 1]
    if lang is Lang.DA:
        return f"{weekday} {day.day}. {month} {day.year}"
    return f"{weekday} {day.day} {month} {day.year}"


def summary(digest: Digest, lang: Lang) -> str:
    """The digest in one line; an empty one says so."""
    since = zoned_time(digest.since, lang)
    if digest.empty:
        return WORDS[lang]["empty"].format(since=since)
    parts = [
        _count("open", len(digest.open), lang),
        _count("windows", len(digest.windows), lang),
        _count("closed", len(digest.closed), lang, since=since),
    ]
    line = ", ".join(parts)
    return f"{line[0].upper()}{line[1:]}."


def _systems(incident: Incident, catalogue: Catalogue, lang: Lang) -> str:
    return ", ".join(system_names(incident, catalogue, lang)) or "-"


def _disruption(incident: Incident, digest: Digest, catalogue: Catalogue, lang: Lang) -> Item:
    w, now = WORDS[lang], digest.taken_at
    detail = [w["since"].format(time=clock_time(incident.published_at, lang, now))]
    lines = timeline(incident, lang)
    if lines:
        newest = lines[0]
        at = newest.sort_at
        line = f"{clock_time(at, lang, now)}: {newest.text}" if at else newest.text
        detail.append(w["newest"].format(line=line))
    text = f"{_systems(incident, catalogue, lang)}: {incident.title_in(lang)}"
    return Item(text, "; ".join(detail), "")


def _window(incident: Incident, digest: Digest, catalogue: Catalogue, lang: Lang) -> Item:
    window, w, now = incident.window, WORDS[lang], digest.taken_at
    assert window is not None
    detail = [incident.title_in(lang)]
    if window.cancelled:
        detail.append(w["cancelled"])
    elif window.end_at is not None and window.end_at <= now:
        detail.append(w["overrun"])
    elif window.start_at <= now:
        detail.append(w["started"])
    if incident.fallback is not None:
        detail.append(describe_fallback(incident.fallback, lang))
    when = when_words(window, lang, now)
    return Item(f"{when}: {_systems(incident, catalogue, lang)}", "; ".join(detail), "")


def _closed(incident: Incident, digest: Digest, catalogue: Catalogue, lang: Lang) -> Item:
    closed = incident.closed_at or digest.taken_at
    detail = WORDS[lang]["closed_at"].format(time=clock_time(closed, lang, digest.taken_at))
    return Item(f"{_systems(incident, catalogue, lang)}: {incident.title_in(lang)}", detail, "")


def compose_digest(
    note: Notification,
    catalogue: Catalogue,
    lang: Lang,
    status_page: str,
    page_of: Callable[[str], str],
) -> Message:
    """What a digest (``note``) says, in ``lang``; ``page_of`` gives an incident's page."""
    digest = note.digest
    assert digest is not None
    w = WORDS[lang]
    since = zoned_time(digest.since, lang)

    def items(
        incidents: tuple[Incident, ...], make: Callable[[Incident, Digest, Catalogue, Lang], Item]
    ) -> tuple[Item, ...]:
        made = [(i, make(i, digest, catalogue, lang)) for i in incidents]
        return tuple(Item(it.text, it.detail, page_of(i.key)) for i, it in made)

    sections = (
        Section(w["open_title"], items(digest.open, _disruption), _none("open", lang)),
        Section(w["windows_title"], items(digest.windows, _window), _none("windows", lang)),
        Section(
            w["closed_title"].format(since=since),
            items(digest.closed, _closed),
            _none("closed", lang, since=since),
        ),
    )
    headline = w["headline"].format(day=_day(digest, lang))
    if note.test:
        headline = f"TEST: {headline}"
    return Message(
        id=note.id,
        event=note.event,
        lang=lang,
        key="",
        headline=headline,
        title=headline,
        state="",
        systems="",
        latest="",
        window="",
        fallback="",
        link=status_page,
        labels={key: word(lang, key) for key in LABELS},
        summary=summary(digest, lang),
        sections=sections,
        button=w["button"],
    )


def _none(what: str, lang: Lang, **values: str) -> str:
    """ "No open disruptions." as a sentence."""
    said = _count(what, 0, lang, **values)
    return f"{said[0].upper()}{said[1:]}."
