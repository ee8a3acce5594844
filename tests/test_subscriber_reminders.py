"""Before, not after, for the self-service subscribers: the passes over the clock queue one
notification for all of them (target ``subscribers``), and the fan-out sends each reminder,
window event and digest only to those who chose it, for their systems, in their language,
with their list headers; a real local SMTP server (aiosmtpd); exactly once across two
processes. The clock is a parameter, never patched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from app.cli import main
from app.config import Settings
from app.model import Kind, Lang, Status
from app.notify.targets import SUBSCRIBERS
from app.notify.timed import DIGEST, REMINDER, reminder_id, started_id
from app.runtime import Runtime
from app.service import Service
from app.store.records import Delivery
from app.store.subscriber_records import Choices, Interest
from tests.processes import Forker
from tests.receivers import Inbox, free_port
from tests.test_notify import Clock, pending_notes
from tests.test_reminders import START, local, window_incident
from tests.test_reminders_delivery import put, race
from tests.test_state import incident
from tests.test_subscriptions import (
    BASE,
    Relay,
    add_subscribers,
    child_env,
    link,
    text_of,
)

HOUR = timedelta(hours=1)
DMS = "WO0000001590001"  # a window on DMS Import and DMS Export
ICS2 = "WO0000001590002"  # a window on ICS2 at the same time
OUTAGE = "INC000009990001"  # an open disruption of ICS2
SECOND = timedelta(seconds=1)


def choices(*interests: Interest, systems: tuple[str, ...] = (), lang: Lang = Lang.EN) -> Choices:
    return Choices(frozenset(systems), frozenset(interests), lang)


@pytest.fixture
def relay(make_settings) -> Iterator[tuple[Relay, Settings]]:
    """A store with two service windows (and an ICS2 disruption), subscriptions on, mail to a
    local SMTP server."""
    port = free_port()
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings: Settings = make_settings(
        subscriptions="email",
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="toldfeed@feeds.example.test",
        secret_key="a test key that signs every link of this test",
    )
    outage = incident(OUTAGE, kind=Kind.DISRUPTION, status=Status.CURRENT, systems=("ics2",))
    put(settings, window_incident(), window_incident(key=ICS2, systems=("ics2",)), outage)
    yield handler, settings
    handler.release.set()
    controller.stop()


def told(inbox: Inbox) -> dict[str, list[str]]:
    """Each recipient's mails, by their ``X-Toldfeed-Id``, in the order they came."""
    found: dict[str, list[str]] = {}
    for msg in inbox.messages:
        found.setdefault(str(msg["To"]), []).append(str(msg["X-Toldfeed-Id"]))
    return found


def reminder(key: str, lead: int) -> str:
    return reminder_id(window_incident(key=key), lead, START)


def started(key: str) -> str:
    return started_id(window_incident(key=key), START)


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def listed(msg: EmailMessage) -> None:
    """The mail carries the subscriber's list headers and the visible link to their page."""
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == "toldfeed <subscribers.feeds.example.test>"
    assert str(msg["List-Unsubscribe"]).startswith(f"<{BASE}/subscription/unsubscribe?token=")
    assert link(msg, "/subscription").startswith("/subscription?token=")


def test_reminders_and_window_events_reach_only_those_who_chose_them_for_their_systems(
    relay: tuple[Relay, Settings],
) -> None:
    handler, settings = relay
    (day,) = add_subscribers(settings, 1, choices(Interest.REMIND_24H, systems=("dms-import",)))
    (hour,) = add_subscribers(settings, 1, choices(Interest.REMIND_1H, lang=Lang.DA), prefix="h")
    (events,) = add_subscribers(
        settings, 1, choices(Interest.WINDOWS, systems=("dms-export",)), prefix="w"
    )
    (ics2,) = add_subscribers(
        settings,
        1,
        choices(Interest.REMIND_24H, Interest.REMIND_1H, Interest.WINDOWS, systems=("ics2",)),
        prefix="i",
    )
    (digest,) = add_subscribers(
        settings, 1, choices(Interest.DISRUPTIONS, Interest.DIGEST), prefix="c"
    )
    clock = Clock(START - 24 * HOUR - SECOND)
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=clock)
        assert service.look_at_the_clock() == []  # the windows learnt, nothing due yet

        clock.now = START - 24 * HOUR + SECOND
        queued = service.look_at_the_clock()
        assert sorted(n.id for n in queued) == [reminder(DMS, 86400), reminder(ICS2, 86400)]
        assert {n.target for n in queued} == {SUBSCRIBERS}  # one each, for all of them
        assert service.deliverer.deliver().mails == 2
        assert told(handler) == {day: [reminder(DMS, 86400)], ics2: [reminder(ICS2, 86400)]}

        clock.now = START - HOUR + SECOND
        handler.clear()
        assert {n.event for n in service.look_at_the_clock()} == {REMINDER, DIGEST}
        service.deliverer.deliver()
        assert told(handler) == {
            hour: [reminder(DMS, 3600), reminder(ICS2, 3600)],  # every system
            ics2: [reminder(ICS2, 3600)],
            digest: ["digest:subscribers:2026-06-02"],  # 07:00 passed since the first look
        }
        danish = next(m for m in handler.messages if m["To"] == hour)
        assert danish["Subject"].startswith("Servicevindue om 1 time")
        assert danish["Content-Language"] == "da" and "kl. 18:00-23:00" in text_of(danish)
        listed(danish)

        clock.now = START + SECOND
        handler.clear()
        assert {n.id for n in service.look_at_the_clock()} == {started(DMS), started(ICS2)}
        service.deliverer.deliver()
        assert told(handler) == {events: [started(DMS)], ics2: [started(ICS2)]}
        english = next(m for m in handler.messages if m["To"] == events)
        assert english["Subject"].startswith("Service window started")
        assert "DMS Export" in text_of(english) and english["Content-Language"] == "en"
        assert english["In-Reply-To"] == f"<incident.{DMS}@feeds.example.test>"  # its thread
        listed(english)
        report = service.deliverer.deliver()
    assert report.pending == 0


def test_a_reminder_fan_out_not_out_by_the_start_is_given_up_there(
    relay: tuple[Relay, Settings],
) -> None:
    handler, settings = relay
    first, *_ = add_subscribers(settings, 3, choices(Interest.REMIND_1H))
    clock = Clock(START - 2 * HOUR)
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=clock)
        service.look_at_the_clock()
        clock.now = START - HOUR
        assert len(service.look_at_the_clock()) == 2
        handler.refuse[first] = "451 4.3.0 try again later"
        assert service.deliverer.deliver().mails == 5  # the first one's DMS mail waits
        clock.now = START  # its retry would come after the start: too late
        report = service.deliverer.deliver()
    assert report.given_up == 1 and report.pending == 0 and report.mails == 0
    assert Counter(str(m["To"]) for m in handler.messages)[first] == 1
    (note,) = [n for n in pending_notes(settings) if n.state is Delivery.GIVEN_UP]
    assert note.id == reminder(DMS, 3600) and note.last_error == "too late: the window has started"


def test_the_digest_at_the_set_time_is_narrowed_to_each_subscribers_systems(
    relay: tuple[Relay, Settings],
) -> None:
    handler, settings = relay
    settings = replace(settings, subscription_digest_at="06:30")
    ics2_readers = add_subscribers(settings, 2, choices(Interest.DIGEST, systems=("ics2",)))
    (dms,) = add_subscribers(
        settings, 1, choices(Interest.DIGEST, systems=("dms-import",), lang=Lang.DA), prefix="d"
    )
    (everything,) = add_subscribers(settings, 1, choices(Interest.DIGEST), prefix="e")
    add_subscribers(settings, 1, choices(Interest.WINDOWS, Interest.REMIND_1H), prefix="n")
    clock = Clock(local("2026-06-01 06:00"))
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=clock)
        assert service.look_at_the_clock() == []  # the subscribers' digest seen for the first time
        clock.now = local("2026-06-01 06:30") - SECOND
        assert service.look_at_the_clock() == []
        clock.now = local("2026-06-01 06:30")
        (note,) = service.look_at_the_clock()
        assert note.id == "digest:subscribers:2026-06-01" and note.target == SUBSCRIBERS
        assert service.look_at_the_clock() == []  # once
        assert service.deliverer.deliver().mails == 4
        fanout = service.deliverer.fanout
        assert fanout is not None
        composed = len(fanout._composed)  # one per language and set of systems, not per mail
    assert composed == 3
    assert sorted(told(handler)) == sorted([*ics2_readers, dms, everything])
    mails = {str(m["To"]): m for m in handler.messages}
    for reader in ics2_readers:
        text, linked = text_of(mails[reader]), html_of(mails[reader])
        assert "ICS2: INC000009990001" in text and "DMS Import" not in text
        assert "1 open disruption, 1 service window in the next 7 days" in text
        assert OUTAGE in linked and ICS2 in linked and DMS not in linked
    danish, linked = text_of(mails[dms]), html_of(mails[dms])
    assert "Ingen åbne driftsforstyrrelser, 1 servicevindue de næste 7 dage" in danish
    assert "DMS Import" in danish and "ICS2" not in danish
    assert DMS in linked and ICS2 not in linked and OUTAGE not in linked
    assert mails[dms]["Subject"].startswith("Dagligt overblik")
    full = html_of(mails[everything])
    assert "1 open disruption, 2 service windows" in text_of(mails[everything])
    assert all(key in full for key in (DMS, ICS2, OUTAGE))
    for msg in mails.values():
        listed(msg)
        assert str(msg["X-Toldfeed-Id"]) == "digest:subscribers:2026-06-01"
    # a Message-ID per digest as narrowed: the two ICS2 readers got the same one
    ids = {reader: str(mails[reader]["Message-ID"]) for reader in mails}
    assert ids[ics2_readers[0]] == ids[ics2_readers[1]] and len(set(ids.values())) == 3


def test_a_bad_digest_time_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    for bad in ("7 am", "24:00", "07:60", ""):
        monkeypatch.setenv("TOLDFEED_SUBSCRIPTION_DIGEST_AT", bad)
        assert main(["poll"]) == 2
        assert "TOLDFEED_SUBSCRIPTION_DIGEST_AT" in capsys.readouterr().err


def test_two_processes_passing_over_the_clock_at_once_send_each_reminder_once(
    relay: tuple[Relay, Settings], tmp_path: Path, forker: Forker
) -> None:
    handler, settings = relay
    everywhere = add_subscribers(settings, 60, choices(Interest.REMIND_1H))
    on_ics2 = add_subscribers(
        settings,
        60,
        choices(Interest.REMIND_24H, Interest.REMIND_1H, systems=("ics2",)),
        prefix="i",
    )
    handler.delay = 0.002  # so that the two overlap
    with Runtime.open(settings) as runtime:  # the windows learnt three days ahead
        assert Service(runtime, clock=lambda: START - 72 * HOUR).look_at_the_clock() == []
    now = START - HOUR + 5 * SECOND  # the 1-hour and 24-hour reminders of both windows
    counts = race(forker, child_env(settings), now, tmp_path / "go", 2)
    assert sum(counts) == 5  # 2 windows x (24 h + 1 h) and the digest, for all subscribers
    mails = Counter((str(m["To"]), str(m["X-Toldfeed-Id"])) for m in handler.messages)
    expected = {(a, reminder(k, 3600)) for a in everywhere for k in (DMS, ICS2)}
    expected |= {(a, reminder(ICS2, lead)) for a in on_ics2 for lead in (86400, 3600)}
    assert set(mails) == expected and set(mails.values()) == {1}
