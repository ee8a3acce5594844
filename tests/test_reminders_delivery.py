"""Before, not after, end to end: the passes over the clock queue into the store's outbox once
by id and the deliverer sends to real local receivers; across restarts, SIGKILL and several
processes at once; the serving loop; notify-test; the status page. The clock is a parameter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from app import create_app
from app.cli import main
from app.config import Settings
from app.model import Incident
from app.notify.outbox import queue_notifications
from app.runtime import Runtime
from app.service import CLOCK_SECONDS, Service
from app.store import Batch, Store
from app.store.records import Delivery, WindowKnown
from tests.conftest import Upstream, polled_at, store_of
from tests.processes import Forker
from tests.receivers import WAIT, Hit, Inbox, Receiver
from tests.test_notify import SECRET, Clock, hook, pending_notes, targets_file
from tests.test_pages import text_of
from tests.test_reminders import END, GRACE, START, local, window_incident

HOUR = timedelta(hours=1)
KNOWN = START - timedelta(days=3)  # when the tests' window is first seen


def signed(hit: Hit) -> Any:
    """The event, its signature checked (sent at the tests' clock, however long ago)."""
    at = datetime.fromtimestamp(int(hit.headers["Webhook-Timestamp"]), UTC)
    body = hit.body.decode()
    assert (
        Webhook(SECRET).sign(hit.headers["Webhook-Id"], at, body)
        == (hit.headers["Webhook-Signature"])
    )
    return hit.json()


def put(settings: Settings, *incidents: Incident) -> None:
    """Store ``incidents`` as one new generation (as a poll would)."""
    with store_of(settings) as store:
        batch = Batch()
        for incident in incidents:
            Store.stage_incident(batch, incident)
        count = store.incident_count() + sum(store.incident(i.key) is None for i in incidents)
        Store.stage_generation(batch, store.generation() + 1, count)
        store.commit(batch)


@pytest.fixture
def reminded(make_settings, receiver: Receiver, tmp_path: Path) -> Settings:
    """A store holding one service window; a webhook target with reminders 1 h ahead and
    window events."""
    notify = targets_file(
        tmp_path / "n.toml", hook(receiver, extra='remind = ["1h"]\nwindow_events = true\n')
    )
    settings: Settings = make_settings(notify=str(notify))
    put(settings, window_incident())
    return settings


def look(settings: Settings, now: datetime) -> list[str]:
    """One pass over the clock at ``now`` by a new process; the events it queued."""
    with Runtime.open(settings) as runtime:
        return [n.event for n in Service(runtime, clock=lambda: now).look_at_the_clock()]


def test_a_reminder_is_queued_once_and_delivered_like_a_change(
    reminded: Settings, receiver: Receiver
) -> None:
    clock = Clock(KNOWN)
    with Runtime.open(reminded) as runtime:
        service = Service(runtime, clock=clock)
        assert service.look_at_the_clock() == []  # the window is learnt, nothing is due
        clock.now = START - HOUR - timedelta(seconds=1)
        assert service.look_at_the_clock() == []
        clock.now = START - HOUR + timedelta(seconds=1)
        (note,) = service.look_at_the_clock()
        assert service.look_at_the_clock() == []  # once
        assert service.deliverer.deliver().delivered == 1
        client = create_app(reminded, runtime=runtime, poll=False).test_client()
        health = client.get("/healthz").get_json()["notify"]["hook"]
        metrics = client.get("/metrics").get_data(as_text=True)
    assert look(reminded, clock.now) == []  # a restarted process queues it no more
    (hit,) = receiver.to("/hook")
    event = signed(hit)
    assert event["type"] == "window.reminder" and event["data"]["lead_seconds"] == 3600
    assert hit.headers["Webhook-Id"] == note.id and note.id.endswith(
        "#remind-3600@" + ("2026-06-02T16:00:00+00:00")
    )
    assert health["delivered"] == 1 and health["pending"] == 0
    assert 'toldfeed_notifications_total{outcome="delivered",target="hook"} 1.0' in metrics


def test_a_reminder_still_undelivered_at_the_start_is_given_up(
    reminded: Settings, receiver: Receiver
) -> None:
    receiver.answers["/hook"] = [Response("down", status=503) for _ in range(5)]
    clock = Clock(KNOWN)
    with Runtime.open(reminded) as runtime:
        service = Service(runtime, clock=clock)
        service.look_at_the_clock()
        clock.now = START - HOUR
        assert len(service.look_at_the_clock()) == 1
        assert service.deliverer.deliver().failed == 1
        clock.now = START  # the retry would come after the start: too late
        assert service.deliverer.deliver().given_up == 1
    (note,) = pending_notes(reminded)
    assert note.state is Delivery.GIVEN_UP and note.last_error == "too late: the window has started"
    assert len(receiver.to("/hook")) == 1


@pytest.mark.parametrize(
    ("then", "why"),
    [
        (window_incident(cancelled=True), "the window was cancelled or closed"),
        (window_incident(START + 2 * HOUR, END + 2 * HOUR), "the window was moved"),
    ],
)
def test_a_reminder_waiting_for_its_retry_is_not_sent_once_the_window_is_cancelled_or_moved(
    reminded: Settings, receiver: Receiver, then: Incident, why: str
) -> None:
    def deliver(now: datetime) -> Any:
        with Runtime.open(reminded) as runtime:
            return Service(runtime, clock=lambda: now).deliverer.deliver()

    receiver.answers["/hook"] = [Response("down", status=503)]
    assert look(reminded, KNOWN) == [] and look(reminded, START - HOUR) == ["window.reminder"]
    assert deliver(START - HOUR).failed == 1
    put(reminded, then)  # a poll learns it before the retry
    assert deliver(START - HOUR / 2).given_up == 1
    (note,) = pending_notes(reminded)
    assert note.state is Delivery.GIVEN_UP and note.last_error == f"no longer true: {why}"
    assert len(receiver.to("/hook")) == 1  # the failed attempt only


def test_started_and_not_reported_complete_then_nothing_once_closed(
    reminded: Settings, receiver: Receiver
) -> None:
    assert look(reminded, KNOWN) == []
    assert look(reminded, START) == ["window.started"]
    assert look(reminded, END + GRACE - timedelta(seconds=1)) == []
    assert look(reminded, END + GRACE) == ["window.overrun"]
    assert look(reminded, END + GRACE + HOUR) == []


def test_a_moved_window_is_reminded_at_its_new_moment_and_a_cancelled_one_not(
    reminded: Settings,
) -> None:
    assert look(reminded, KNOWN) == []
    assert look(reminded, START - HOUR) == ["window.reminder"]
    # moved two hours later, learnt at 17:30: the new start's reminder at 19:00
    put(reminded, window_incident(START + 2 * HOUR, END + 2 * HOUR))
    assert look(reminded, START - HOUR / 2) == []
    assert look(reminded, START) == []  # nothing for the old start
    assert look(reminded, START + HOUR) == ["window.reminder"]
    # then cancelled: no "started", no more
    put(reminded, window_incident(START + 2 * HOUR, END + 2 * HOUR, cancelled=True))
    assert look(reminded, START + HOUR + timedelta(minutes=1)) == []
    assert look(reminded, START + 2 * HOUR) == []
    with store_of(reminded) as store:
        assert store.windows_known() == {}  # nothing left to remember


def test_the_digest_on_the_day_the_clocks_change_and_after_missed_days(
    make_settings, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(tmp_path / "n.toml", hook(receiver, extra='digest = "07:00"\n'))
    settings = make_settings(notify=str(notify))
    put(settings, window_incident())
    assert look(settings, local("2026-03-28 06:00")) == []  # first seen: waits for 07:00
    assert look(settings, local("2026-03-28 07:00")) == ["digest"]
    # 29 March: summer time from 02:00, so 07:00 is 05:00 UTC (not 06:00)
    assert look(settings, datetime(2026, 3, 29, 4, 59, 59, tzinfo=UTC)) == []
    assert look(settings, datetime(2026, 3, 29, 5, 0, 0, tzinfo=UTC)) == ["digest"]
    assert look(settings, datetime(2026, 3, 29, 6, 0, 0, tzinfo=UTC)) == []
    # down from the 30th to the 2nd at 10:00: one late digest, the 2nd's
    assert look(settings, local("2026-04-02 10:00")) == ["digest"]
    assert look(settings, local("2026-04-02 10:01")) == []
    notes = pending_notes(settings)
    assert [n.id for n in notes] == [
        "digest:hook:2026-03-28",
        "digest:hook:2026-03-29",
        "digest:hook:2026-04-02",
    ]
    assert notes[1].digest is not None and notes[1].digest.since == local("2026-03-28 07:00")
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: local("2026-04-02 10:02"))
        assert service.deliverer.deliver().delivered == 1  # the others were too late
    (hit,) = receiver.to("/hook")
    event = signed(hit)
    assert event["type"] == "digest" and event["data"]["date"] == "2026-04-02"
    assert [w["key"] for w in event["data"]["windows"]] == []  # June is not within 7 days


RACER = """
import sys, time
from datetime import datetime
from pathlib import Path
from typing import Any
from app.config import Settings
from app.runtime import Runtime
from app.service import Service

now = datetime.fromisoformat(sys.argv[1])
go = Path(sys.argv[2])
with Runtime.open(Settings.from_env()) as runtime:
    service = Service(runtime, clock=lambda: now)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    queued = service.look_at_the_clock()
    print(len(queued), flush=True)
    if sys.argv[3] == "hang":
        time.sleep(60)  # killed here: queued and committed, not sent
    service.deliverer.deliver(wait_seconds=10)
"""


def child_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(settings.data_dir),
        "TOLDFEED_SOURCES": str(settings.sources),
        "TOLDFEED_SYSTEMS": str(settings.systems),
        "TOLDFEED_NOTIFY": str(settings.notify),
    }


def race(forker: Forker, env: dict[str, str], now: datetime, go: Path, count: int) -> list[int]:
    """``count`` processes (``RACER``) on ``env`` pass over the clock at ``now`` at once, when
    ``go`` appears, then deliver; how many notifications each queued."""
    children = [
        forker.spawn(RACER, now.isoformat(), str(go), "deliver", env=env, stdout=subprocess.PIPE)
        for _ in range(count)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        go.touch()
        counts = [int(child.stdout.readline()) for child in children if child.stdout]
        for child in children:
            assert child.wait(WAIT * 3) == 0
    finally:
        for child in children:
            child.kill()
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
    return counts


@pytest.mark.slow
def test_several_processes_at_once_queue_and_deliver_each_notification_once(
    make_settings, receiver: Receiver, tmp_path: Path, forker: Forker
) -> None:
    """``toldfeed serve`` and a cron ``toldfeed poll`` (and more) on one data directory."""
    notify = targets_file(
        tmp_path / "n.toml",
        hook(receiver, "a", 'remind = ["24h", "1h"]\nwindow_events = true\ndigest = "07:00"\n'),
        hook(receiver, "b", 'remind = ["1h"]\n'),
    )
    settings = make_settings(notify=str(notify))
    put(settings, window_incident(), window_incident(key="WO0000001590002"))
    now = START - HOUR + timedelta(seconds=5)  # both windows' 1-hour and 24-hour reminders
    assert look(settings, KNOWN) == []  # learnt; the digest target seen
    counts = race(forker, child_env(settings), now, tmp_path / "go", 3)
    # a: 2 windows x (24h + 1h), and the digest of 07:00 (first seen days before); b: 2 x 1h
    told = [(h.path, h.headers["Webhook-Id"]) for h in receiver.hits]  # ids: one per moment
    assert sum(counts) == len(told) == len(set(told)) == 7, (counts, told)
    assert sorted(h.path for h in receiver.hits) == ["/a"] * 5 + ["/b"] * 2
    assert pending_notes(settings) == []


@pytest.mark.slow
def test_sigkill_between_queueing_and_sending_sends_it_once(
    reminded: Settings, receiver: Receiver, tmp_path: Path, forker: Forker
) -> None:
    assert look(reminded, KNOWN) == []
    now = START - HOUR
    go = tmp_path / "go"
    go.touch()
    with forker.spawn(
        RACER, now.isoformat(), str(go), "hang", env=child_env(reminded), stdout=subprocess.PIPE
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            assert child.stdout.readline().strip() == "1"  # queued and committed
        finally:
            child.send_signal(signal.SIGKILL)
        assert child.wait(WAIT) == -signal.SIGKILL
    assert receiver.hits == []
    (note,) = pending_notes(reminded)
    assert note.state is Delivery.PENDING
    with Runtime.open(reminded) as runtime:
        service = Service(runtime, clock=lambda: now + timedelta(seconds=30))
        assert service.look_at_the_clock() == []  # not queued again
        assert service.deliverer.deliver().delivered == 1
    (hit,) = receiver.hits
    assert hit.headers["Webhook-Id"] == note.id


class OneTurn:
    """A stop event that ends the serving loop after one turn, keeping how long it would wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return bool(self.waits)

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return True


def test_the_serving_loop_looks_at_the_clock_every_minute_whatever_the_poll_interval(
    filled: Settings, upstream: Upstream, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(tmp_path / "n.toml", hook(receiver, extra='remind = ["2h"]\n'))
    settings = replace(filled, notify=str(notify), poll_seconds=3600)
    gateways = "WO0000001586738"  # 12:00-13:00 Danish time on 20 May 2026, in the filled store
    polled = polled_at("t3")
    clock = Clock(polled + timedelta(minutes=1))
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=clock)
        assert service.look_at_the_clock() == []  # learnt at 09:31; the 2-hour moment is 10:00
        clock.now = datetime(2026, 5, 20, 8, 0, 1, tzinfo=UTC)
        stop = OneTurn()
        service.run(stop)  # type: ignore[arg-type]
        assert stop.waits and stop.waits[0] <= CLOCK_SECONDS == 60
        assert service.deliverer.deliver(wait_seconds=WAIT).pending == 0
    (hit,) = receiver.to("/hook")
    event = signed(hit)
    assert event["type"] == "window.reminder" and event["data"]["key"] == gateways


def test_a_digest_only_target_gets_no_change_notifications(make_settings, tmp_path: Path) -> None:
    notify = targets_file(
        tmp_path / "n.toml",
        'name = "t"\nkind = "teams"\nurl = "https://t.test/"\ndigest = "07:00"\ndigest_only = true',
        'name = "u"\nkind = "teams"\nurl = "https://u.test/"\ndigest = "07:00"',
    )
    settings = make_settings(notify=str(notify))
    with Runtime.open(settings) as runtime:
        notes = queue_notifications(
            [window_incident()], {}, runtime.targets, backfill=False, now=START
        )
    assert [n.target for n in notes] == ["u"]


def test_notify_test_sends_a_sample_reminder_and_digest(
    filled: Settings,
    receiver: Receiver,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inbox, port = smtp
    notify = targets_file(
        tmp_path / "n.toml",
        hook(receiver),
        'name = "desk"\nkind = "email"\nto = ["desk@example.com"]\nlang = "da"',
    )
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(filled.data_dir))
    monkeypatch.setenv("TOLDFEED_SOURCES", str(filled.sources))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(notify))
    monkeypatch.setenv("TOLDFEED_SMTP_URL", f"smtp://127.0.0.1:{port}")
    for kind in ("reminder", "digest"):
        for name in ("hook", "desk"):
            assert main(["notify-test", name, "--kind", kind]) == 0, capsys.readouterr()
    reminder, digest = (signed(h) for h in receiver.to("/hook"))
    assert reminder["type"] == digest["type"] == "test"  # nobody acts on a sample
    assert reminder["sample"] == "window.reminder" and reminder["data"]["lead_seconds"] == 3600
    assert digest["sample"] == "digest" and len(digest["data"]["windows"]) == 1
    remind_mail, digest_mail = inbox.messages
    assert remind_mail["Subject"].startswith("TEST: Servicevindue om 1 time: DMS Import")
    plain = remind_mail.get_body(("plain",))
    assert plain is not None and "Dette er en test af toldfeeds beskeder" in plain.get_content()
    assert digest_mail["Subject"].startswith("TEST: Dagligt overblik, ")
    html = digest_mail.get_body(("html",))
    assert html is not None and "Servicevinduer, de næste 7 dage" in html.get_content()


def test_the_status_page_says_when_a_window_started_and_its_end_was_not_reported(
    filled: Settings, upstream: Upstream
) -> None:
    texts = {}
    for name, at in (("in", "2026-05-20 12:30"), ("past", "2026-05-20 13:40")):
        with Runtime.open(filled) as runtime:
            Service(runtime, clock=lambda at=at: local(at)).poll_once(force=True)
        app = create_app(filled, poll=False)
        client = app.test_client()
        texts[name] = (
            text_of(client.get("/").get_data(as_text=True)),
            text_of(client.get("/da/").get_data(as_text=True)),
        )
        app.extensions["toldfeed"].runtime.close()
    assert "12:00-13:00 Danish time started 12:00" in texts["in"][0]
    assert "12:00-13:00 dansk tid startet kl. 12:00" in texts["in"][1]
    assert (
        "12:00-13:00 Danish time planned end 13:00 passed, completion not reported"
        in (texts["past"][0])
    )
    assert "planlagt slut kl. 13:00 passeret, afslutning ikke meldt" in texts["past"][1]


@pytest.mark.slow
def test_toldfeed_poll_looks_at_the_clock_after_every_poll(
    filled: Settings,
    upstream: Upstream,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As cron runs it, on the real clock: a window 30 minutes ahead that toldfeed knew two
    hours ago is reminded 1 hour ahead, by the poll's own run, and delivered."""
    notify = targets_file(tmp_path / "n.toml", hook(receiver, extra='remind = ["1h"]\n'))
    now = datetime.now(UTC).replace(microsecond=0)
    start = now + HOUR / 2
    incident = window_incident(start, start + 2 * HOUR)
    put(filled, incident)
    known = WindowKnown(start, now - 2 * HOUR, start + 2 * HOUR, now - 2 * HOUR)
    with store_of(filled) as store:
        batch = Batch()
        Store.stage_windows_known(batch, store.generation(), {incident.key: known}, [])
        store.commit(batch)
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(filled.data_dir))
    monkeypatch.setenv("TOLDFEED_SOURCES", str(filled.sources))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(notify))
    assert main(["poll"]) == 0
    out = capsys.readouterr().out
    assert "due now: 1 window.reminder" in out
    assert "notifications: 1 delivered, 0 failed, 0 given up, 0 pending" in out
    (hit,) = receiver.to("/hook")
    assert signed(hit)["type"] == "window.reminder"
    assert main(["poll"]) == 0  # the next run: nothing more
    assert "due now" not in capsys.readouterr().out


class StuckPoll(Service):
    """A service whose poll waits (as for an upstream that answers slowly) until released."""

    def __init__(self, runtime: Runtime, clock: Clock, release: threading.Event) -> None:
        super().__init__(runtime, clock=clock)
        self.release = release

    def poll_once(self, force: bool = False) -> None:
        self.release.wait(WAIT)
        return None


def test_a_poll_waiting_for_a_slow_upstream_delays_no_reminder(
    reminded: Settings, receiver: Receiver
) -> None:
    clock = Clock(KNOWN)
    release = threading.Event()
    with Runtime.open(reminded) as runtime:
        service = StuckPoll(runtime, clock, release)
        assert service.look_at_the_clock() == []  # what the poller saw last
        clock.now = START - HOUR
        stop = service.start()
        try:
            assert receiver.arrived.wait(WAIT), "nothing sent while the poll was stuck"
            assert not release.is_set()
        finally:
            release.set()
            stop.set()
    (hit,) = receiver.to("/hook")
    assert signed(hit)["type"] == "window.reminder"


def test_between_polls_nothing_is_queued_from_what_the_store_no_longer_holds(
    reminded: Settings,
) -> None:
    clock = Clock(KNOWN)
    with Runtime.open(reminded) as runtime:
        service = Service(runtime, clock=clock)
        service.look_at_the_clock()
        # another process's poll moves the window by two hours
        put(reminded, window_incident(START + 2 * HOUR, END + 2 * HOUR))
        clock.now = START - HOUR
        assert service.look_between_polls() == []  # the old start's reminder: not from here
        assert service.look_at_the_clock() == []  # the poller's look: the new start, not due
        clock.now = START + HOUR
        assert [n.event for n in service.look_between_polls()] == ["window.reminder"]
