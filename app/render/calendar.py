"""Service windows as an iCalendar document (RFC 5545). Pure; the only importer of icalendar.

One ``VEVENT`` per incident whose window has a known start *and* end. A window without an end
is left out: RFC 5545 reads a timed event without ``DTEND`` as ending at its start, and an
invented end (say one hour) would put a time in subscribers' calendars that the agency never
announced; the window is still in the feeds, and joins the calendar once its end is read.

Nothing here reads the clock: ``DTSTAMP`` and ``LAST-MODIFIED`` are the incident's
``updated_at``, so the same incidents always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from app.catalogue import Catalogue
from app.model import Incident, Lang, Update, Window
from app.render.entry import entry_id, system_names, timeline
from app.render.i18n import local_time, status_word, word
from app.render.status import describe_fallback, describe_window

if TYPE_CHECKING:
    from icalendar import Component, Event

# icalendar is imported where a calendar is made: a poll that makes none (most polls) never
# loads it (some 100 ms of a cron poll's start)
PRODID = "-//toldfeed//service windows//EN"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _line(update: Update, lang: Lang) -> str:
    if update.at:
        return f"{local_time(update.at, lang)} — {update.text}"
    if update.seen_at:
        return f"{local_time(update.seen_at, lang)} ({word(lang, 'seen')}) — {update.text}"
    return update.text


def _description(incident: Incident, window: Window, catalogue: Catalogue, lang: Lang) -> str:
    lines = [describe_window(window, lang)]
    if incident.fallback is not None:
        lines.append(describe_fallback(incident.fallback, lang))
    lines.append(f"{word(lang, 'status')}: {status_word(lang, incident.status)}")
    names = system_names(incident, catalogue, lang)
    if names:
        lines.append(f"{word(lang, 'systems')}: {', '.join(names)}")
    lines += ["", f"{word(lang, 'timeline')}:"]
    lines += [_line(update, lang) for update in timeline(incident, lang)]
    lines.append(f"{local_time(incident.published_at, lang)} — {word(lang, 'created')}")
    if incident.ref:
        lines += ["", f"{word(lang, 'reference')}: {incident.ref}"]
    return "\n".join(lines)


def _category_names(incident: Incident, catalogue: Catalogue, lang: Lang) -> list[str]:
    # Like the feeds' categories: catalogue systems only (unknown upstream names are in the text).
    names = []
    for slug in incident.systems:
        system = catalogue.get(slug)
        names.append(system.name_in(lang) if system else slug)
    return names


def _event(incident: Incident, window: Window, catalogue: Catalogue, lang: Lang) -> Event:
    assert window.end_at is not None  # windows without an end are filtered out before
    from icalendar import Event

    event = Event()
    event.add("uid", entry_id(incident))
    event.add("dtstamp", _utc(incident.updated_at))
    event.add("last-modified", _utc(incident.updated_at))
    event.add("created", _utc(incident.published_at))
    event.add("sequence", window.sequence)
    event.add("dtstart", _utc(window.start_at))
    event.add("dtend", _utc(window.end_at))
    event.add("status", "CANCELLED" if window.cancelled else "CONFIRMED")
    # A customs system's window does not make the subscriber busy.
    event.add("transp", "TRANSPARENT")
    event.add("summary", incident.title_in(lang))
    event.add("description", _description(incident, window, catalogue, lang))
    link = incident.link_in(lang)
    if link:
        event.add("url", link)
    names = _category_names(incident, catalogue, lang)
    if names:
        event.add("categories", names)
    return event


def calendar_windows(incidents: Iterable[Incident]) -> list[tuple[Incident, Window]]:
    """The incidents a calendar shows (window with known start and end), in calendar order."""
    found = [
        (incident, window)
        for incident in incidents
        if (window := incident.window) is not None and window.end_at is not None
    ]
    found.sort(
        key=lambda pair: (pair[1].start_at, pair[1].end_at or pair[1].start_at, entry_id(pair[0]))
    )
    return found


def fold(line: str, limit: int = 75) -> bytes:
    """One content line folded as RFC 5545 says and icalendar folds it: parts of fewer than
    ``limit`` octets, cut between characters, never right after a backslash or a caret (so an
    escape stays on one line). icalendar weighs every character in Python (some 0.2 ms for a
    timeline's line); this cuts the UTF-8 bytes, a slice per part."""
    data = line.encode("utf-8")
    size = limit - 1
    if len(data) <= size:
        return data
    parts = []
    start = 0
    while len(data) - start > size:
        cut = start + size
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: cut before its character
            cut -= 1
        if data[cut - 1] in b"\\^" and cut - 1 > start:
            cut -= 1
        parts.append(data[start:cut])
        start = cut
    parts.append(data[start:])
    return b"\r\n ".join(parts)


def ical(component: Component) -> bytes:
    """``component.to_ical()``: icalendar's content lines, folded by ``fold``."""
    return b"".join(fold(line) + b"\r\n" for line in component.content_lines() if line)


def event_bytes(incident: Incident, window: Window, catalogue: Catalogue, lang: Lang) -> bytes:
    """One ``VEVENT`` as it stands in a calendar (``BEGIN:VEVENT`` to ``END:VEVENT``, folded)."""
    return ical(_event(incident, window, catalogue, lang))


_END = b"END:VCALENDAR\r\n"


def render_calendar(
    incidents: Iterable[Incident],
    catalogue: Catalogue,
    *,
    lang: Lang,
    name: str,
    refresh_seconds: int,
    event: Callable[[Incident, Window, Lang], bytes] | None = None,
) -> bytes:
    """An iCalendar document with one event per service window with known times.

    ``event`` gives each event's bytes (``event_bytes`` by default; a renderer passes one that
    keeps them per incident version): the calendar is its properties and those events, as
    icalendar would write the whole.
    """
    from icalendar import Calendar, vDuration

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    refresh = timedelta(seconds=refresh_seconds)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    # An X- property is TEXT unless told otherwise: give the duration its RFC 5545 form.
    calendar.add("x-published-ttl", vDuration(refresh))
    head = ical(calendar)
    assert head.endswith(_END)
    make = event or (lambda incident, window, lang: event_bytes(incident, window, catalogue, lang))
    events = [make(incident, window, lang) for incident, window in calendar_windows(incidents)]
    return head[: -len(_END)] + b"".join(events) + _END
