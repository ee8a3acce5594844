"""Before, not after: what the clock makes due (reminders, window events, digests), decided by
the pure core with the clock as a parameter; the targets file's new keys; the words."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from app.catalogue import load_catalogue
from app.cli import main
from app.config import parse_clock
from app.errors import ConfigError
from app.model import Fallback, Incident, Kind, Lang, Status, Update, Window
from app.notify import slack, teams, webhook
from app.notify.digest import digest_due, latest_moment, moment_of, take_digest
from app.notify.digest_message import compose_digest
from app.notify.mail import build
from app.notify.moment_message import compose_moment, lead_words
from app.notify.recipients import Recipient, parse_lead
from app.notify.targets import ChannelKind, Target, load_targets
from app.notify.timed import (
    OVERRUN,
    REMINDER,
    STARTED,
    due_notifications,
    learn,
    plan,
)
from app.store.records import DigestMark, Notification
from app.upstream.dates import local_to_utc
from tests.conftest import ROOT
from tests.test_state import incident

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
GRACE = timedelta(seconds=900)
HOUR = 3600
OPS = Recipient("ops", leads=frozenset({86400, HOUR}), window_events=True)
HOURLY = Recipient("ops", leads=frozenset({HOUR}), window_events=True)
REJECTED = (
    "Files sent to DMS Import/DMS Export/DMS Forsendelse are rejected during the service window."
)


def local(text: str) -> datetime:
    """A Danish local wall-clock time, as UTC."""
    return local_to_utc(datetime.fromisoformat(text))


START, END = local("2026-06-02 18:00"), local("2026-06-02 23:00")  # a Tuesday, summer time


def window_incident(
    start: datetime = START,
    end: datetime | None = END,
    *,
    key: str = "WO0000001590001",
    status: Status = Status.SCHEDULED,
    cancelled: bool = False,
    fallback: Fallback | None = None,
    systems: tuple[str, ...] = ("dms-import", "dms-export"),
) -> Incident:
    at = start - timedelta(days=7)
    text = f"Service window Tuesday 2 June 2026, 1800-2300\n{REJECTED}\nDMS Online is closed."
    made = incident(
        key, status=status, window=Window(start, end, cancelled=cancelled), systems=systems
    )
    return replace(
        made,
        title={"en": "Service window DMS", "da": "Servicevindue DMS"},
        message_html={"en": f"<p>{text}</p>"},
        message_text={"en": text},
        published_at=at,
        updated_at=at,
        upstream_updated_at=at,
        updates=(Update("Planned", Lang.EN, at=at),),
        fallback=fallback,
        closed_at=at if status is Status.CLOSED else None,
    )


def due(
    incidents: list[Incident],
    now: datetime,
    known_at: datetime,
    recipients: tuple[Recipient, ...] = (OPS,),
    told: frozenset[tuple[str, str]] = frozenset(),
) -> list[Notification]:
    """What is due at ``now`` for windows first known at ``known_at``."""
    known, _ = learn(incidents, {}, known_at)
    leads = {lead for r in recipients for lead in r.leads}
    schedule = plan(incidents, known, leads, GRACE)
    return due_notifications(schedule, now, recipients, lambda name, id_: (name, id_) in told)


def events(notes: list[Notification]) -> list[tuple[str, int | None]]:
    return [(n.event, n.timing.lead_seconds if n.timing else None) for n in notes]


# --- reminders and window events: the pure core -----------------------------------------------


def test_a_reminder_is_due_from_its_moment_until_the_start_never_after() -> None:
    incident = window_incident()
    known_at = START - timedelta(days=3)
    moment = START - timedelta(hours=1)
    assert due([incident], moment - timedelta(seconds=1), known_at, (HOURLY,)) == []
    (note,) = due([incident], moment, known_at, (HOURLY,))
    assert (note.event, note.target, note.timing and note.timing.lead_seconds) == (
        REMINDER,
        "ops",
        HOUR,
    )
    assert note.id == (
        "tag:toldfeed,2026:incident/WO0000001590001#remind-3600@2026-06-02T16:00:00+00:00"
    )
    assert note.timing is not None and (note.timing.at, note.timing.until) == (moment, START)
    assert events(due([incident], moment + timedelta(seconds=1), known_at, (HOURLY,))) == [
        (REMINDER, HOUR)
    ]
    assert events(due([incident], START - timedelta(seconds=1), known_at, (HOURLY,))) == [
        (REMINDER, HOUR)
    ]
    # told once: never again
    told = frozenset({("ops", note.id)})
    assert due([incident], moment + timedelta(seconds=1), known_at, (HOURLY,), told=told) == []
    # the start: the reminder is too late, "started" is due (and only that)
    assert events(due([incident], START, known_at, (HOURLY,))) == [(STARTED, None)]
    assert due([incident], START - timedelta(seconds=1), known_at, (HOURLY,))[0].event == REMINDER


def test_a_window_announced_inside_the_lead_gets_no_reminder_for_that_lead() -> None:
    incident = window_incident()
    # first known 2 hours before the start: no 24-hour reminder (the announcement was the
    # news), but the 1-hour one, and "started"
    known_at = START - timedelta(hours=2)
    assert due([incident], START - timedelta(hours=2), known_at) == []
    assert events(due([incident], START - timedelta(hours=1), known_at)) == [(REMINDER, HOUR)]
    # known exactly at the moment: still before it, so told
    assert events(due([incident], START - timedelta(hours=1), START - timedelta(hours=1))) == [
        (REMINDER, HOUR)
    ]
    # known a second after the moment: not told; a window first known after its start gets
    # no "started" either
    assert (
        due([incident], START - timedelta(minutes=30), START - timedelta(minutes=59, seconds=59))
        == []
    )
    assert due([incident], START + timedelta(minutes=1), START + timedelta(seconds=1)) == []


def test_each_lead_a_recipient_chose_and_only_those() -> None:
    incident = window_incident()
    known_at = START - timedelta(days=3)
    day_only = Recipient("day", leads=frozenset({86400}))
    events_only = Recipient("events", window_events=True)
    digest = Recipient("digest", digest_at=time(7), digest_only=True)
    elsewhere = Recipient("ics", leads=frozenset({HOUR}), systems=frozenset({"ics2"}))
    everyone = (OPS, day_only, events_only, digest, elsewhere)
    at_day = due([incident], START - timedelta(days=1), known_at, everyone)
    assert sorted(n.target for n in at_day) == ["day", "ops"]
    told = frozenset((n.target, n.id) for n in at_day)
    at_hour = due([incident], START - timedelta(hours=1), known_at, everyone, told)
    assert [n.target for n in at_hour] == ["ops"]
    at_start = due([incident], START, known_at, everyone)
    assert sorted(n.target for n in at_start) == ["events", "ops"]


@pytest.mark.parametrize(
    "change",
    [
        {"cancelled": True},
        {"status": Status.CLOSED},
    ],
)
def test_a_cancelled_or_closed_window_gets_no_more(change: dict[str, object]) -> None:
    incident = window_incident()
    known_at = START - timedelta(days=3)
    known, _ = learn([incident], {}, known_at)
    stopped = window_incident(**change)  # type: ignore[arg-type]
    fresh, gone = learn([stopped], known, START - timedelta(hours=2))
    assert fresh == {} and gone == [incident.key]  # its record is dropped
    schedule = plan([stopped], known, [HOUR, 86400], GRACE)
    assert len(schedule) == 0
    for now in (START - timedelta(hours=1), START, END + GRACE):
        assert due([stopped], now, known_at) == []


def test_a_moved_start_across_midnight_gets_the_reminders_of_its_new_moments() -> None:
    old_start, old_end = local("2026-06-02 23:30"), local("2026-06-03 01:00")
    new_start, new_end = local("2026-06-03 00:30"), local("2026-06-03 02:00")
    before = window_incident(old_start, old_end)
    known, _ = learn([before], {}, old_start - timedelta(days=2))
    schedule = plan([before], known, [HOUR], GRACE)
    (reminded,) = due_notifications(
        schedule, old_start - timedelta(hours=1), (OPS,), lambda *_: False
    )
    # 22:45: moved to 00:30 the next day
    after = window_incident(new_start, new_end)
    moved_at = local("2026-06-02 22:45")
    fresh, gone = learn([after], known, moved_at)
    assert fresh[after.key].start_known_at == moved_at and gone == []
    schedule = plan([after], {**known, **fresh}, [HOUR], GRACE)
    told = {("ops", reminded.id)}

    def at(now: datetime) -> list[Notification]:
        return due_notifications(schedule, now, (OPS,), lambda *k: k in told)

    # nothing for the old start (its "started" at 23:30 is not due), the new reminder at 23:30
    (again,) = at(local("2026-06-02 23:30"))
    assert again.event == REMINDER and again.id != reminded.id
    assert again.id.endswith("#remind-3600@2026-06-02T22:30:00+00:00")
    assert again.timing is not None and again.timing.at == local("2026-06-02 23:30")
    assert [n.event for n in at(new_start)] == [STARTED]
    assert at(old_start) == [again]  # the old start's moment is nothing of its own


def test_a_reschedule_across_the_change_to_summer_time() -> None:
    # Saturday 28 March 2026 22:00 CET (21:00 UTC) moved to Sunday 29 March 22:00 CEST
    # (20:00 UTC): the clocks went forward in between; leads are durations
    saturday, sunday = local("2026-03-28 22:00"), local("2026-03-29 22:00")
    assert (saturday.hour, sunday.hour) == (21, 20)
    after = window_incident(sunday, sunday + timedelta(hours=1, minutes=30))
    known_at = local("2026-03-27 12:00")  # learnt the move before either reminder
    notes = due([after], sunday - timedelta(days=1), known_at)
    (day,) = notes
    assert day.id.endswith("#remind-86400@2026-03-29T20:00:00+00:00")
    assert day.timing is not None and day.timing.at == datetime(2026, 3, 28, 20, tzinfo=UTC)
    # that is 21:00 CET on Saturday: the message names the new day and its local times
    message = compose_moment(day, CATALOGUE, Lang.EN, "https://t.test/incidents/x")
    assert "service window in 24 hours, Sunday 29 March, 22:00-23:30 Danish time" in (
        message.summary
    )
    assert due([after], sunday - timedelta(days=1, seconds=1), known_at) == []


def test_not_reported_complete_after_the_planned_end_and_grace_while_open() -> None:
    incident = window_incident()
    known_at = START - timedelta(days=3)
    assert due([incident], END + GRACE - timedelta(seconds=1), known_at) == []
    (note,) = due([incident], END + GRACE, known_at)
    assert note.event == OVERRUN
    assert note.id.endswith("#overrun@2026-06-02T21:00:00+00:00")
    assert events(due([incident], END + GRACE + timedelta(hours=11), known_at)) == [(OVERRUN, None)]
    assert due([incident], END + GRACE + timedelta(hours=12), known_at) == []
    # an extension (a new end) is a new moment; the old end is nothing any more
    later = window_incident(end=END + timedelta(hours=2))
    known, _ = learn([incident], {}, known_at)
    fresh, _ = learn([later], known, END + timedelta(minutes=5))
    schedule = plan([later], {**known, **fresh}, [], GRACE)

    def at(now: datetime) -> list[Notification]:
        return due_notifications(schedule, now, (OPS,), lambda *_: False)

    def overruns(now: datetime) -> list[Notification]:
        return [n for n in at(now) if n.event == OVERRUN]

    assert overruns(END + GRACE) == []
    (extended,) = overruns(END + timedelta(hours=2) + GRACE)
    assert extended.id.endswith("#overrun@2026-06-02T23:00:00+00:00")
    # closed: nothing
    closed = window_incident(status=Status.CLOSED)
    assert due([closed], END + GRACE, known_at) == []


def test_a_window_with_no_end_has_started_but_no_overrun() -> None:
    incident = window_incident(end=None)
    known_at = START - timedelta(days=3)
    assert events(due([incident], START + timedelta(hours=1), known_at)) == [(STARTED, None)]
    assert due([incident], START + timedelta(hours=13), known_at) == []


# --- the digest: when and what ----------------------------------------------------------------


def test_the_digest_moment_on_the_days_the_clocks_change() -> None:
    seven = time(7)
    assert moment_of(date(2026, 3, 28), seven) == datetime(2026, 3, 28, 6, tzinfo=UTC)
    assert moment_of(date(2026, 3, 29), seven) == datetime(2026, 3, 29, 5, tzinfo=UTC)
    assert moment_of(date(2026, 10, 25), seven) == datetime(2026, 10, 25, 6, tzinfo=UTC)
    # 02:30 does not exist on 29 March: it is moved on by the gap, once
    assert moment_of(date(2026, 3, 29), time(2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 comes twice on 25 October: the first one
    assert moment_of(date(2026, 10, 25), time(2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    digest = Recipient("d", digest_at=seven)
    mark = DigestMark(date(2026, 3, 28), datetime(2026, 3, 28, 6, tzinfo=UTC))
    assert digest_due(digest, mark, datetime(2026, 3, 29, 4, 59, 59, tzinfo=UTC)) is None
    assert digest_due(digest, mark, datetime(2026, 3, 29, 5, tzinfo=UTC)) == date(2026, 3, 29)


def test_missed_days_give_one_late_digest_and_a_new_recipient_waits_for_its_time() -> None:
    digest = Recipient("d", digest_at=time(7))
    last = DigestMark(date(2026, 6, 1), moment_of(date(2026, 6, 1), time(7)))
    back = local("2026-06-04 10:15")  # down from the 1st to the 4th
    assert latest_moment(time(7), back) == (date(2026, 6, 4), local("2026-06-04 07:00"))
    assert digest_due(digest, last, back) == date(2026, 6, 4)  # today's, late; not the 2nd, 3rd
    assert digest_due(digest, DigestMark(date(2026, 6, 4), back), back) is None
    # back at 06:00 on the 4th: the 3rd's, late (the latest time that passed), then the 4th's
    early = local("2026-06-04 06:00")
    assert digest_due(digest, last, early) == date(2026, 6, 3)
    # first seen at 10:00: nothing late, the next morning's is the first
    seen = DigestMark(None, local("2026-06-04 10:00"))
    assert digest_due(digest, seen, local("2026-06-04 10:01")) is None
    assert digest_due(digest, seen, local("2026-06-05 07:00")) == date(2026, 6, 5)
    # first seen before the time of day: that day's
    assert digest_due(
        digest, DigestMark(None, local("2026-06-04 06:59")), local("2026-06-04 07:00")
    )
    assert digest_due(digest, None, back) is None


def disruption(key: str, published: datetime, *, closed_at: datetime | None = None) -> Incident:
    incident = window_incident(key=key, systems=("dms-transit",))
    return replace(
        incident,
        kind=Kind.DISRUPTION,
        window=None,
        title={"en": f"Delayed processing {key}", "da": f"Forsinket behandling {key}"},
        published_at=published,
        status=Status.CLOSED if closed_at else Status.CURRENT,
        closed_at=closed_at,
        updates=(Update(f"Update on {key}: still looking", Lang.EN, at=published),),
    )


def test_the_digest_lists_open_disruptions_coming_windows_and_what_closed() -> None:
    now = local("2026-06-01 07:00")
    since = local("2026-05-31 07:00")
    recipient = Recipient("shift", digest_at=time(7))
    open_one = disruption("INC1", local("2026-06-01 05:40"))
    coming = window_incident(fallback=Fallback(False, restricted=True))  # tomorrow
    far = window_incident(START + timedelta(days=8), END + timedelta(days=8), key="WO2")
    cancelled = window_incident(key="WO3", cancelled=True)
    closed_now = disruption("INC2", local("2026-05-31 06:00"), closed_at=local("2026-05-31 09:00"))
    closed_before = disruption(
        "INC3", local("2026-05-30 06:00"), closed_at=local("2026-05-30 09:00")
    )
    note = take_digest(
        recipient,
        [open_one, coming, far, cancelled],
        [closed_now, closed_before],
        date(2026, 6, 1),
        now,
        since,
    )
    assert note.id == "digest:shift:2026-06-01" and note.digest is not None
    assert [i.key for i in note.digest.open] == ["INC1"]
    assert [i.key for i in note.digest.windows] == ["WO0000001590001", "WO3"]  # not WO2
    assert [i.key for i in note.digest.closed] == ["INC2"]
    message = compose_digest(note, CATALOGUE, Lang.EN, "https://t.test/", page_of)
    assert message.headline == "Daily digest, Monday 1 June 2026"
    assert message.summary == (
        "1 open disruption, 2 service windows in the next 7 days, 1 closed since "
        "31 May 2026 07:00 Danish time."
    )
    text = message.text
    assert "DMS Transit (NCTS): Delayed processing INC1 (since 05:40; newest update 05:40: " in text
    assert "Tuesday 2 June, 18:00-23:00 Danish time: DMS Import, DMS Export" in text
    assert "Fallback procedure: restricted" in text and "cancelled" in text
    assert "closed 31 May 2026 09:00" in text and "INC3" not in text
    danish = compose_digest(note, CATALOGUE, Lang.DA, "https://t.test/da/", page_of)
    assert danish.headline == "Dagligt overblik, mandag 1. juni 2026"
    assert "tirsdag 2. juni kl. 18:00-23:00 dansk tid: DMS Import, DMS Eksport" in danish.text
    # narrowed to a recipient's systems
    ics = take_digest(
        Recipient("ics", digest_at=time(7), systems=frozenset({"ics2"})),
        [open_one, coming],
        [closed_now],
        date(2026, 6, 1),
        now,
        since,
    )
    assert ics.digest is not None and ics.digest.empty


def page_of(key: str) -> str:
    return f"https://t.test/incidents/{key}"


def test_an_empty_digest_says_so_in_both_languages() -> None:
    now = local("2026-06-01 07:00")
    recipient = Recipient("shift", digest_at=time(7))
    note = take_digest(recipient, [], [], date(2026, 6, 1), now, now - timedelta(days=1))
    english = compose_digest(note, CATALOGUE, Lang.EN, "https://t.test/", page_of)
    assert english.summary == (
        "Nothing open, no service windows in the next 7 days, nothing closed since "
        "31 May 2026 07:00 Danish time."
    )
    assert "No open disruptions." in english.text
    danish = compose_digest(note, CATALOGUE, Lang.DA, "https://t.test/da/", page_of)
    assert danish.summary.startswith("Intet åbent, ingen servicevinduer de næste 7 dage")


# --- the words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "english", "danish"),
    [
        (3600, "in 1 hour", "om 1 time"),
        (5400, "in 1 hour 30 minutes", "om 1 time og 30 minutter"),
        (600, "in 10 minutes", "om 10 minutter"),
        (86400, "in 24 hours", "om 24 timer"),
        (2 * 86400, "in 2 days", "om 2 dage"),
    ],
)
def test_lead_words(seconds: int, english: str, danish: str) -> None:
    assert lead_words(seconds, Lang.EN) == english
    assert lead_words(seconds, Lang.DA) == danish


def reminder(lang_fallback: Fallback | None = None, lead: int = HOUR) -> Notification:
    incident = window_incident(fallback=lang_fallback)
    recipient = Recipient("ops", leads=frozenset({lead}))
    (note,) = due(
        [incident], START - timedelta(seconds=lead), START - timedelta(days=3), (recipient,)
    )
    return note


def test_a_reminder_reads_like_a_colleague_s_message_on_every_channel() -> None:
    note = reminder(Fallback(False, restricted=True))
    message = compose_moment(note, CATALOGUE, Lang.EN, "https://t.test/incidents/WO1")
    assert message.headline == "Service window in 1 hour: DMS Import, DMS Export"
    assert message.summary == (
        f"DMS Import, DMS Export: service window in 1 hour, 18:00-23:00 Danish time. {REJECTED} "
        "The fallback procedure only in the cases the agency names."
    )
    card = teams.payload(message)["attachments"][0]["content"]
    texts = [b.get("text", "") for b in card["body"]]
    assert teams.escape(message.summary) in texts
    assert card["actions"][0]["url"] == "https://t.test/incidents/WO1"
    blocks = slack.payload(message)
    assert blocks["text"] == message.headline
    assert any(b.get("text", {}).get("text") == message.summary for b in blocks["blocks"])
    target = Target("desk", ChannelKind.EMAIL, to=("desk@example.com",), sender="t@example.com")
    mail = build(target, note, message, START)
    assert mail["Subject"] == message.headline  # its own subject, in the incident's thread
    assert mail["In-Reply-To"] == "<incident.WO0000001590001@example.com>"
    assert mail["Message-ID"] == (
        "<incident.WO0000001590001.remind-3600-2026-06-02T16-00-00-00-00@example.com>"
    )
    body = mail.get_body(("html",))
    assert body is not None and REJECTED in body.get_content()
    danish = compose_moment(note, CATALOGUE, Lang.DA, "https://t.test/da/incidents/WO1")
    assert danish.summary.startswith(
        "DMS Import, DMS Eksport: servicevindue om 1 time, kl. 18:00-23:00 dansk tid."
    )
    assert danish.summary.endswith("Nødproceduren kun i de tilfælde, styrelsen nævner.")


def test_a_day_ahead_names_the_day_and_started_and_overrun_say_what_happened() -> None:
    day = compose_moment(reminder(lead=86400), CATALOGUE, Lang.EN, "https://t.test/i")
    assert day.summary.startswith(
        "DMS Import, DMS Export: service window in 24 hours, Tuesday 2 June, 18:00-23:00 "
        "Danish time."
    )
    incident = window_incident(fallback=Fallback(True))
    known_at = START - timedelta(days=3)
    (started,) = due([incident], START, known_at)
    said = compose_moment(started, CATALOGUE, Lang.EN, "https://t.test/i")
    assert said.headline == "Service window started: DMS Import, DMS Export"
    assert said.summary.startswith(
        "DMS Import, DMS Export: the service window has started, 18:00-23:00 Danish time."
    )
    assert said.summary.endswith("The fallback procedure is allowed.")
    (overrun,) = due([incident], END + GRACE, known_at)
    late = compose_moment(overrun, CATALOGUE, Lang.DA, "https://t.test/da/i")
    assert late.headline == "Servicevindue ikke meldt afsluttet: DMS Import, DMS Eksport"
    assert late.summary.startswith(
        "DMS Import, DMS Eksport: servicevinduet skulle slutte kl. 23:00 dansk tid og er "
        "endnu ikke meldt afsluttet."
    )


def test_webhook_types_and_data_of_time_driven_notifications() -> None:
    note = reminder()
    event = webhook.payload(note)
    assert event["type"] == "window.reminder"
    assert event["timestamp"] == "2026-06-02T15:00:00+00:00"  # the moment it is about
    assert event["data"]["key"] == "WO0000001590001" and event["data"]["lead_seconds"] == HOUR
    assert event["data"]["window"]["start"] == "2026-06-02T16:00:00+00:00"
    incident = window_incident()
    (started,) = due([incident], START, START - timedelta(days=1))
    assert webhook.payload(started)["type"] == "window.started"
    assert "lead_seconds" not in webhook.payload(started)["data"]
    (overrun,) = due([incident], END + GRACE, START - timedelta(days=1))
    assert webhook.payload(overrun)["type"] == "window.overrun"
    digest = take_digest(
        Recipient("d", digest_at=time(7)),
        [disruption("INC1", START), incident],
        [],
        date(2026, 6, 2),
        START,
        START - timedelta(days=1),
    )
    body = webhook.payload(digest)
    assert body["type"] == "digest" and sorted(body["data"]) == [
        "closed",
        "date",
        "open",
        "windows",
    ]
    assert body["data"]["date"] == "2026-06-02"
    assert [i["key"] for i in body["data"]["open"]] == ["INC1"]
    assert [i["key"] for i in body["data"]["windows"]] == ["WO0000001590001"]
    json.dumps(body)  # as sent


# --- the targets file -------------------------------------------------------------------------


def targets(tmp_path: Path, make_settings, block: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "n.toml"
    path.write_text(f'[[target]]\nname = "ops"\nkind = "teams"\nurl = "https://x.test/"\n{block}')
    return load_targets(make_settings(notify=str(path)), CATALOGUE.slugs)


def test_the_new_keys_of_a_target(tmp_path: Path, make_settings) -> None:
    (ops,) = targets(
        tmp_path,
        make_settings,
        'remind = ["24h", "1h", "90m", "1h30m", "2d"]\nwindow_events = true\ndigest = "07:00"',
    )
    assert ops.leads == {86400, 3600, 5400, 2 * 86400}
    assert ops.window_events and ops.digest_at == time(7) and not ops.digest_only
    recipient = ops.recipient
    assert recipient.leads == ops.leads and recipient.digest_at == time(7)
    (only,) = targets(tmp_path, make_settings, 'digest = "6:30"\ndigest_only = true')
    assert only.digest_only and only.digest_at == time(6, 30)
    assert not only.wants(window_incident())  # no change notifications


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ('remind = ["1 hour"]', "target 'ops': remind: cannot read the lead '1 hour'"),
        ('remind = ["0m"]', "remind: the lead '0m' must be more than 0"),
        ('remind = ["8d"]', "at most 7 days"),
        ('remind = "1h"', "remind: a list of strings"),
        ('digest = "25:00"', "digest: cannot read '25:00' as a time of day"),
        ("digest = 7", "digest: a Danish local time of day"),
        ('window_events = "yes"', "window_events: true or false"),
        ("digest_only = true", "digest_only: needs digest"),
        ('digest = "07:00"\ndigest_only = true\nremind = ["1h"]', "digest_only: needs digest"),
        ('reminders = ["1h"]', "target 'ops': reminders: unknown field"),
    ],
)
def test_a_misspelt_key_or_an_unreadable_lead_is_a_configuration_error(
    tmp_path: Path, make_settings, monkeypatch, capsys, block: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        targets(tmp_path, make_settings, block)
    assert expected in str(raised.value)
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(tmp_path / "n.toml"))
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    assert main(["notify-test", "ops", "--kind", "reminder"]) == 2
    assert expected in capsys.readouterr().err


def test_leads_and_times_of_day() -> None:
    assert [parse_lead(t) for t in ("1h", "90m", "1h30m", "2d", "1d12h")] == [
        3600,
        5400,
        5400,
        172800,
        129600,
    ]
    for bad in ("", "h", "1.5h", "30s", "-1h", "1m1h"):
        with pytest.raises(ValueError):
            parse_lead(bad)
    assert parse_clock("07:00") == time(7) and parse_clock("23:59") == time(23, 59)
    for bad in ("7", "24:00", "07:60", "7am"):
        with pytest.raises(ValueError):
            parse_clock(bad)


def test_the_sample_targets_file_shows_the_new_keys(make_settings) -> None:
    settings = make_settings(
        notify=str(ROOT / "feeds" / "notify.example.toml"), smtp_url="smtp://mail.example.com"
    )
    loaded = {t.name: t for t in load_targets(settings, CATALOGUE.slugs)}
    assert loaded["ops-teams"].leads == {86400, 3600} and loaded["ops-teams"].window_events
    assert loaded["brokers-slack"].digest_at == time(7)
    assert loaded["morning-shift"].digest_only


def test_a_digest_on_teams_slack_and_e_mail_links_each_incident() -> None:
    now = local("2026-06-01 07:00")
    open_one = disruption("INC1", local("2026-06-01 05:40"))
    hostile = replace(open_one, title={"en": "[Verify account](http://evil.example/x) *now*"})
    note = take_digest(
        Recipient("shift", digest_at=time(7)),
        [hostile, window_incident()],
        [],
        date(2026, 6, 1),
        now,
        now - timedelta(days=1),
    )
    message = compose_digest(note, CATALOGUE, Lang.EN, "https://t.test/", page_of)
    card = teams.payload(message)["attachments"][0]["content"]
    texts = "\n".join(b.get("text", "") for b in card["body"])
    assert "**Open disruptions**" in texts
    assert "](https://t.test/incidents/INC1)" in texts
    assert teams.escape("[Verify account](http://evil.example/x) *now*") in texts
    assert "](http://evil" not in texts  # upstream text is text, never a link
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Status page",
        "url": "https://t.test/",
    }
    blocks = slack.payload(message)["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(
        t.startswith("*Open disruptions*\n• <https://t.test/incidents/INC1|") for t in sections
    )
    assert any(t.startswith("*Closed since") and "\nNothing closed since" in t for t in sections)
    target = Target("desk", ChannelKind.EMAIL, to=("desk@example.com",), sender="t@example.com")
    mail = build(target, note, message, now)
    assert mail["Subject"] == "Daily digest, Monday 1 June 2026" and "In-Reply-To" not in mail
    # its language and what it lists name it: a digest narrowed otherwise, or in Danish, is
    # another message with another id; other words for the same (an upgrade, a new base URL,
    # a later attempt) keep it
    assert re.fullmatch(
        r"<digest\.shift\.2026-06-01\.en\.[0-9a-f]{10}@example\.com>", mail["Message-ID"]
    )
    reworded = replace(message, summary="Other words", link="https://elsewhere.test/")
    assert (
        build(target, note, reworded, now + timedelta(hours=1))["Message-ID"] == mail["Message-ID"]
    )
    danish = compose_digest(note, CATALOGUE, Lang.DA, "https://t.test/", page_of)
    assert (
        build(replace(target, lang=Lang.DA), note, danish, now)["Message-ID"] != mail["Message-ID"]
    )
    digest = note.digest
    assert digest is not None and digest.open
    fewer = replace(note, digest=replace(digest, open=digest.open[1:]))
    assert build(target, fewer, message, now)["Message-ID"] != mail["Message-ID"]
    html = mail.get_body(("html",))
    assert html is not None
    assert "<a href='https://t.test/incidents/INC1'>" in html.get_content()
