"""Service windows, fallback and "now" as published data: API, entries, state, calendars."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import icalendar
import vobject

from app import create_app
from app.runtime import Runtime
from app.service import Service


def test_api_incidents_carry_window_fallback_and_closed_at(client) -> None:
    api = json.loads(client.get("/api/incidents.json").data)
    by_key = {i["key"]: i for i in api["incidents"]}
    rescheduled = by_key["WO0000001586573"]  # start postponed from 18:00 to 18:30 local
    assert rescheduled["window"] == {
        "start": "2026-05-19T16:30:00+00:00",
        "end": "2026-05-19T21:00:00+00:00",
        "cancelled": False,
        "sequence": 1,
    }
    assert rescheduled["closed_at"] == "2026-05-19T19:50:00+00:00"
    # "only if absolutely necessary": a restriction, not a permission
    assert rescheduled["fallback"]["allowed"] is False and rescheduled["fallback"]["restricted"]
    ongoing = by_key["INC000001822307"]
    assert ongoing["window"] is None and ongoing["closed_at"] is None
    assert by_key["WO0000001589016"]["window"]["start"] == "2026-05-30T06:00:00+00:00"


def test_entries_show_the_window_in_danish_local_time_and_the_fallback(client) -> None:
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    entry = next(e for e in atom.entries if e.id.endswith("WO0000001586573"))
    html = entry.content[0].value
    assert "Service window: Tuesday 19 May 2026, 18:30-23:00 Danish time" in html
    assert (
        "Fallback procedure: restricted, only in the cases the message names (no general permission)"
        in html
    )
    danish = feedparser.parse(client.get("/da/feeds/all.atom").data)
    entry = next(e for e in danish.entries if e.id.endswith("WO0000001586573"))
    assert "Servicevindue: tirsdag 19. maj 2026, 18:30-23:00 dansk tid" in entry.content[0].value


def test_systems_api_lists_every_system_with_its_state(client) -> None:
    response = client.get("/api/systems.json")
    assert response.status_code == 200 and response.headers["ETag"]
    systems = json.loads(response.data)["systems"]
    state = client.application.extensions["toldfeed"]
    assert list(systems) == list(state.runtime.catalogue.slugs)
    assert systems["dms-transit"]["state"] == "disrupted"
    assert "INC000001822307" in systems["dms-transit"]["incidents"]
    # polled at 09:30 local on 20 May: the Gateways window 12:00-13:00 local is next
    assert systems["dms-import"]["next_window"] == {
        "key": "WO0000001586738",
        "start": "2026-05-20T10:00:00+00:00",
        "end": "2026-05-20T11:00:00+00:00",
    }


def test_state_during_a_window_is_maintenance_until_its_end(filled, upstream) -> None:
    in_window = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)
    with Runtime.open(filled) as runtime:
        Service(runtime, clock=lambda: in_window).poll_once(force=True)
    client = create_app(filled, poll=False).test_client()
    systems = json.loads(client.get("/api/systems.json").data)["systems"]
    assert systems["dms-import"]["state"] == "maintenance"
    assert systems["dms-import"]["until"] == "2026-05-20T11:00:00+00:00"
    assert systems["dms-transit"]["state"] == "disrupted"  # a disruption outranks a window
    badge = client.get("/badge/dms-import.svg").data
    assert b"Maintenance until 13:00" in badge
    assert "Maintenance until 13:00" in client.get("/").get_data(as_text=True)
    assert (
        "servicevindue til kl. 13:00"
        in client.get("/da/embed/dms-import").get_data(as_text=True).lower()
    )


def test_calendars_parse_with_two_parsers_and_are_cached_like_feeds(client) -> None:
    response = client.get("/calendar/all.ics")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = response.headers["ETag"]
    assert client.get("/calendar/all.ics", headers={"If-None-Match": etag}).status_code == 304
    cal = icalendar.Calendar.from_ical(response.data)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    event = events["tag:toldfeed,2026:incident/WO0000001586573"]
    assert event["SEQUENCE"] == 1 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2026, 5, 19, 16, 30, tzinfo=UTC)
    second = vobject.readOne(response.get_data(as_text=True))
    assert {e.uid.value for e in second.vevent_list} == set(events)
    manifest = icalendar.Calendar.from_ical(client.get("/calendar/system/manifest.ics").data)
    assert {str(e["UID"]) for e in manifest.walk("VEVENT")} < set(events)
    danish = icalendar.Calendar.from_ical(client.get("/da/calendar/all.ics").data)
    assert "servicevindue" in str(danish["X-WR-CALNAME"]).lower()
    assert client.get("/calendar/system/nope.ics").status_code == 404


def test_calendar_bytes_do_not_change_when_a_poll_finds_nothing_new(filled, upstream) -> None:
    before = create_app(filled, poll=False).test_client().get("/calendar/all.ics")
    with Runtime.open(filled) as runtime:
        Service(runtime).poll_once(force=True)  # t3 again, today
    after = create_app(filled, poll=False).test_client().get("/calendar/all.ics")
    assert after.data == before.data and after.headers["ETag"] == before.headers["ETag"]


def test_export_writes_calendars_and_the_systems_api(filled, tmp_path) -> None:
    from app.cli.export import export_all

    export_all(filled, tmp_path / "site")
    for rel in ("calendar/all.ics", "da/calendar/system/ics2.ics", "api/systems.json"):
        assert (tmp_path / "site" / rel).is_file(), rel
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "/calendar/all.ics" in index and "Outlook" in index


def test_every_message_of_a_shared_reference_is_in_the_entry_newest_first(client) -> None:
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    entry = next(e for e in atom.entries if e.id.endswith("INC000001814725"))
    html = entry.content[0].value
    api = json.loads(client.get("/api/incidents.json").data)
    incident = next(i for i in api["incidents"] if i["key"] == "INC000001814725")
    assert len(incident["oids"]) == 2 and incident["earlier"]
    earlier = incident["earlier"][0]
    assert earlier["oid"] != incident["oid"] and earlier["html"]
    # the newest message first, then what the earlier one said
    first_words = incident["message_text"]["en"].split("\n")[0]
    earlier_words = next(
        line for line in earlier["html"].split("</p>") if line.strip() and "INC" not in line
    )
    earlier_words = earlier_words.replace("<p>", "").strip()[:40]
    assert html.index(first_words[:40]) < html.index("Earlier message") < html.index(earlier_words)
    page = client.get("/incidents/INC000001814725").get_data(as_text=True)
    assert "Earlier message under the same reference" in page and earlier_words in page


def test_rss_dates_items_by_their_last_real_change(client) -> None:
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    updated = {e.id: e.updated for e in atom.entries}
    item = next(e for e in rss.entries if e.id.endswith("WO0000001586573"))
    assert (
        item.published_parsed[:6]
        == feedparser.parse(
            f"<feed xmlns='http://www.w3.org/2005/Atom'><updated>{updated[item.id]}</updated></feed>"
        ).feed.updated_parsed[:6]
    )
