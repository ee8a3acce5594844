"""Self-service e-mail subscriptions: the real HTTP flow through the test client, a real local
SMTP server (aiosmtpd), tokens, link scanners, one-click unsubscribe, the limits, privacy,
and the fan-out of changes to the subscribers (two processes at once, SIGKILL mid-way).
The clock is the test's (``create_app(clock=...)``, ``Service(clock=...)``), never patched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from app import create_app
from app.cli import main
from app.config import Settings
from app.model import Lang
from app.notify.outbox import queue_notifications
from app.notify.signup import SignUp
from app.notify.targets import SUBSCRIBERS
from app.notify.tokens import Purpose
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store
from app.store.subscriber_records import Choices, Interest, Subscription
from tests.conftest import ROOT, store_of
from tests.test_notify import Clock, Inbox, smtp  # noqa: F401  (smtp: a fixture)

BASE = "http://feeds.example.test"
SAME_SITE = {"Origin": BASE}
ADDRESS = "Clerk.One@Customs.Example"  # kept as clerk.One@customs.example (the domain lowered)
T0 = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
DISRUPTION = "INC000001822307"  # open, dms-transit
WINDOW = "WO0000001586573"  # dms-export, dms-import, dms-transit, manifest
TFE_WINDOW = "WO0000001584149"  # tfe only
WAIT = 10.0


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def on(filled: Settings, smtp: tuple[Inbox, int]) -> Settings:  # noqa: F811
    """The filled store with subscriptions on, mail to the local SMTP server."""
    return replace(
        filled,
        subscriptions="email",
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        smtp_from="toldfeed@feeds.example.test",
        secret_key="a test key that signs every link of this test",
    )


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:  # noqa: F811
    return smtp[0]


@pytest.fixture
def web(on: Settings, clock: Clock) -> Iterator[Any]:
    app = create_app(on, poll=False, clock=clock)
    yield app.test_client()
    app.extensions["toldfeed"].runtime.close()


def wait_for(check: Callable[[], bool], seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def settled() -> None:
    """Wait until no web worker's thread is sending confirmation mails."""
    wait_for(lambda: not any(t.name == "toldfeed-confirm" for t in threading.enumerate()))


def sign_up(
    web: Any, address: str = ADDRESS, headers: dict[str, str] | None = None, **form: Any
) -> Any:
    data = {"address": address, "system": ["dms-transit"], "what": ["disruptions"], "lang": "en"}
    data.update(form)
    return web.post("/subscribe", data=data, headers=SAME_SITE if headers is None else headers)


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link(msg: EmailMessage, path: str) -> str:
    """The path and query of the link to ``path`` in the mail's text (unsubscribe: its
    ``List-Unsubscribe`` header)."""
    if path == "/subscription/unsubscribe":
        return str(msg["List-Unsubscribe"]).strip("<>").removeprefix(BASE)
    found = re.search(rf"{re.escape(BASE)}({re.escape(path)}\?token=\S+)", text_of(msg))
    assert found, text_of(msg)
    return found.group(1)


def subscription(settings: Settings, address: str = ADDRESS) -> Subscription | None:
    with store_of(settings) as store:
        local, _, domain = address.strip().rpartition("@")
        return store.subscription(store.subscriber_id(f"{local}@{domain.lower()}"))


def confirmed_subscriber(web: Any, inbox: Inbox, address: str = ADDRESS, **form: Any) -> str:
    """Sign ``address`` up and confirm it; the path of its own page."""
    before = len(inbox.messages)
    assert sign_up(web, address, **form).status_code == 200
    wait_for(lambda: len(inbox.messages) > before)
    mail = inbox.messages[-1]
    assert web.post(link(mail, "/subscription/confirm"), headers=SAME_SITE).status_code == 200
    return link(mail, "/subscription")


def add_subscribers(
    settings: Settings, count: int, choices: Choices = Choices(), at: datetime = T0
) -> list[str]:
    """``count`` confirmed subscribers written straight into the store; their addresses."""
    addresses = [f"reader{i:05d}@example.com" for i in range(count)]
    with store_of(settings) as store:
        batch = Batch()
        for address in addresses:
            sub = Subscription(
                store.subscriber_id(address), address, "n", at, choices, confirmed_at=at
            )
            Store.stage_subscription(batch, sub)
        store.commit(batch)
    return addresses


def queue_change(settings: Settings, key: str, now: datetime = T0) -> None:
    """One real change of stored incident ``key`` queued for the subscribers."""
    with store_of(settings) as store:
        incident = store.incident(key)
        assert incident is not None
        notes = queue_notifications([incident], {}, (), backfill=False, now=now, subscribers=True)
        assert [n.target for n in notes] == [SUBSCRIBERS]
        batch = Batch()
        Store.stage_notifications(batch, store.outbox_seq(), notes)
        store.commit(batch)


def deliver(settings: Settings, clock: Callable[[], datetime] = lambda: T0, **kw: Any) -> Any:
    with Runtime.open(settings) as runtime:
        return Service(runtime, clock=clock).deliverer.deliver(**kw)


def recipients(inbox: Inbox) -> Counter[str]:
    return Counter(str(m["To"]) for m in inbox.messages)


# --- the form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "lang", "words"),
    [("/subscribe", "en", "Your e-mail address"), ("/da/subscribe", "da", "Din e-mailadresse")],
)
def test_the_form_asks_for_address_systems_what_and_language_without_script(
    web: Any, path: str, lang: str, words: str
) -> None:
    page = web.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.data.decode()
    assert f'<html lang="{lang}">' in html and words in html and "<script" not in html
    assert f'action="{BASE}/subscribe"' in html and 'type="email"' in html
    systems = re.findall(r'name="system" value="([^"]+)"( checked)?', html)
    assert len(systems) == 14 and all(checked for _, checked in systems)  # all by default
    what = dict(re.findall(r'name="what" value="([^"]+)"( checked)?', html))
    assert set(what) == {i.value for i in Interest}
    assert what["disruptions"] and what["windows"] and not what["digest"]
    assert re.search(rf'name="lang" value="{lang}" checked', html)


def test_every_system_page_has_the_form_with_that_system_ticked_also_exported(
    on: Settings, web: Any, tmp_path: Path
) -> None:
    html = web.get("/systems/emcs").data.decode()
    ticked = re.findall(r'name="system" value="([^"]+)" checked', html)
    assert ticked == ["emcs"] and f'action="{BASE}/subscribe"' in html
    assert main_with(on, "export", str(tmp_path / "site")) == 0
    exported = (tmp_path / "site" / "da" / "systems" / "ics2.html").read_text()
    assert re.findall(r'name="system" value="([^"]+)" checked', exported) == ["ics2"]
    assert f'action="{BASE}/subscribe"' in exported
    assert f'href="{BASE}/subscribe"' in (tmp_path / "site" / "index.html").read_text()


def test_without_subscriptions_there_is_no_form_and_no_route(client: Any) -> None:
    assert client.get("/subscribe").status_code == 404
    assert client.post("/subscription/unsubscribe?token=x").status_code == 404
    assert 'name="address"' not in client.get("/systems/emcs").data.decode()


def main_with(settings: Settings, *argv: str, capsys: Any = None) -> int:
    env = {
        "TOLDFEED_DATA_DIR": str(settings.data_dir),
        "TOLDFEED_SOURCES": str(settings.sources),
        "TOLDFEED_SYSTEMS": str(settings.systems),
        "TOLDFEED_BASE_URL": settings.base_url,
        "TOLDFEED_SUBSCRIPTIONS": settings.subscriptions,
        "TOLDFEED_SMTP_URL": settings.smtp_url,
        "TOLDFEED_SMTP_FROM": settings.smtp_from,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return main(list(argv))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- double opt-in ----------------------------------------------------------------------------


def test_sign_up_confirm_change_and_one_click_unsubscribe(
    on: Settings, web: Any, inbox: Inbox, clock: Clock
) -> None:
    answer = sign_up(
        web, system=["dms-transit", "ics2"], what=["disruptions", "remind-1h"], lang="da"
    )
    assert answer.status_code == 200 and "er et bekræftelseslink på vej" in answer.data.decode()
    wait_for(lambda: len(inbox.messages) == 1)
    mail = inbox.messages[0]
    assert mail["To"] == "Clerk.One@customs.example" and mail["Content-Language"] == "da"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"] == "toldfeed <subscribers.feeds.example.test>"
    assert re.fullmatch(rf"<{BASE}/subscription/unsubscribe\?token=\S+>", mail["List-Unsubscribe"])
    assert re.search(r"Systemer: DMS Forsendelse \(NCTS\), ICS2", text_of(mail)) and link(
        mail, "/subscription"
    )
    pending = subscription(on)
    assert pending is not None and not pending.confirmed

    confirm = link(mail, "/subscription/confirm")
    page = web.get(confirm)  # a page with a button: nothing confirmed yet
    assert page.status_code == 200 and 'method="post"' in page.data.decode()
    assert not subscription(on).confirmed  # type: ignore[union-attr]
    clock.advance(3600)
    done = web.post(confirm, headers=SAME_SITE)
    assert done.status_code == 200 and "Abonnementet er bekræftet" in done.data.decode()
    sub = subscription(on)
    assert sub is not None and sub.confirmed and sub.confirmed_at == T0 + timedelta(hours=1)
    assert sub.choices == Choices(
        frozenset({"dms-transit", "ics2"}),
        frozenset({Interest.DISRUPTIONS, Interest.REMIND_1H}),
        Lang.DA,
    )
    assert web.post(confirm, headers=SAME_SITE).status_code == 200  # again: nothing more

    own = link(mail, "/subscription")
    page = web.get(own).data.decode()
    assert "Clerk.One@customs.example" in page and page.count('value="dms-transit" checked') == 1
    saved = web.post(
        own,
        data={"system": ["emcs"], "what": ["windows", "digest"], "lang": "en"},
        headers=SAME_SITE,
    )
    assert saved.status_code == 200 and "Saved." in saved.data.decode()
    assert subscription(on).choices == Choices(  # type: ignore[union-attr]
        frozenset({"emcs"}), frozenset({Interest.WINDOWS, Interest.DIGEST}), Lang.EN
    )

    # RFC 8058: the mailbox provider POSTs the one-click body to the List-Unsubscribe URL
    one_click = mail["List-Unsubscribe"].strip("<>").removeprefix(BASE)
    gone = web.post(
        one_click,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert gone.status_code == 200 and subscription(on) is None
    assert b"clerk.one" not in (on.data_dir / "store" / "cache.db").read_bytes().lower()
    assert web.get(own).status_code == 410  # the page is gone with it
    assert web.post(one_click).status_code == 200  # again: still unsubscribed


def test_a_link_scanner_opening_every_link_changes_nothing(
    on: Settings, web: Any, inbox: Inbox
) -> None:
    sign_up(web)
    wait_for(lambda: len(inbox.messages) == 1)
    mail = inbox.messages[0]
    for path in (
        link(mail, p)
        for p in ("/subscription/confirm", "/subscription", "/subscription/unsubscribe")
    ):
        assert web.get(path).status_code == 200
        assert web.head(path).status_code == 200
    sub = subscription(on)
    assert sub is not None and not sub.confirmed
    web.post(link(mail, "/subscription/confirm"), headers=SAME_SITE)
    web.get(link(mail, "/subscription/unsubscribe"))  # the scanner again, after confirming
    assert subscription(on).confirmed  # type: ignore[union-attr]


def test_the_answer_is_the_same_for_every_address(on: Settings, web: Any, inbox: Inbox) -> None:
    confirmed_subscriber(web, inbox, "known@example.com")
    pages = {}
    for address in (
        "known@example.com",
        "new@example.com",
        "not an address",
        "x@y",
        "a@b.c\r\nBcc: v@e.x",
    ):
        answer = sign_up(web, address)
        pages[address] = (answer.status_code, answer.data)
    for n in range(1, 4):
        sign_up(web, "busy@example.com")
        wait_for(lambda n=n: recipients(inbox)["busy@example.com"] == n)  # type: ignore[misc]
    limited = sign_up(web, "busy@example.com")  # the fourth within 24 h: no mail, the same page
    pages["limited"] = (limited.status_code, limited.data)
    assert len(set(pages.values())) == 1, {k: v[0] for k, v in pages.items()}
    settled()
    assert recipients(inbox)["busy@example.com"] == 3 and recipients(inbox)["new@example.com"] == 1
    assert not any("\n" in str(m["To"]) or "v@e.x" in str(m["To"]) for m in inbox.messages)


def test_three_confirmation_mails_per_address_a_day(
    on: Settings, web: Any, inbox: Inbox, clock: Clock
) -> None:
    for n in range(1, 4):
        assert sign_up(web).status_code == 200
        wait_for(lambda n=n: len(inbox.messages) == n)  # type: ignore[misc]
        clock.advance(3600)
    assert sign_up(web).status_code == 200
    settled()
    assert len(inbox.messages) == 3
    clock.advance(21 * 3600 + 1)  # a day after the first
    sign_up(web)
    wait_for(lambda: len(inbox.messages) == 4)


def test_sign_ups_before_the_mail_went_out_get_one_mail_with_the_latest_choices(
    on: Settings, clock: Clock, inbox: Inbox
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = s.getsockname()[1]
    app = create_app(replace(on, smtp_url=f"smtp://127.0.0.1:{down}"), poll=False, clock=clock)
    try:
        for system in ("emcs", "ics2", "tfe", "ntse", "other"):  # the relay is down meanwhile
            sign_up(app.test_client(), system=[system])
        settled()
    finally:
        app.extensions["toldfeed"].runtime.close()
    deliver(on, clock)
    assert len(inbox.messages) == 1 and "Other" in text_of(inbox.messages[0])


def test_twenty_sign_ups_per_client_an_hour_then_429_with_retry_after(
    on: Settings, clock: Clock, inbox: Inbox
) -> None:
    settings = replace(on, trusted_proxies="10.0.0.0/8")
    app = create_app(settings, poll=False, clock=clock)
    web = app.test_client()
    try:

        def from_(client: str, remote: str = "10.0.0.1") -> Any:
            headers = {**SAME_SITE, "X-Forwarded-For": f"{client}, 10.9.9.9"}
            return web.post(
                "/subscribe",
                data={"address": "x"},
                headers=headers,
                environ_base={"REMOTE_ADDR": remote},
            )

        for _ in range(20):
            assert from_("198.51.100.7").status_code == 400  # counted even when the form is wrong
        refused = from_("198.51.100.7")
        assert refused.status_code == 429 and 3590 <= int(refused.headers["Retry-After"]) <= 3600
        assert from_("198.51.100.8").status_code == 400  # another client behind the same proxy
        # an untrusted peer's X-Forwarded-For is not believed: it is the client itself
        for _ in range(20):
            from_("198.51.100.7", remote="192.0.2.1")
        assert from_("203.0.113.1", remote="192.0.2.1").status_code == 429
        clock.advance(3601)
        assert from_("198.51.100.7").status_code == 400
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_a_form_with_nothing_chosen_is_shown_again(web: Any) -> None:
    answer = sign_up(web, system=[], what=["digest"])
    assert answer.status_code == 400 and "Choose at least one system" in answer.data.decode()
    assert (
        'value="digest" checked' in answer.data.decode()
        and "checked>" not in answer.data.decode().split("sub-address")[0]
    )
    assert "at least one thing" in sign_up(web, what=[]).data.decode()


def test_a_cross_site_post_changes_nothing(on: Settings, web: Any, inbox: Inbox) -> None:
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = sign_up(web, headers=headers)
        assert answer.status_code == 403 and "another web site" in answer.data.decode()
    assert subscription(on) is None and inbox.messages == []
    assert (
        sign_up(web, headers={"Origin": "http://localhost"}).status_code == 200
    )  # where it was reached
    wait_for(lambda: len(inbox.messages) == 1)
    mail = inbox.messages[0]
    evil = {"Origin": "https://evil.example"}
    assert web.post(link(mail, "/subscription/confirm"), headers=evil).status_code == 403
    assert not subscription(on).confirmed  # type: ignore[union-attr]
    web.post(link(mail, "/subscription/confirm"), headers=SAME_SITE)
    own = link(mail, "/subscription")
    assert (
        web.post(own, data={"system": ["emcs"], "what": ["windows"]}, headers=evil).status_code
        == 403
    )
    assert subscription(on).choices.systems == {"dms-transit"}  # type: ignore[union-attr]


def test_tampered_expired_and_cross_purpose_tokens_do_nothing(
    on: Settings, web: Any, inbox: Inbox, clock: Clock
) -> None:
    sign_up(web)
    sign_up(web, "other@example.com")
    wait_for(lambda: len(inbox.messages) == 2)
    mine, other = sorted(inbox.messages, key=lambda m: str(m["To"]) != "Clerk.One@customs.example")
    confirm = link(mine, "/subscription/confirm")
    token = confirm.split("token=")[1]
    other_id = subscription(on, "other@example.com").id  # type: ignore[union-attr]
    forged = other_id + token[token.index("~") :]  # my signature on the other's id
    cases = {
        "tampered": confirm[:-3] + ("AAA" if not confirm.endswith("AAA") else "BBB"),
        "cut short": confirm[:-10],
        "other address": f"/subscription/confirm?token={forged}",
        "another purpose": confirm.replace("/subscription/confirm", "/subscription"),
        "manage as confirm": link(mine, "/subscription").replace(
            "/subscription", "/subscription/confirm"
        ),
        "no token": "/subscription/confirm",
    }
    for name, path in cases.items():
        assert web.post(path, headers=SAME_SITE).status_code == 400, name
    assert (
        web.post(link(mine, "/subscription/unsubscribe").replace(token[:32], other_id)).status_code
        == 400
    )
    assert not subscription(on).confirmed and subscription(on, "other@example.com")  # type: ignore[union-attr]
    clock.advance(48 * 3600 + 1)
    expired = web.post(link(other, "/subscription/confirm"), headers=SAME_SITE)
    assert expired.status_code == 410 and "expired" in expired.data.decode()
    assert not subscription(on, "other@example.com").confirmed  # type: ignore[union-attr]


def test_a_link_of_an_earlier_subscription_does_not_work_for_the_next(
    on: Settings, web: Any, inbox: Inbox
) -> None:
    first = confirmed_subscriber(web, inbox)
    web.post(first.replace("/subscription", "/subscription/unsubscribe"))
    second = confirmed_subscriber(web, inbox)
    assert web.get(first).status_code == 410 and web.get(second).status_code == 200
    assert web.post(first.replace("/subscription", "/subscription/unsubscribe")).status_code == 200
    assert subscription(on) is not None  # the old link unsubscribed nobody


def test_unconfirmed_sign_ups_are_removed_after_48_hours(
    on: Settings, web: Any, inbox: Inbox, clock: Clock
) -> None:
    confirmed_subscriber(web, inbox, "stays@example.com")
    sign_up(web, "stays@example.com", what=["digest"])  # a change asked for, never confirmed
    sign_up(web)
    wait_for(lambda: len(inbox.messages) == 3)
    settled()
    with Runtime.open(on) as runtime:
        service = Service(runtime, clock=clock)
        service.confirmations.upkeep()
        assert subscription(on) is not None
        clock.advance(48 * 3600 + 1)
        service.confirmations._swept_at = None  # the next pass sweeps, whatever its interval
        service.confirmations.upkeep()
    assert subscription(on) is None
    kept = subscription(on, "stays@example.com")
    assert (
        kept is not None
        and kept.requested is None
        and Interest.DIGEST not in kept.choices.interests
    )  # type: ignore[union-attr]


def test_a_mail_refused_at_sign_up_is_sent_by_the_next_pass(
    on: Settings, clock: Clock, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens: the relay is down
    settings = replace(on, smtp_url=f"smtp://127.0.0.1:{port}")
    app = create_app(settings, poll=False, clock=clock)
    try:
        assert sign_up(app.test_client()).status_code == 200
        settled()  # the worker tried: the relay was down
        with store_of(settings) as store:
            assert store.confirmation_mails()
    finally:
        app.extensions["toldfeed"].runtime.close()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        deliver(settings, clock)
    finally:
        controller.stop()
    assert [str(m["To"]) for m in inbox.messages] == ["Clerk.One@customs.example"]
