"""Calendars of service windows, read back by two independent iCalendar parsers (icalendar, vobject)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalogue import load_catalogue
from app.model import Fallback, Incident, Kind, Lang, Status, Update, Window
from app.render.calendar import event_bytes, fold, ical, render_calendar
from app.render.entry import entry_id
from app.render.status import describe_fallback, describe_window
from tests.conftest import ROOT

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
T = datetime(2026, 5, 19, 16, 0, tzinfo=UTC)  # 18:00 Danish summer time
H = timedelta(hours=1)


def incident(
    key: str = "WO0000001234567",
    *,
    window: Window | None = None,
    status: Status = Status.SCHEDULED,
    updated_at: datetime = T - 72 * H,
) -> Incident:
    """A scheduled window as the merge would give it, in both languages."""
    oid = int("".join(ch for ch in key if ch.isdigit()) or "0") % 100000 + 1
    return Incident(
        key=key,
        refs=(key,),
        oids=(oid,),
        oid=oid,
        links={
            "en": f"https://info.skat.dk/data.aspx?oid={oid}&lang=en",
            "da": f"https://info.skat.dk/data.aspx?oid={oid}",
        },
        title={
            "en": "Service window: DMS Import and EMCS, planned maintenance",
            "da": "Servicevindue: DMS Import og EMCS, planlagt vedligeholdelse; æøå",
        },
        message_html={"en": "<p>Planned.</p>", "da": "<p>Planlagt.</p>"},
        message_text={"en": "Planned.", "da": "Planlagt."},
        systems=("dms-import", "emcs"),
        unknown_systems=(),
        status=status,
        kind=Kind.SCHEDULED,
        published_at=T - 96 * H,
        updated_at=updated_at,
        upstream_updated_at=updated_at,
        updates=(
            Update("The service window is extended to 2300", Lang.EN, at=T - 73 * H),
            Update("Servicevinduet forlænges til kl. 23.00", Lang.DA, at=T - 73 * H),
            Update("Fallback procedure is allowed", Lang.EN, at=T - 80 * H),
            Update("Nødproceduren er tilladt", Lang.DA, at=T - 80 * H),
        ),
        window=window or Window(T, T + 5 * H),
        fallback=Fallback(True, T - 80 * H),
    )


def render(incidents: list[Incident], lang: Lang = Lang.EN) -> bytes:
    return render_calendar(
        incidents, CATALOGUE, lang=lang, name="Danish customs: service windows", refresh_seconds=300
    )


def events_icalendar(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def events_vobject(body: bytes) -> list[vobject.base.Component]:
    calendar = vobject.readOne(body.decode("utf-8"))
    return list(getattr(calendar, "vevent_list", []))


def test_event_fields_read_back_by_icalendar() -> None:
    one = incident()
    calendar = icalendar.Calendar.from_ical(render([one]))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["PRODID"]).startswith("-//toldfeed//")
    assert str(calendar["X-WR-CALNAME"]) == "Danish customs: service windows"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(minutes=5)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    [event] = events_icalendar(render([one]))
    assert str(event["UID"]) == entry_id(one)
    assert event["DTSTART"].dt == T
    assert event["DTEND"].dt == T + 5 * H
    assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    assert event["DTSTAMP"].dt == one.updated_at
    assert event["LAST-MODIFIED"].dt == one.updated_at
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == one.title["en"]
    assert str(event["URL"]) == one.links["en"]
    assert [str(c) for c in event["CATEGORIES"].cats] == ["DMS Import", "EMCS"]
    description = str(event["DESCRIPTION"])
    assert description.startswith(
        "Service window: Tuesday 19 May 2026, 18:00-23:00 Danish time\n"
        "Fallback procedure: allowed\n"
    )
    newest, older = "16 May 2026 17:00 — The service window", "16 May 2026 10:00 — Fallback"
    assert newest in description and older in description
    assert description.index(newest) < description.index(older)
    assert "Nødproceduren" not in description
    assert "Reference: WO0000001234567" in description


def test_event_fields_read_back_by_vobject() -> None:
    one = incident()
    body = render([one])
    calendar = vobject.readOne(body.decode("utf-8"))
    assert calendar.x_published_ttl.value == "PT5M"
    [event] = events_vobject(body)
    assert event.uid.value == entry_id(one)
    assert event.dtstart.value == T
    assert event.dtend.value == T + 5 * H
    assert event.dtstamp.value == one.updated_at
    assert event.sequence.value == "0"
    assert event.status.value == "CONFIRMED"
    assert event.summary.value == one.title["en"]
    assert event.categories.value == ["DMS Import", "EMCS"]
    assert event.description.value.startswith("Service window: Tuesday 19 May 2026")


def test_danish_calendar() -> None:
    one = incident()
    [event] = events_vobject(render([one], Lang.DA))
    assert event.summary.value == one.title["da"]
    assert event.url.value == one.links["da"]
    assert event.description.value.startswith(
        "Servicevindue: tirsdag 19. maj 2026, 18:00-23:00 dansk tid\nNødprocedure: tilladt\n"
    )
    assert "16. maj 2026 kl. 17:00 — Servicevinduet forlænges" in event.description.value
    [same] = events_icalendar(render([one], Lang.DA))
    assert str(same["SUMMARY"]) == one.title["da"]


def test_reschedule_keeps_uid_and_bumps_sequence() -> None:
    first = incident()
    moved = replace(
        first,
        window=Window(T + 24 * H, T + 27 * H, sequence=1),
        updated_at=T - 10 * H,
    )
    for parse in (events_icalendar, events_vobject):
        [before], [after] = parse(render([first])), parse(render([moved]))
        uid = (lambda e: str(e["UID"])) if parse is events_icalendar else (lambda e: e.uid.value)
        assert uid(before) == uid(after) == entry_id(first)
    [after] = events_icalendar(render([moved]))
    assert int(after["SEQUENCE"]) == 1
    assert after["DTSTART"].dt == T + 24 * H
    assert after["DTSTAMP"].dt == T - 10 * H


def test_cancelled_window() -> None:
    off = incident(window=Window(T, T + 5 * H, cancelled=True, sequence=2))
    body = render([off])
    assert b"STATUS:CANCELLED\r\n" in body
    [event] = events_vobject(body)
    assert event.status.value == "CANCELLED"
    assert event.sequence.value == "2"
    assert "(cancelled)" in event.description.value


def test_window_without_end_or_without_window_is_left_out() -> None:
    open_end = incident("WO1", window=Window(T))
    no_window = replace(incident("INC2"), window=None, kind=Kind.DISRUPTION)
    body = render([open_end, no_window, incident("WO3")])
    assert [str(e["UID"]) for e in events_icalendar(body)] == [entry_id(incident("WO3"))]


def test_empty_calendar_parses() -> None:
    body = render([])
    assert events_icalendar(body) == [] and events_vobject(body) == []


def test_identical_input_identical_bytes_and_sorted_events() -> None:
    a = incident("WO1", window=Window(T + 48 * H, T + 50 * H))
    b = incident("WO2", window=Window(T, T + 2 * H))
    c = incident("WO3", window=Window(T, T + 2 * H))
    body = render([a, b, c])
    assert body == render([c, a, b]) == render([a, b, c])
    assert [str(e["UID"]) for e in events_icalendar(body)] == [entry_id(x) for x in (b, c, a)]


def test_events_made_one_by_one_give_the_calendar_icalendar_writes_whole() -> None:
    """A renderer keeps each event's bytes per incident version; joined into the calendar they
    are byte for byte what icalendar writes for the calendar with its events."""
    from app.render.calendar import _event, calendar_windows

    long_title = "Servicevindue for " + "æøå toldsystemer " * 20
    incidents = [
        incident("WO1", window=Window(T + 48 * H, T + 50 * H)),
        replace(incident("WO2"), title={"en": long_title, "da": long_title}),
        incident("WO3", window=Window(T, T + 2 * H, cancelled=True)),
    ]
    for lang in Lang:
        whole = icalendar.Calendar.from_ical(render(incidents, lang))
        for part in list(whole.subcomponents):
            whole.subcomponents.remove(part)
        for found, window in calendar_windows(incidents):
            whole.add_component(_event(found, window, CATALOGUE, lang))
        assert render(incidents, lang) == whole.to_ical()
        made: list[str] = []

        def kept(found: Incident, window: Window, lang: Lang, made: list[str] = made) -> bytes:
            made.append(found.key)
            return event_bytes(found, window, CATALOGUE, lang)

        body = render_calendar(
            incidents,
            CATALOGUE,
            lang=lang,
            name="Danish customs: service windows",
            refresh_seconds=300,
            event=kept,
        )
        assert body == render(incidents, lang) and sorted(made) == ["WO1", "WO2", "WO3"]


def test_crlf_and_folding() -> None:
    long_title = "Servicevindue for " + "æøå toldsystemer " * 20
    one = replace(incident(), title={"en": long_title, "da": long_title})
    body = render([one], Lang.DA)
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 75  # octets, RFC 5545 section 3.1
    for line in lines:
        line.decode("utf-8")  # a fold never splits a character
    assert any(line.startswith(b" ") for line in lines)
    [event] = events_icalendar(body)
    assert str(event["SUMMARY"]) == long_title


@pytest.mark.parametrize(
    ("window", "lang", "text"),
    [
        (
            Window(T, T + 5 * H),
            Lang.EN,
            "Service window: Tuesday 19 May 2026, 18:00-23:00 Danish time",
        ),
        (
            Window(T, T + 5 * H),
            Lang.DA,
            "Servicevindue: tirsdag 19. maj 2026, 18:00-23:00 dansk tid",
        ),
        (
            Window(T + 4 * H, T + 9 * H),
            Lang.EN,
            "Service window: Tuesday 19 May 2026 22:00 to Wednesday 20 May 2026 03:00 Danish time",
        ),
        (
            Window(T + 4 * H, T + 9 * H),
            Lang.DA,
            "Servicevindue: tirsdag 19. maj 2026 kl. 22:00 til onsdag 20. maj 2026 kl. 03:00 dansk tid",
        ),
        (
            Window(T, None),
            Lang.EN,
            "Service window: Tuesday 19 May 2026 from 18:00 Danish time, end not announced",
        ),
        (
            Window(T, None),
            Lang.DA,
            "Servicevindue: tirsdag 19. maj 2026 fra kl. 18:00 dansk tid, sluttidspunkt ikke oplyst",
        ),
        (
            Window(T, T + 5 * H, cancelled=True),
            Lang.EN,
            "Service window: Tuesday 19 May 2026, 18:00-23:00 Danish time (cancelled)",
        ),
        (
            Window(T, T + 5 * H, cancelled=True),
            Lang.DA,
            "Servicevindue: tirsdag 19. maj 2026, 18:00-23:00 dansk tid (aflyst)",
        ),
        (  # winter time: UTC+1
            Window(datetime(2026, 1, 13, 17, tzinfo=UTC), datetime(2026, 1, 13, 21, tzinfo=UTC)),
            Lang.EN,
            "Service window: Tuesday 13 January 2026, 18:00-22:00 Danish time",
        ),
    ],
)
def test_describe_window(window: Window, lang: Lang, text: str) -> None:
    assert describe_window(window, lang) == text


@pytest.mark.parametrize(
    ("allowed", "lang", "text"),
    [
        (True, Lang.EN, "Fallback procedure: allowed"),
        (False, Lang.EN, "Fallback procedure: not allowed"),
        (True, Lang.DA, "Nødprocedure: tilladt"),
        (False, Lang.DA, "Nødprocedure: ikke tilladt"),
    ],
)
def test_describe_fallback(allowed: bool, lang: Lang, text: str) -> None:
    assert describe_fallback(Fallback(allowed), lang) == text


def test_a_new_poll_interval_renders_the_calendars_again_and_nothing_else(filled) -> None:
    """Only the calendars show the poll interval (their refresh hint): a new interval renders
    them again at start, not every document."""
    from dataclasses import replace

    from app.runtime import Runtime
    from app.service import Service
    from app.site.documents import Calendar

    with Runtime.open(filled) as runtime:
        Service(runtime).ensure_published()
    slower = replace(filled, poll_seconds=filled.poll_seconds * 2)
    with Runtime.open(slower) as runtime:
        service = Service(runtime)
        assert not service.publisher.up_to_date()
        assert service.ensure_published()
        rendered = service.publisher.rendered
        assert rendered and all(isinstance(doc, Calendar) for doc in rendered)
        ics = runtime.store.canonical_document(
            "calendar/all.ics", runtime.store.document_index()["calendar/all.ics"]
        )
        assert ics is not None
        refresh = icalendar.Calendar.from_ical(ics.body)["REFRESH-INTERVAL"].dt
        assert refresh == timedelta(seconds=slower.poll_seconds)
        assert service.publisher.up_to_date()


# Text as a content line can hold it: letters of one, two, three and four UTF-8 bytes,
# the escapes' backslash, RFC 6868's caret, the separators icalendar escapes; no line breaks.
_LINE_TEXT = st.text(alphabet="a Zæøå€—😀\u0301\\^,;:\"'\t", max_size=400)


@settings(max_examples=300, deadline=None)
@given(summary=_LINE_TEXT, description=_LINE_TEXT, name=_LINE_TEXT)
def test_events_and_calendars_are_folded_as_icalendar_folds_them(
    summary: str, description: str, name: str
) -> None:
    event = icalendar.Event()
    event.add("uid", "WO0000001234567@toldfeed")
    event.add("summary", summary)
    event.add("description", description)
    event.add("categories", [name, summary])
    calendar = icalendar.Calendar()
    calendar.add("x-wr-calname", name)
    for component in (event, calendar):
        assert ical(component) == component.to_ical()
    assert all(len(line) < 75 for line in ical(event).split(b"\r\n"))


def test_a_long_line_is_cut_between_characters_and_never_inside_an_escape() -> None:
    assert fold("x" * 74) == b"x" * 74
    assert fold("x" * 75) == b"x" * 74 + b"\r\n x"
    assert fold("x" * 73 + "æ") == b"x" * 73 + b"\r\n \xc3\xa6"  # 75 octets: æ goes on
    assert fold("x" * 73 + "\\n") == b"x" * 73 + b"\r\n \\n"  # the escape stays whole
    assert fold("x" * 73 + "^n") == b"x" * 73 + b"\r\n ^n"  # RFC 6868's too
    # after "X-WR-CALNAME:" (13 octets) each escape comes right at the cut
    for text in ("x" * 60 + "\\n", "x" * 60 + "^n", "x" * 58 + "æ\\n"):
        calendar = icalendar.Calendar()
        calendar.add("x-wr-calname", text)
        assert ical(calendar) == calendar.to_ical()  # as icalendar folds it
