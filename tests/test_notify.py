"""Push notifications against real local receivers: an HTTP receiver on 127.0.0.1
(pytest-httpserver) answering 200, 429 with Retry-After, 500 or hanging, and an SMTP server
(aiosmtpd). Retries and give-up run on a clock the test moves, never on sleeps.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from app import create_app
from app.cli import main
from app.config import Settings
from app.errors import ConfigError
from app.notify import webhook
from app.notify.outbox import queue_notifications
from app.notify.targets import ChannelKind, load_targets
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store
from app.store.records import Delivery
from tests.conftest import ROOT, Upstream, polled_at, settings_for
from tests.processes import Forker
from tests.receivers import WAIT, Inbox, Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's test secret
T0 = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
KEY = "WO0000001586573"  # in the filled store: window, fallback and update lines known


# --- helpers ----------------------------------------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def targets_file(path: Path, *blocks: str) -> Path:
    path.write_text("\n".join(f"[[target]]\n{b.strip()}\n" for b in blocks), encoding="utf-8")
    return path


def hook(receiver: Receiver, name: str = "hook", extra: str = "") -> str:
    return f'name = "{name}"\nkind = "webhook"\nurl = "{receiver.url("/" + name)}"\n' + (
        f'secret = "{SECRET}"\n{extra}'
    )


def queue(settings: Settings, keys: list[str], now: datetime | None = None) -> None:
    """Queue a notification of each stored incident in ``keys`` for every matching target
    (queued ``now``, by default the real time: deliverers on the real clock give up after a day).
    """
    now = now or datetime.now(UTC)
    with Runtime.open(settings) as runtime:
        store = runtime.store
        incidents = [i for k in keys if (i := store.incident(k)) is not None]
        notes = queue_notifications(incidents, {}, runtime.targets, backfill=False, now=now)
        batch = Batch()
        Store.stage_notifications(batch, notes)
        store.commit(batch)


def pending_notes(settings: Settings) -> list[Any]:
    store = Store(settings.data_dir)
    try:
        return [n for k in range(1, store.outbox_seq() + 1) if (n := store.notification(k))]
    finally:
        store.close()


# --- the targets file -------------------------------------------------------------------------


def test_the_sample_targets_file_loads(make_settings) -> None:
    settings = make_settings(
        notify=str(ROOT / "feeds" / "notify.example.toml"),
        smtp_url="smtp://mailer:s3cret@mail.example.com:587",
    )
    with Runtime.open(settings) as runtime:
        targets = {t.name: t for t in runtime.targets}
    assert list(dict.fromkeys(t.kind for t in targets.values())) == list(ChannelKind)
    desk = targets["customs-desk"]
    assert desk.lang == "da" and desk.to == ("customs-desk@example.com",)
    assert desk.smtp is not None and (desk.smtp.host, desk.smtp.port) == ("mail.example.com", 587)
    assert desk.smtp.user == "mailer" and desk.smtp.tls == "starttls"
    assert targets["brokers-slack"].systems == {"dms-import", "dms-export"}
    assert targets["ops-teams"].statuses == {"current"}


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ('name = "ops"\nkind = "pager"\nurl = "https://x"', "target 'ops': kind: must be"),
        ('name = "ops"\nkind = "teams"', "target 'ops': url: required"),
        ('name = "ops"\nkind = "slack"\nurl = "ftp://x"', "target 'ops': url: required"),
        ('name = "ops"\nkind = "webhook"\nurl = "https://x"', "target 'ops': secret: required"),
        (
            'name = "ops"\nkind = "webhook"\nurl = "https://x"\nsecret = "hunter2"',
            "target 'ops': secret",
        ),
        ('name = "ops"\nkind = "teams"\nurl = "https://"', "target 'ops': url: required"),
        ('name = "ops"\nkind = "slack"\nurl = "https://[::1"', "target 'ops': url: required"),
        (
            'name = "ops"\nkind = "webhook"\nurl = "https://x"\nsecret = "whsec_YQ=="',
            "target 'ops': secret: required: a Standard Webhooks secret, whsec_ and the base64 "
            "of 24 to 64",
        ),
        ('name = "ops"\nkind = "teams"\nurl = "https://x"\nlang = "de"', "target 'ops': lang"),
        (
            'name = "ops"\nkind = "teams"\nurl = "https://x"\nsystems = ["dms-imprt"]',
            "target 'ops': systems: unknown system 'dms-imprt'",
        ),
        (
            'name = "ops"\nkind = "teams"\nurl = "https://x"\nstatuses = ["open"]',
            "target 'ops': statuses: unknown status 'open'",
        ),
        ('name = "ops"\nkind = "teams"\nurl = "https://x"\nsytems = []', "target 'ops': sytems"),
        ('name = "desk"\nkind = "email"', "target 'desk': to: required"),
        ('name = "desk"\nkind = "email"\nto = ["a@b.dk"]', "target 'desk': smtp_url: no SMTP"),
        (
            'name = "desk"\nkind = "email"\nto = ["a@b.dk"]\nsmtp_url = "http://mail"',
            "target 'desk': smtp_url: must look like",
        ),
        ('kind = "teams"\nurl = "https://x"', "target #1: name: required"),
    ],
)
def test_a_bad_target_is_a_configuration_error_naming_target_and_field(
    make_settings, tmp_path: Path, block: str, expected: str
) -> None:
    path = targets_file(tmp_path / "notify.toml", block)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_targets(make_settings(notify=str(path)), ["dms-import"])


def test_a_misspelt_table_is_an_error_not_a_file_without_targets(
    make_settings, tmp_path: Path
) -> None:
    path = tmp_path / "notify.toml"
    path.write_text('[[targets]]\nname = "ops"\nkind = "teams"\nurl = "https://x"\n')
    with pytest.raises(ConfigError, match=re.escape("targets: unknown table or key")):
        load_targets(make_settings(notify=str(path)), ["dms-import"])


def test_bad_targets_file_makes_the_command_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = targets_file(tmp_path / "n.toml", 'name = "a"\nkind = "teams"\nurl = "https://x"')
    path.write_text(path.read_text() * 2)  # the same name twice
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(path))
    assert main(["poll"]) == 2
    assert "target 'a': name: used twice" in capsys.readouterr().err


# --- what a poll queues -----------------------------------------------------------------------


@pytest.mark.slow
def test_poll_queues_one_notification_per_real_change_and_target_and_delivers_it(
    upstream: Upstream,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notify = targets_file(
        tmp_path / "notify.toml",
        hook(receiver, "all"),
        hook(receiver, "closed", 'statuses = ["closed"]'),
        hook(receiver, "tfe", 'systems = ["tfe"]'),
    )
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(notify))
    monkeypatch.setenv("TOLDFEED_BACKOFF_SECONDS", "0.01")
    settings = Settings.from_env()

    def incidents() -> dict[str, Any]:
        store = Store(settings.data_dir)
        try:
            return {i.key: i for i in store.iter_incidents()}
        finally:
            store.close()

    upstream.load("t1")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t1", tmp_path / "s.toml")))
    assert main(["poll"]) == 0
    assert "notifications: 0 delivered" in capsys.readouterr().out
    assert pending_notes(settings) == [] and receiver.hits == []  # backfill: no news

    before = incidents()
    upstream.load("t2")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t2", tmp_path / "s.toml")))
    assert main(["poll"]) == 0
    out = capsys.readouterr().out
    after = incidents()
    changed = [
        i for k, i in after.items() if k not in before or before[k].updated_at != i.updated_at
    ]
    with Runtime.open(settings) as runtime:
        targets = runtime.targets
    expected = {
        (t.name, f"tag:toldfeed,2026:incident/{i.key.replace(':', '-')}#{i.updated_at.isoformat()}")
        for t in targets
        for i in changed
        if t.wants(i)
    }
    per_target = {t.name: sum(1 for n, _ in expected if n == t.name) for t in targets}
    assert per_target["all"] == len(changed) >= 3  # the new window, its update, two closings
    assert 0 < per_target["closed"] < per_target["all"] and per_target["tfe"] == 1
    got = {(h.path.lstrip("/"), h.headers["Webhook-Id"]) for h in receiver.hits}
    assert got == expected and len(receiver.hits) == len(expected)  # each exactly once
    assert f"notifications: {len(expected)} delivered, 0 failed" in out
    events = {h.json()["data"]["key"]: h.json()["type"] for h in receiver.to("/all")}
    assert events["WO0000001589016"] == "incident.created"
    assert events["WO0000001586573"] == "incident.updated"

    assert main(["poll"]) == 0  # nothing changed upstream: nothing is queued or sent
    assert "notifications: 0 delivered, 0 failed, 0 given up, 0 pending" in capsys.readouterr().out
    assert len(receiver.hits) == len(expected)


def test_what_the_first_poll_had_no_time_to_read_is_old_news_not_pushed(
    upstream: Upstream, receiver: Receiver, tmp_path: Path
) -> None:
    """The first poll reads 3 detail pages of many; the next ones read the rest of what was
    there before the store was filled: published, never pushed."""
    upstream.load("t1")
    settings = settings_for(
        tmp_path,
        sources=upstream.sources_toml("t1", tmp_path / "s.toml"),
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        max_details_per_poll=3,
        detail_refresh_seconds=0,
    )
    generations = []
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: polled_at("t1"))
        for _ in range(6):
            assert service.poll_once(force=True) is not None
            generations.append(runtime.store.generation())
        assert generations[-1] > generations[0]  # later polls did learn more
        assert runtime.store.outbox_seq() == 0 and service.deliverer.deliver().delivered == 0
    assert receiver.hits == []


def test_a_poll_that_changes_nothing_sends_nothing(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    settings = replace(filled, notify=str(targets_file(tmp_path / "n.toml", hook(receiver))))
    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        report = service.poll_once(force=True)
        assert report is not None and not report.new_keys and not report.changed_keys
        delivered = service.deliverer.deliver()
    assert (delivered.delivered, delivered.failed, delivered.pending) == (0, 0, 0)
    assert receiver.hits == []


def test_an_update_line_added_without_a_new_last_updated_time_is_news(
    filled: Settings, upstream: Upstream, receiver: Receiver, tmp_path: Path
) -> None:
    """The agency adds an update line to a message and leaves its "Last updated" as it was, on
    every page that shows the message's HTML (the RSS item, which has no last-updated time to
    tell, unchanged): `updated` moves to when the poll read it, and the change is pushed once."""
    settings = replace(
        filled,
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        detail_refresh_seconds=0,
    )
    key, line = "INC000001822307", "Update 13:05: Transit declarations are processed normally."
    edited = 0
    for path, body in list(upstream.documents.items()):
        if b"<p>INC000001822307</p>" in body:  # each page that shows the message's text
            marked = f"<p>{line}</p><p>INC000001822307</p>".encode()
            upstream.documents[path] = body.replace(b"<p>INC000001822307</p>", marked)
            edited += 1
    assert edited >= 2  # the list rows and the detail page
    seen = polled_at("t3") + timedelta(hours=2)
    with Runtime.open(settings) as runtime:
        before = runtime.store.incident(key)
        service = Service(runtime, clock=lambda: seen)
        report = service.poll_once(force=True)
        assert report is not None and key in report.changed_keys
        after = runtime.store.incident(key)
        assert before is not None and after is not None
        assert after.upstream_updated_at == before.upstream_updated_at  # no new stamp upstream
        assert before.updated_at < after.updated_at <= seen
        assert any(u.text.startswith("Update 13:05") for u in after.updates)
        assert service.deliverer.deliver().delivered == 1
        assert service.poll_once(force=True) is not None  # read again: nothing new
        assert service.deliverer.deliver().delivered == 0
    (hit,) = receiver.hits
    assert hit.json()["type"] == "incident.updated" and hit.json()["data"]["key"] == key


# --- channels ---------------------------------------------------------------------------------


def test_the_message_shows_the_newest_update_line() -> None:
    from app.catalogue import load_catalogue
    from app.model import Lang, Update
    from app.notify.message import compose
    from app.notify.samples import sample_notification

    note = sample_notification("t", Lang.EN, T0, "http://toldfeed.test/")
    updates = (  # newest first, as the merge orders them
        Update("Update 11:30 - fixed", Lang.EN, at=T0 + timedelta(hours=1, minutes=30)),
        Update("Update 10:45 - still slow", Lang.EN, at=T0 + timedelta(minutes=45)),
        Update("Update 10:00 - first look", Lang.EN, at=T0),
    )
    note = replace(note, incident=replace(note.incident, updates=updates))
    catalogue = load_catalogue(ROOT / "feeds" / "systems.toml")
    message = compose(note, catalogue, Lang.EN, "http://toldfeed.test/incidents/x")
    assert message.latest.endswith("Update 11:30 - fixed")
    assert "Update 11:30 - fixed" in message.text and "first look" not in message.text
    # read apart from any page, a chat card or a mail says the zone of every time it gives
    assert message.latest == "20 May 2026 13:30 Danish time: Update 11:30 - fixed"
    assert all("Danish time" in value for label, value in message.facts if label == "Updated")


def test_each_sample_is_a_new_thread_and_links_to_the_status_page() -> None:
    from app.model import Lang
    from app.notify.samples import sample_notification

    a = sample_notification("t", Lang.EN, T0, "http://toldfeed.test/")
    b = sample_notification("t", Lang.EN, T0 + timedelta(minutes=1), "http://toldfeed.test/")
    assert a.incident.key != b.incident.key and a.id != b.id


def test_the_signature_matches_the_standard_webhooks_test_vector() -> None:
    at = datetime.fromtimestamp(1614265330, UTC)
    headers = webhook.signed(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", at, '{"test": 2432232314}')
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_webhook_teams_and_slack_say_what_changed(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(
        tmp_path / "n.toml",
        hook(receiver),
        f'name = "teams"\nkind = "teams"\nurl = "{receiver.url("/teams")}"',
        f'name = "slack"\nkind = "slack"\nurl = "{receiver.url("/slack")}"\nlang = "da"',
    )
    settings = replace(filled, notify=str(notify))
    queue(settings, [KEY])
    with Runtime.open(settings) as runtime:
        report = Service(runtime).deliverer.deliver()
        incident = runtime.store.incident(KEY)
    assert report.delivered == 3 and report.pending == 0
    assert incident is not None and incident.window is not None and incident.fallback is not None
    note_id = f"tag:toldfeed,2026:incident/{KEY}#{incident.updated_at.isoformat()}"

    (signed,) = receiver.to("/hook")
    # what a receiver does: verify with the shared secret, then trust the body
    event = Webhook(SECRET).verify(signed.body, signed.headers)
    assert signed.headers["Webhook-Id"] == note_id
    assert event["type"] == "incident.created" and event["data"]["key"] == KEY
    assert event["data"]["window"]["start"] == incident.window.start_at.isoformat()
    assert event["timestamp"] == incident.updated_at.isoformat()

    (teams,) = receiver.to("/teams")
    attachment = teams.json()["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    text = json.dumps(card, ensure_ascii=False)
    assert card["type"] == "AdaptiveCard" and incident.title_in("en") in text
    assert "Closed" in text  # its state
    assert (
        "Service window:" in text
        and "Fallback procedure: restricted, only in the cases the message names" in text
    )
    assert "Manifest" in text and "Latest" in text
    # the button leads to the incident's page on toldfeed (timeline, every message, links)
    assert card["actions"][0]["url"] == f"http://feeds.example.test/incidents/{incident.key}"

    (slack,) = receiver.to("/slack")
    body = slack.json()
    assert "Afsluttet" in body["text"]  # Danish, as the target asks
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and "actions" in kinds
    assert "Nødprocedure: begrænset, kun i de tilfælde meddelelsen nævner" in json.dumps(
        body, ensure_ascii=False
    )


PHISH = "[Verify account](http://evil.example/phish)"
_SPECIAL = set("\\`*_[]()<>")
_BLOCK_START = re.compile(r"[ \t]*(?:[#>+\-=*]|\d+[.)])")


def _shows_as_text(markdown: str) -> bool:
    """True when ``markdown`` holds no markup: every character that could start some is
    backslash-escaped (inline anywhere, block markers at a line's start)."""
    i = 0
    while i < len(markdown):
        if markdown[i] == "\\":
            i += 2  # an escape and what it escapes
            continue
        if markdown[i] in _SPECIAL:
            return False
        i += 1
    return not any(_BLOCK_START.match(line) for line in markdown.split("\n"))


def _unescape(markdown: str) -> str:
    """What a CommonMark renderer shows: a backslash before ASCII punctuation is dropped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.mark.parametrize(
    ("text", "card"),
    [
        (PHISH, r"\[Verify account\]\(http://evil.example/phish\)"),
        ("![x](http://evil.example/a.png)", r"!\[x\]\(http://evil.example/a.png\)"),
        ("<http://evil.example>", r"\<http://evil.example\>"),
        ("**bold** _it_ `code` a\\b", r"\*\*bold\*\* \_it\_ \`code\` a\\b"),
        ("# Heading", r"\# Heading"),
        ("> quoted", r"\> quoted"),
        ("- item\n+ item\n  1. item\n2) item", "\\- item\n\\+ item\n  1\\. item\n2\\) item"),
        ("---", r"\---"),
        ("-", r"\-"),
        # what the agency writes reads as it did: no backslash where none is needed
        ("Update 13:05 - DMS Import works again.", "Update 13:05 - DMS Import works again."),
        (
            "Service window: 18:00-23:00. Fallback allowed!",
            "Service window: 18:00-23:00. Fallback allowed!",
        ),
        ("INC000001822307", "INC000001822307"),
        ("Nødprocedure #2 må anvendes", "Nødprocedure #2 må anvendes"),
    ],
)
def test_teams_escapes_what_markdown_would_read_as_markup(text: str, card: str) -> None:
    from app.notify.teams import escape

    assert escape(text) == card
    assert _shows_as_text(card) and _unescape(card) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]()*_`<>\\#+-=.!|~&:/ \n\t019aøZ"))))
def test_teams_escape_shows_any_text_as_itself(text: str) -> None:
    from app.notify.teams import escape

    card = escape(text)
    assert _shows_as_text(card), card
    assert _unescape(card) == text  # nothing lost, nothing added


def test_upstream_text_on_a_teams_card_is_text_never_a_link() -> None:
    """A title and an update line carrying a Markdown link: the card's headline, facts and
    'Latest' line show it as text (Slack's mrkdwn was already safe: no [..](..) links)."""
    from app.catalogue import load_catalogue
    from app.model import Lang, Update
    from app.notify import teams
    from app.notify.message import compose
    from app.notify.samples import sample_notification

    note = sample_notification("t", Lang.EN, T0, "http://toldfeed.test/")
    hostile = replace(
        note.incident,
        title={"en": f"{PHISH} now"},
        updates=(Update(f"1. {PHISH} or *lose access*", Lang.EN, at=T0),),
        refs=("INC000000000001",),
        unknown_systems=("[System](http://evil.example/s)",),
    )
    catalogue = load_catalogue(ROOT / "feeds" / "systems.toml")
    message = compose(replace(note, incident=hostile), catalogue, Lang.EN, "http://t.test/i/x")
    card = teams.payload(message)["attachments"][0]["content"]
    texts = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    facts = [f for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]]
    shown = texts + [f["value"] for f in facts] + [f["title"] for f in facts]
    everything = json.dumps(card)
    assert "](" not in everything.replace(r"\\](", "")  # no link syntax anywhere on the card
    assert texts[0] == r"TEST: \[Verify account\]\(http://evil.example/phish\) now"
    latest = texts[-1]
    assert latest.startswith("**Latest:** ") and latest.endswith(
        r": 1. \[Verify account\]\(http://evil.example/phish\) or \*lose access\*"
    )
    assert all(_shows_as_text(t) for t in shown if not t.startswith("**Latest:**"))
    assert _shows_as_text(latest.removeprefix("**Latest:** "))
    systems = next(f["value"] for f in facts if f["title"] == "Systems")
    assert systems.endswith(r"“\[System\]\(http://evil.example/s\)”")  # an upstream name
    assert [a["url"] for a in card["actions"]] == ["http://t.test/i/x"]  # toldfeed's own link


def test_slack_gets_at_most_one_message_a_second(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(
        tmp_path / "n.toml", f'name = "s"\nkind = "slack"\nurl = "{receiver.url("/s")}"'
    )
    settings = replace(filled, notify=str(notify))
    queue(settings, [KEY, "WO0000001589016"])
    with Runtime.open(settings) as runtime:
        assert Service(runtime).deliverer.deliver().delivered == 2
    first, second = receiver.to("/s")
    assert second.at - first.at >= 0.95


def test_email_is_threaded_per_incident_in_the_targets_language(
    filled: Settings, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    notify = targets_file(
        tmp_path / "n.toml",
        'name = "desk"\nkind = "email"\nto = ["desk@example.com"]\nlang = "da"',
    )
    settings = replace(
        filled,
        notify=str(notify),
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="toldfeed@feeds.example.test",
    )
    with Runtime.open(settings) as runtime:
        store = runtime.store
        incident = store.incident(KEY)
        assert incident is not None
        later = replace(incident, updated_at=incident.updated_at + timedelta(hours=1))
        now = datetime.now(UTC)
        notes = queue_notifications([incident], {}, runtime.targets, backfill=False, now=now)
        notes += queue_notifications(
            [later], {KEY: incident}, runtime.targets, backfill=False, now=now
        )
        batch = Batch()
        Store.stage_notifications(batch, notes)
        store.commit(batch)
        assert Service(runtime).deliverer.deliver().delivered == 2
    first, second = inbox.messages
    assert first["Message-ID"] == f"<incident.{KEY}@feeds.example.test>"
    assert "In-Reply-To" not in first
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]
    assert second["Message-ID"] != first["Message-ID"]
    assert second["Subject"] == f"Re: {first['Subject']}" and second["Content-Language"] == "da"
    assert second["X-Toldfeed-Id"].endswith("#" + later.updated_at.isoformat())
    # as sent: the id on one line, as written, for a receiver that drops duplicates by it
    assert f"X-Toldfeed-Id: {second['X-Toldfeed-Id']}" in inbox.raw[1].decode().splitlines()
    plain = second.get_body(("plain",))
    html = second.get_body(("html",))
    assert plain is not None and html is not None
    assert "Opdateret" in plain.get_content() and "Systemer" in plain.get_content()
    assert "<table>" in html.get_content() and escape(incident.link_in("da")) in html.get_content()
    assert f"http://feeds.example.test/da/incidents/{incident.key}" in html.get_content()
    # Danish letters and all, as sent: 7-bit clean (no relay has to take 8BITMIME)
    assert any(ord(c) > 127 for c in plain.get_content())
    assert all(raw.isascii() for raw in inbox.raw)
    assert {part["Content-Transfer-Encoding"] for part in (plain, html)} == {"quoted-printable"}


def test_every_mail_is_7_bit_clean_however_short_its_danish_lines() -> None:
    """The email package writes a part whose lines are all short as 8bit, which a relay
    without 8BITMIME (RFC 6152) may refuse or mangle: every text part is quoted-printable."""
    from app.model import Lang
    from app.notify.mail import build
    from app.notify.message import Message
    from app.notify.samples import sample_notification
    from app.notify.targets import Target

    target = Target("desk", ChannelKind.EMAIL, to=("desk@example.com",), sender="t@example.test")
    short = Message(
        id="x",
        event="incident.created",
        lang=Lang.DA,
        key="INC1",
        headline="Forstyrrelse i ÆØÅ",
        title="Forstyrrelse",
        state="Åben",
        systems="EMCS",
        latest="Kl. 9: løst",
        window="",
        fallback="",
        link="https://example.test/i",
        labels={"latest": "Seneste", "related": "Se mere"},
        summary="Kører på nødprocedure",
    )
    note = sample_notification("desk", Lang.DA, T0, "https://example.test/")
    mail = build(target, note, short, T0)
    raw = mail.as_bytes()
    assert raw.isascii() and "nødprocedure" in mail.get_body(("plain",)).get_content()
    parts = [p for p in mail.walk() if not p.is_multipart()]
    assert {p["Content-Transfer-Encoding"] for p in parts} == {"quoted-printable"}


def test_a_body_that_spells_the_boundary_still_parses_into_its_two_parts() -> None:
    """Every mail has one boundary, chosen without searching the parts: it must be one that no
    quoted-printable part can hold, whatever the words say."""
    import email

    from app.model import Lang
    from app.notify.mail import MAIL_POLICY, add_bodies

    sly = "\n".join(f"--{b}\n{b}--" for b in ("=_toldfeed-alternative", "toldfeed"))
    built = email.message.EmailMessage(policy=MAIL_POLICY)
    built["Subject"] = "x"
    add_bodies(built, f"Kl. 9:\n{sly}\nslut", f"<p>\n{sly}</p>", Lang.DA)
    assert built.get_boundary() == "=_toldfeed-alternative"
    read = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    plain, html = (p.get_content() for p in read.iter_parts())
    assert plain == f"Kl. 9:\n{sly}\nslut\n" and html == f"<p>\n{sly}</p>\n"
    assert read["Content-Language"] == "da"


# --- retries, give-up, hangs, kills -----------------------------------------------------------


def test_429_retry_after_is_honoured_and_every_attempt_has_the_same_id(
    filled: Settings, receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(filled, notify=str(targets_file(tmp_path / "n.toml", hook(receiver))))
    queue(settings, [KEY], T0)
    receiver.answers["/hook"] = [Response("slow down", status=429, headers={"Retry-After": "120"})]
    clock = Clock(T0)
    caplog.set_level(logging.INFO, logger="toldfeed.notify")
    with Runtime.open(settings) as runtime:
        deliverer = Service(runtime, clock=clock).deliverer
        assert deliverer.deliver().failed == 1
        (note,) = pending_notes(settings)
        assert note.next_attempt_at == T0 + timedelta(seconds=120) and note.attempts == 1
        clock.advance(60)
        assert deliverer.deliver().pending == 1 and len(receiver.hits) == 1  # not yet
        clock.advance(61)
        assert deliverer.deliver().delivered == 1
    assert [h.headers["Webhook-Id"] for h in receiver.hits] == [note.id, note.id]
    assert pending_notes(settings) == []
    outcomes = [r.getMessage() for r in caplog.records if r.name == "toldfeed.notify"]
    assert any(m.startswith("notification failed target=hook") and "429" in m for m in outcomes)
    assert any(m.startswith("notification delivered target=hook") for m in outcomes)


def test_a_failing_target_is_retried_with_backoff_then_given_up_with_the_reason_kept(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    settings = replace(
        filled,
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        notify_backoff_seconds=30,
        notify_give_up_seconds=100,
    )
    queue(settings, [KEY], T0)
    receiver.answers["/hook"] = [Response("boom", status=500) for _ in range(10)]
    clock = Clock(T0)
    with Runtime.open(settings) as runtime:
        deliverer = Service(runtime, clock=clock).deliverer
        waits = []
        for _ in range(4):
            deliverer.deliver()
            notes = pending_notes(settings)
            if notes[0].state is Delivery.GIVEN_UP:
                break
            waits.append((notes[0].next_attempt_at - clock.now).total_seconds())
            clock.now = notes[0].next_attempt_at + timedelta(seconds=1)  # a pass comes late
        client = create_app(settings, runtime=runtime, poll=False).test_client()
        health = client.get("/healthz").get_json()["notify"]["hook"]
        metrics = client.get("/metrics").get_data(as_text=True)
    assert waits == [30, 60, 8]  # doubled, then cut to the give-up time, whose retry is made
    (given_up,) = pending_notes(settings)
    assert given_up.state is Delivery.GIVEN_UP and given_up.attempts == 4
    assert given_up.last_error == "HTTP 500 INTERNAL SERVER ERROR: boom"
    assert len({h.headers["Webhook-Id"] for h in receiver.hits}) == 1 and len(receiver.hits) == 4
    assert health["pending"] == 0 and health["given_up"] == 1 and health["failed"] == 4
    assert health["last_error"] == given_up.last_error and health["kind"] == "webhook"
    assert 'toldfeed_notifications_total{outcome="given_up",target="hook"} 1.0' in metrics
    assert 'toldfeed_notifications_pending{target="hook"} 0.0' in metrics


def test_one_given_up_behind_a_failing_one_keeps_the_target_s_real_error(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    settings = replace(
        filled,
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        notify_backoff_seconds=30,
        notify_give_up_seconds=100,
    )
    queue(settings, [KEY, "WO0000001589016"], T0)
    receiver.answers["/hook"] = [Response("boom", status=500) for _ in range(10)]
    clock = Clock(T0)
    with Runtime.open(settings) as runtime:
        deliverer = Service(runtime, clock=clock).deliverer
        for _ in range(6):
            deliverer.deliver()
            clock.advance(60)
        client = create_app(settings, runtime=runtime, poll=False).test_client()
        health = client.get("/healthz").get_json()["notify"]["hook"]
    first, second = pending_notes(settings)
    assert first.state is second.state is Delivery.GIVEN_UP
    assert first.last_error == "HTTP 500 INTERNAL SERVER ERROR: boom"
    assert second.attempts == 0 and second.last_error == "never attempted"
    assert health["given_up"] == 2 and health["last_error"] == first.last_error


@pytest.mark.slow
def test_an_answer_that_trickles_in_is_cut_short_at_the_timeout(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(20):
            yield b"."
            time.sleep(0.9)  # each wait under the timeout; the whole answer far over it

    settings = replace(
        filled,
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        notify_timeout_seconds=1.0,
    )
    queue(settings, [KEY])
    receiver.answers["/hook"] = [Response(trickle(), status=200)]
    started = time.monotonic()
    with Runtime.open(settings) as runtime:
        report = Service(runtime).deliverer.deliver()
    assert time.monotonic() - started < 1.6  # ends at the 1 s timeout, not a read later
    assert report.delivered == 1  # the status said so; the rest of the body does not matter


def test_slack_s_pace_holds_across_processes(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(
        tmp_path / "n.toml", f'name = "s"\nkind = "slack"\nurl = "{receiver.url("/s")}"'
    )
    settings = replace(filled, notify=str(notify))
    queue(settings, [KEY])
    with Runtime.open(settings) as runtime:
        assert Service(runtime).deliverer.deliver().delivered == 1
    queue(settings, ["WO0000001589016"])
    with Runtime.open(settings) as runtime:  # another process: it knows only the store
        assert Service(runtime).deliverer.deliver().delivered == 1
    first, second = receiver.to("/s")
    assert second.at - first.at >= 0.95


def test_a_hanging_target_times_out_and_does_not_hold_up_the_others(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    notify = targets_file(tmp_path / "n.toml", hook(receiver, "dead"), hook(receiver, "live"))
    settings = replace(filled, notify=str(notify), notify_timeout_seconds=0.5)
    queue(settings, [KEY, "WO0000001589016"])
    receiver.answers["/dead"] = [None]
    started = time.monotonic()
    with Runtime.open(settings) as runtime:
        report = Service(runtime).deliverer.deliver()
    assert time.monotonic() - started < WAIT / 2  # the dead one would answer after WAIT
    assert (report.delivered, report.failed, report.pending) == (2, 1, 2)
    assert len(receiver.to("/dead")) == 1  # its second waits behind the first, for later
    (dead, _) = [n for n in pending_notes(settings) if n.target == "dead"]
    assert dead.last_error == "timed out"


def test_the_serving_loop_delivers_and_a_hung_target_never_delays_a_poll(
    filled: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    settings = replace(
        filled,
        notify=str(targets_file(tmp_path / "n.toml", hook(receiver))),
        notify_timeout_seconds=WAIT,
    )
    queue(settings, [KEY])
    receiver.answers["/hook"] = [None]
    with Runtime.open(settings) as runtime:
        # within the interval of the filled store's last poll: the poller thread only looks
        service = Service(runtime, clock=lambda: polled_at("t3") + timedelta(minutes=1))
        stop = service.start()
        try:
            assert receiver.arrived.wait(WAIT)  # the loop is sending, and the target hangs
            started = time.monotonic()
            report = None
            while report is None and time.monotonic() - started < WAIT:
                report = service.poll_once(force=True)  # None while the poller thread looks
            # the target answers only after WAIT: a poll that waited for it would take that long
            assert report is not None and time.monotonic() - started < WAIT - 2
            receiver.release.set()
            deadline = time.monotonic() + WAIT
            while pending_notes(settings) and time.monotonic() < deadline:
                service.deliverer.wake()
                time.sleep(0.05)
        finally:
            stop.set()
    assert pending_notes(settings) == []


KILLED = """
import sys
from app.config import Settings
from app.runtime import Runtime
from app.service import Service

with Runtime.open(Settings.from_env()) as runtime:
    Service(runtime).deliverer.deliver()
sys.exit(3)  # not reached: the target hangs until the test kills this process
"""


def test_sigkill_while_sending_loses_nothing(
    filled: Settings, receiver: Receiver, tmp_path: Path, forker: Forker
) -> None:
    notify = targets_file(tmp_path / "n.toml", hook(receiver))
    settings = replace(filled, notify=str(notify))
    queue(settings, [KEY])
    receiver.answers["/hook"] = [None]
    env = {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(settings.data_dir),
        "TOLDFEED_SOURCES": str(settings.sources),
        "TOLDFEED_SYSTEMS": str(settings.systems),
        "TOLDFEED_NOTIFY": str(notify),
        "TOLDFEED_NOTIFY_TIMEOUT_SECONDS": "60",
    }
    with forker.spawn(KILLED, env=env) as child:
        try:
            assert receiver.arrived.wait(WAIT), "the child never sent"
        finally:
            child.send_signal(signal.SIGKILL)
        assert child.wait(WAIT) == -signal.SIGKILL
    (note,) = pending_notes(settings)
    assert note.state is Delivery.PENDING  # the target took it, but nobody saw it answer
    receiver.release.set()
    with Runtime.open(settings) as runtime:
        assert Service(runtime).deliverer.deliver().delivered == 1
    first, again = receiver.to("/hook")
    assert first.headers["Webhook-Id"] == again.headers["Webhook-Id"] == note.id
    assert first.body == again.body  # the receiver can drop the duplicate by its id
    assert pending_notes(settings) == []


# --- toldfeed notify-test ---------------------------------------------------------------------


def test_notify_test_sends_a_sample_and_prints_the_answer(
    filled: Settings,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notify = targets_file(tmp_path / "n.toml", hook(receiver))
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(filled.data_dir))
    monkeypatch.setenv("TOLDFEED_SOURCES", str(filled.sources))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(notify))
    receiver.answers["/hook"] = [Response("thanks", status=202)]
    assert main(["notify-test", "hook"]) == 0
    assert capsys.readouterr().out.strip() == "ok     hook (webhook)  HTTP 202 ACCEPTED: thanks"
    (hit,) = receiver.hits
    assert (
        Webhook(SECRET)
        .verify(hit.body, hit.headers)["data"]["title"]["en"]
        .startswith("This is a test")
    )
    receiver.answers["/hook"] = [Response("gone", status=410)]
    assert main(["notify-test", "hook"]) == 1
    assert "FAILED hook (webhook)  HTTP 410 GONE: gone" in capsys.readouterr().out
    assert main(["notify-test", "nobody"]) == 2
    assert "no target named 'nobody'" in capsys.readouterr().err


def test_notify_test_says_test_on_every_channel_and_is_no_incident_event(
    filled: Settings,
    receiver: Receiver,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A ticketing system acts on incident.created: the sample is of type "test", and every
    channel heads it with TEST and says that nothing has happened."""
    inbox, port = smtp
    notify = targets_file(
        tmp_path / "n.toml",
        hook(receiver),
        f'name = "teams"\nkind = "teams"\nurl = "{receiver.url("/teams")}"',
        f'name = "slack"\nkind = "slack"\nurl = "{receiver.url("/slack")}"\nlang = "da"',
        'name = "desk"\nkind = "email"\nto = ["desk@example.com"]',
    )
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(filled.data_dir))
    monkeypatch.setenv("TOLDFEED_SOURCES", str(filled.sources))
    monkeypatch.setenv("TOLDFEED_NOTIFY", str(notify))
    monkeypatch.setenv("TOLDFEED_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("TOLDFEED_SMTP_FROM", "toldfeed@feeds.example.test")
    for name in ("hook", "teams", "slack", "desk"):
        assert main(["notify-test", name]) == 0, capsys.readouterr()

    (signed,) = receiver.to("/hook")
    event = Webhook(SECRET).verify(signed.body, signed.headers)
    assert event["type"] == "test"  # not incident.created: no ticket for it

    (teams,) = receiver.to("/teams")
    card = teams.json()["attachments"][0]["content"]
    assert teams.json()["summary"].startswith("TEST: This is a test")
    assert card["body"][0]["text"].startswith("TEST: This is a test")
    assert "nothing has happened" in card["body"][0]["text"]

    (slack,) = receiver.to("/slack")
    body = slack.json()
    assert body["blocks"][0]["text"]["text"].startswith("TEST: Dette er en test")  # Danish
    assert body["text"].startswith("TEST: Dette er en test") and "intet er sket" in body["text"]

    (mail,) = inbox.messages
    assert (
        mail["Subject"].startswith("This is a test") and "nothing has happened" in mail["Subject"]
    )
    assert "In-Reply-To" not in mail  # each test its own thread, never a reply
    plain = mail.get_body(("plain",))
    assert plain is not None and plain.get_content().startswith("TEST: This is a test")


# --- WebSub -----------------------------------------------------------------------------------


def test_websub_hub_is_linked_in_feeds_and_pinged_once_per_changing_poll(
    filled: Settings, receiver: Receiver
) -> None:
    settings = replace(filled, websub_hub=receiver.url("/hub"))
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: polled_at("t3") + timedelta(minutes=10))
        assert service.poll_once(force=True) is not None  # the hub link changes every feed
        assert service.poll_once(force=True) is not None  # nothing changed: no ping
        client = create_app(settings, runtime=runtime, poll=False).test_client()
        atom = client.get("/feeds/all.atom").data
        rss = client.get("/da/feeds/system/ics2.rss").data
        jsonfeed = client.get("/feeds/all.json").get_json()
    (ping,) = receiver.to("/hub")
    form = parse_qs(ping.body.decode())
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["hub.mode"] == ["publish"]
    base = settings.base_url
    assert {f"{base}/feeds/all.atom", f"{base}/da/feeds/system/ics2.rss"} <= set(form["hub.url"])
    assert all(url.startswith(base + "/") and "/feeds/" in url for url in form["hub.url"])
    for body in (atom, rss):
        links = {(ln["rel"], ln["href"]) for ln in feedparser.parse(body).feed.links}
        assert ("hub", receiver.url("/hub")) in links
        assert any(rel == "self" and href.startswith(base) for rel, href in links)
    assert jsonfeed["hubs"] == [{"type": "WebSub", "url": receiver.url("/hub")}]


def test_an_unreachable_hub_only_logs(filled: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hub"  # nothing listens there
    with Runtime.open(replace(filled, websub_hub=dead)) as runtime:
        assert Service(runtime).poll_once(force=True) is not None
    assert any(r.getMessage().startswith("websub ping failed") for r in caplog.records)
