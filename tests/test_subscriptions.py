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
import subprocess
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

import httpx
import pytest
from aiosmtpd.controller import Controller

from app import create_app
from app.cli import main
from app.config import Settings
from app.model import Lang
from app.notify.outbox import queue_notifications
from app.notify.signup import normalize_address
from app.notify.targets import SUBSCRIBERS
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store
from app.store.subscriber_records import Choices, Interest, Subscription
from tests.conftest import store_of
from tests.processes import Forker
from tests.receivers import Inbox, free_port
from tests.test_notify import Clock

BASE = "http://feeds.example.test"
SAME_SITE = {"Origin": BASE}
ADDRESS = "Clerk.One@Customs.Example"  # kept as clerk.One@customs.example (the domain lowered)
T0 = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
DISRUPTION = "INC000001822307"  # open, dms-transit
WINDOW = "WO0000001586573"  # dms-export, dms-import, dms-transit, manifest
TFE_WINDOW = "WO0000001584149"  # tfe only
WAIT = 10.0
EVERYTHING = Choices()  # every system; disruptions and windows; English


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def on(filled_subscribed: Settings, smtp: tuple[Inbox, int]) -> Settings:
    """The filled store with subscriptions on, mail to the local SMTP server."""
    return replace(
        filled_subscribed,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        smtp_from="toldfeed@feeds.example.test",
        secret_key="a test key that signs every link of this test",
    )


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
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
    settings: Settings,
    count: int,
    choices: Choices = EVERYTHING,
    at: datetime = T0,
    prefix: str = "reader",
) -> list[str]:
    """``count`` confirmed subscribers written straight into the store; their addresses."""
    addresses = [f"{prefix}{i:05d}@example.com" for i in range(count)]
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
        Store.stage_notifications(batch, notes)
        store.commit(batch)


def deliver(settings: Settings, clock: Callable[[], datetime] = lambda: T0, **kw: Any) -> Any:
    with Runtime.open(settings) as runtime:
        return Service(runtime, clock=clock).deliverer.deliver(**kw)


def recipients(inbox: Inbox) -> Counter[str]:
    """How many messages the server delivered to each address (one recipient each)."""
    assert all(len(to) == 1 for to in inbox.delivered)
    return Counter(to for (to,) in inbox.delivered)


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
    # as sent: one line, the URL as written (mail programs read no encoded word there)
    sent = inbox.raw[0].decode("ascii").splitlines()  # 7-bit clean: its parts quoted-printable
    assert {p["Content-Transfer-Encoding"] for p in mail.walk() if not p.is_multipart()} == {
        "quoted-printable"
    }
    assert f"List-Unsubscribe: {mail['List-Unsubscribe']}" in sent
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent
    assert re.search(r"Systemer: DMS Forsendelse \(NCTS\), ICS2", text_of(mail)) and link(
        mail, "/subscription"
    )
    assert "tilmeldingsformular" in text_of(mail) and "du abonnerer" not in text_of(mail)
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
    for stored in (on.data_dir / "store").iterdir():  # the database and its log alike
        assert b"clerk.one" not in stored.read_bytes().lower(), stored.name
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
    down = free_port()
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
        # IPv6: a line's whole /64 is one client, whichever address in it a request comes from
        for n in range(20):
            assert from_(f"2001:db8:1:2::{n + 1:x}").status_code == 400
        assert from_("2001:db8:1:2:ffff::1").status_code == 429
        assert from_("2001:db8:1:3::1").status_code == 400  # the next /64 is another client
        # an IPv4 client on a dual-stack socket is itself, not the /64 of ::ffff:0:0
        for _ in range(20):
            from_("::ffff:198.51.100.20")
        assert from_("198.51.100.20").status_code == 429
        assert from_("::ffff:198.51.100.21").status_code == 400
        # and a proxy on a dual-stack socket is the proxy it is trusted as
        assert from_("198.51.100.22", remote="::ffff:10.0.0.1").status_code == 400
        for _ in range(19):
            from_("198.51.100.22")
        assert from_("198.51.100.22", remote="::ffff:10.0.0.1").status_code == 429
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_a_proxy_is_trusted_in_the_form_it_was_configured_in() -> None:
    """A proxy on a dual-stack socket connects as ::ffff:10.0.0.1: trusted whether the
    operator wrote 10.0.0.0/8 or the mapped form they saw in a log."""
    from app.config import parse_networks
    from app.web.subscription_pages import client_address

    for configured in ("10.0.0.0/8", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104"):
        trusted = parse_networks(configured)
        for remote in ("::ffff:10.0.0.1",) + (("10.0.0.1",) if "." in configured[:3] else ()):
            assert client_address(remote, "198.51.100.7", trusted) == "198.51.100.7", configured
    assert client_address("::ffff:10.0.0.1", "198.51.100.7", parse_networks("10.1.0.0/16")) == (
        "::ffff:10.0.0.1"
    )


def test_the_server_hands_the_proxy_s_x_forwarded_for_to_the_app() -> None:
    """The HTTP server (waitress, as ``serve`` and every gunicorn worker run it) passes the
    header on: the app alone decides whether to believe it (TOLDFEED_TRUSTED_PROXIES)."""
    from app.web.server import make_server

    seen: list[str | None] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ.get("HTTP_X_FORWARDED_FOR"))
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    from waitress import wasyncore

    connections: dict[int, Any] = {}
    server = make_server(app, "127.0.0.1", 0, threads=1, connections=connections)
    stop = threading.Event()

    def loop() -> None:  # the I/O loop, closed in its own thread once told to stop
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=connections, count=1)
        server.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        with httpx.Client() as http:
            http.get(
                f"http://127.0.0.1:{server.effective_port}/",
                headers={"X-Forwarded-For": "198.51.100.7"},
            )
    finally:
        stop.set()
        thread.join(5)
    assert seen == ["198.51.100.7"]


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


def test_a_cross_site_unsubscribe_changes_nothing_unless_it_is_the_one_click_body(
    on: Settings, web: Any, inbox: Inbox
) -> None:
    confirmed_subscriber(web, inbox)
    one_click = link(inbox.messages[-1], "/subscription/unsubscribe")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = web.post(one_click, data={"confirm": "1"}, headers=headers)
        assert answer.status_code == 403 and subscription(on) is not None
    answer = web.post(  # RFC 8058's body: whoever sends it
        one_click, data={"List-Unsubscribe": "One-Click"}, headers={"Origin": "https://mail.test"}
    )
    assert answer.status_code == 200 and subscription(on) is None


def test_an_address_the_relay_cannot_take_holds_back_no_other_confirmation(
    on: Settings, clock: Clock
) -> None:
    # a relay without SMTPUTF8 cannot take a non-ASCII address: that mail is refused for
    # good, not the relay counted down with every mail queued behind it
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    settings = replace(on, smtp_url=f"smtp://127.0.0.1:{port}")
    app = create_app(settings, poll=False, clock=clock)
    try:
        web = app.test_client()
        assert sign_up(web, "kunde@blåbær.dk").status_code == 200
        settled()
        for n in range(3):
            assert sign_up(web, f"clerk{n}@example.com").status_code == 200
            settled()
    finally:
        app.extensions["toldfeed"].runtime.close()
        controller.stop()
    assert sorted(recipients(inbox)) == [f"clerk{n}@example.com" for n in range(3)]
    with store_of(settings) as store:
        assert store.confirmation_mails() == {}


def test_a_mail_carries_an_address_only_as_it_is() -> None:
    """Addresses an earlier sign-up form took, whose encoded words the email package decodes
    into a line break, trips on, cannot fold, or reads as another address: no mail carries
    them; every address the form takes now, letters beyond ASCII included, it does."""
    from app.notify.mail import mailable

    for kept in (
        "=?utf-8?q?p1=0D=0Ab?=@example.com",
        "=?utf-8?b?.?=@example.com",
        "=?utf-8?b?=C3=A9@xn--bcher-kva.dk",
        "=?utf-8?q?a=40b?=@example.com",
    ):
        assert not mailable(kept), kept
    for address in (
        "clerk@example.com",
        "jørgen@blåbær.dk",
        "a.b+c@example.com",
        "x" * 64 + "@e.dk",
    ):
        assert normalize_address(address) == address and mailable(address), address


@pytest.mark.parametrize(
    "address",
    [
        "a\x01b@example.com",
        "a\x7fb@example.com",
        "a\x00@example.com",
        "=?utf-8?q?p1=0D=0Ab?=@example.com",  # an encoded word: a line break once decoded
    ],
)
def test_an_address_with_a_control_character_is_not_one(address: str) -> None:
    assert normalize_address(address) is None
    assert normalize_address("a.b+c@example.com") == "a.b+c@example.com"


def test_a_mail_that_cannot_be_written_holds_back_no_other_and_stops_no_sweep(
    on: Settings, web: Any, inbox: Inbox, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-up kept before encoded words were refused, whose address no mail can carry
    (decoded into a line break; one that trips the email package's parser), is given up with a
    log line: the mails queued behind it go out, and the upkeep's sweep runs whatever sending
    met."""
    import app.notify.signup
    from app.notify.confirmations import Confirmations

    kept = ("=?utf-8?q?p1=0D=0Ab?=@example.com", "=?utf-8?b?.?=@example.com")
    monkeypatch.setattr(app.notify.signup, "normalize_address", lambda text: text.strip())
    monkeypatch.setattr(Confirmations, "send", lambda self, *a, **k: 0)  # queued, not sent yet
    for address in kept:
        assert sign_up(web, address).status_code == 200
    monkeypatch.undo()
    for address in ("first@example.com", "second@example.com"):
        assert sign_up(web, address).status_code == 200
        settled()
    wait_for(lambda: len(inbox.messages) == 2)
    assert sorted(recipients(inbox)) == ["first@example.com", "second@example.com"]
    with store_of(on) as store:
        assert store.confirmation_mails() == {}

    def down(self: Confirmations, *args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the relay's library broke")

    monkeypatch.setattr(Confirmations, "send", down)
    clock.advance(48 * 3600 + 1)
    with Runtime.open(on) as runtime:
        confirmations = Service(runtime, clock=clock).confirmations
        with pytest.raises(RuntimeError):
            confirmations.upkeep()
    assert subscription(on, "first@example.com") is None  # swept all the same


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
    port = free_port()  # nobody listens: the relay is down
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


# --- the fan-out ------------------------------------------------------------------------------


def test_a_change_goes_to_each_confirmed_subscriber_who_wants_it_in_their_language(
    on: Settings, web: Any, inbox: Inbox, clock: Clock
) -> None:
    confirmed_subscriber(
        web, inbox, "transit@example.com", system=["dms-transit"], what=["disruptions"], lang="da"
    )
    confirmed_subscriber(
        web, inbox, "windows@example.com", system=["dms-transit"], what=["windows"]
    )
    confirmed_subscriber(
        web, inbox, "emcs@example.com", system=["emcs"], what=["disruptions", "windows"]
    )
    everything = list(Interest)
    confirmed_subscriber(
        web,
        inbox,
        "all@example.com",
        system=[s.slug for s in web.application.extensions["toldfeed"].runtime.catalogue.systems],
        what=everything,
    )
    sign_up(web, "waiting@example.com", what=["disruptions"])  # never confirmed
    settled()
    inbox.clear()
    clock.advance(60)
    queue_change(on, DISRUPTION, clock.now)
    queue_change(on, WINDOW, clock.now)
    report = deliver(on, clock)
    assert report.delivered == 2 and report.mails == 4 and report.pending == 0
    got = {
        (str(m["To"]), str(m["X-Toldfeed-Id"]).split("#")[0].rsplit("/", 1)[-1])
        for m in inbox.messages
    }
    assert got == {
        ("transit@example.com", DISRUPTION),
        ("windows@example.com", WINDOW),
        ("all@example.com", DISRUPTION),
        ("all@example.com", WINDOW),
    }
    danish = next(m for m in inbox.messages if m["To"] == "transit@example.com")
    assert (
        danish["Content-Language"] == "da"
        and danish["Message-ID"] == f"<incident.{DISRUPTION}@feeds.example.test>"
    )
    assert all(raw.isascii() for raw in inbox.raw)  # Danish and all: no relay needs 8BITMIME
    for mail in inbox.messages:
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["List-Id"] == "toldfeed <subscribers.feeds.example.test>"
        own = link(mail, "/subscription")  # the visible link to their own page
        assert web.get(own).status_code == 200 and str(mail["To"]) in web.get(own).data.decode()
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"{BASE}{own}".replace("&", "&amp;") in html
    # the one-click header of a change's mail unsubscribes too
    one_click = link(danish, "/subscription/unsubscribe")
    assert web.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert subscription(on, "transit@example.com") is None


def test_a_subscriber_confirmed_after_the_change_does_not_get_it(
    on: Settings, clock: Clock, inbox: Inbox
) -> None:
    add_subscribers(on, 2, at=T0)
    queue_change(on, DISRUPTION, T0 - timedelta(seconds=1))
    assert deliver(on, clock).mails == 0
    queue_change(on, DISRUPTION, T0)
    assert deliver(on, clock).mails == 2


def test_a_poll_queues_one_record_per_change_for_all_subscribers_and_delivers_it(
    upstream: Any,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inbox, port = smtp
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "SUBSCRIPTIONS": "email",
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SMTP_FROM": "toldfeed@feeds.example.test",
        "BACKOFF_SECONDS": "0.01",
    }.items():
        monkeypatch.setenv(f"TOLDFEED_{name}", value)
    upstream.load("t1")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t1", tmp_path / "s.toml")))
    assert main(["poll"]) == 0
    settings = Settings.from_env()
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    add_subscribers(settings, 30, Choices(interests=frozenset(Interest)), at=long_ago)
    windows_only = Choices(frozenset({"tfe"}), frozenset({Interest.WINDOWS}), Lang.DA)
    (tfe,) = add_subscribers(settings, 1, windows_only, at=long_ago, prefix="tfe")
    with store_of(settings) as store:
        seq = store.outbox_seq()
    upstream.load("t2")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t2", tmp_path / "s.toml")))
    assert main(["poll"]) == 0
    out = capsys.readouterr().out
    with store_of(settings) as store:
        changes = store.outbox_seq() - seq
        assert store.notification(seq + 1) is None  # delivered, and removed
    assert changes >= 3  # one record per change, whatever the number of subscribers
    assert f"notifications: {changes} delivered ({changes * 30 + 1} mails to subscribers)" in out
    per_address = recipients(inbox)
    assert len(per_address) == 31 and set(per_address.values()) == {changes, 1}
    assert per_address[tfe] == 1  # the one change naming tfe, a window
    assert main(["poll"]) == 0
    assert sum(recipients(inbox).values()) == changes * 30 + 1  # nothing new: nothing sent


class Relay(Inbox):
    """A local SMTP server that may refuse a recipient (once), take its time per message, or
    hold every message until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self.release = threading.Event()
        self.release.set()
        self.arrived = threading.Event()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        answer = self.refuse.pop(address, None)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay(filled_subscribed: Settings) -> Iterator[tuple[Relay, Settings]]:
    port = free_port()
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = replace(
        filled_subscribed,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="toldfeed@feeds.example.test",
        secret_key="a test key that signs every link of this test",
        notify_backoff_seconds=60.0,
    )
    yield handler, settings
    handler.release.set()
    controller.stop()


def test_a_refused_recipient_is_tried_again_and_holds_back_nobody(
    relay: tuple[Relay, Settings], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    handler, settings = relay
    full, gone, *others = add_subscribers(settings, 5)
    handler.refuse[full] = f"452 4.2.2 <{full}>: mailbox full"
    handler.refuse[gone] = f"550 5.1.1 <{gone}>: no such user"
    queue_change(settings, DISRUPTION)
    report = deliver(settings, clock)
    assert report.mails == 3 and report.pending == 1  # swept; one mail waits for its retry
    queue_change(settings, WINDOW)  # the next change is not held back by it
    assert deliver(settings, clock).mails == 5 and recipients(handler)[full] == 1
    clock.advance(61)
    report = deliver(settings, clock)
    assert report.mails == 1 and report.delivered == 1 and report.pending == 0
    assert recipients(handler) == Counter({full: 2, gone: 1, **{a: 2 for a in others}})
    with store_of(settings) as store:
        assert store.fanout(1) is None and store.outbox_state().pending == {}
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "mailbox full" in said and "no such user" in said and "@example.com" not in said


def test_a_fan_out_mail_that_cannot_be_written_is_given_up_and_holds_back_nobody(
    relay: tuple[Relay, Settings], clock: Clock
) -> None:
    handler, settings = relay
    others = add_subscribers(settings, 3)
    broken = "=?utf-8?b?.?=@example.com"  # the email package's parser trips on it
    with store_of(settings) as store:
        batch = Batch()
        sub = Subscription(
            store.subscriber_id(broken), broken, "n", T0, EVERYTHING, confirmed_at=T0
        )
        Store.stage_subscription(batch, sub)
        store.commit(batch)
    queue_change(settings, DISRUPTION)
    report = deliver(settings, clock)
    assert report.mails == 3 and report.pending == 0
    assert recipients(handler) == Counter(others)
    with store_of(settings) as store:
        assert store.fanout(1) is None and store.outbox_state().pending == {}


def test_a_fault_in_what_every_fan_out_mail_says_leaves_the_change_to_send(
    relay: tuple[Relay, Settings], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a mail says is everyone's: a fault there gives nobody up, the change stays to send
    (and goes once the fault is gone)."""
    import app.notify.fanout

    handler, settings = relay
    add_subscribers(settings, 3)
    composed = app.notify.fanout.words_for

    def broken(*args: Any, **kwargs: Any) -> Any:  # as an address the mail cannot carry would
        raise ValueError("a word the catalogue lacks")

    monkeypatch.setattr(app.notify.fanout, "words_for", broken)
    queue_change(settings, DISRUPTION)
    with pytest.raises(ValueError):  # the delivery pass fails, and says why in the log
        deliver(settings, clock)
    assert not handler.messages
    with store_of(settings) as store:
        assert store.outbox_state().pending  # nobody given up: the change is still to send
    monkeypatch.setattr(app.notify.fanout, "words_for", composed)
    clock.advance(3600)
    assert deliver(settings, clock).mails == 3 and len(handler.messages) == 3


def test_a_relay_that_is_down_loses_nothing_and_a_hung_one_delays_no_poll(
    relay: tuple[Relay, Settings], clock: Clock
) -> None:
    handler, settings = relay
    addresses = add_subscribers(settings, 20)
    down = replace(settings, smtp_url="smtp://127.0.0.1:9")  # nothing listens on the discard port
    queue_change(settings, DISRUPTION)
    report = deliver(down, clock)
    assert report.failed == 1 and report.pending == 1 and report.mails == 0
    with store_of(settings) as store:
        (note,) = [store.notification(n) for n in store.outbox_state().pending]
        assert note is not None and note.next_attempt_at == T0 + timedelta(seconds=60)
        assert "Connection refused" in (note.last_error or "")
    clock.advance(61)
    assert deliver(settings, clock).mails == 20 and set(recipients(handler)) == set(addresses)

    handler.release.clear()  # the relay now takes the mail and never answers
    queue_change(replace(settings), WINDOW, datetime.now(UTC))
    with Runtime.open(replace(settings, notify_timeout_seconds=WAIT)) as runtime:
        service = Service(runtime, clock=lambda: datetime.now(UTC))
        stop = service.start()
        try:
            assert handler.arrived.wait(WAIT)
            started, report, took = time.monotonic(), None, 0.0
            while report is None and time.monotonic() - started < 3 * WAIT:
                began = time.monotonic()
                report = service.poll_once(force=True)  # None while the poller thread polls
                took = time.monotonic() - began
            assert report is not None and took < WAIT / 2
        finally:
            handler.release.set()
            stop.set()


CHILD = """
import sys, time
from app.config import Settings
from app.runtime import Runtime
from app.service import Service

with Runtime.open(Settings.from_env()) as runtime:
    deliverer = Service(runtime).deliverer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = deliverer.deliver(wait_seconds=0.05)
        if not report.busy and report.pending == 0:
            break
    print("done", flush=True)
"""


def child_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(settings.data_dir),
        "TOLDFEED_SOURCES": str(settings.sources),
        "TOLDFEED_SYSTEMS": str(settings.systems),
        "TOLDFEED_BASE_URL": settings.base_url,
        "TOLDFEED_SUBSCRIPTIONS": "email",
        "TOLDFEED_SMTP_URL": settings.smtp_url,
        "TOLDFEED_SMTP_FROM": settings.smtp_from,
        "TOLDFEED_SECRET_KEY": settings.secret_key,
    }


def test_two_processes_delivering_at_once_send_each_mail_once(
    relay: tuple[Relay, Settings], forker: Forker
) -> None:
    handler, settings = relay
    addresses = add_subscribers(settings, 300)
    handler.delay = 0.002
    queue_change(settings, DISRUPTION, datetime.now(UTC))
    queue_change(settings, WINDOW, datetime.now(UTC))
    children = [
        forker.spawn(CHILD, env=child_env(settings), stdout=subprocess.PIPE) for _ in range(2)
    ]
    for child in children:
        out, _ = child.communicate(timeout=90)
        assert child.returncode == 0 and out == "done\n"
    assert recipients(handler) == Counter({a: 2 for a in addresses})


def test_sigkill_mid_fan_out_loses_nothing_and_repeats_at_most_one_mail(
    relay: tuple[Relay, Settings], forker: Forker
) -> None:
    handler, settings = relay
    addresses = add_subscribers(settings, 200)
    handler.delay = 0.01
    queue_change(settings, DISRUPTION, datetime.now(UTC))
    with forker.spawn(CHILD, env=child_env(settings)) as child:
        try:
            wait_for(lambda: len(handler.messages) >= 50, 30)
        finally:
            child.send_signal(signal.SIGKILL)
        assert child.wait(WAIT) == -signal.SIGKILL
    sent = len(handler.messages)
    assert sent < 200  # killed mid-way
    handler.delay = 0.0
    report = deliver(settings, lambda: datetime.now(UTC))
    got = recipients(handler)
    assert set(got) == set(addresses) and report.pending == 0
    assert sum(got.values()) - 200 <= 1  # only a mail the relay took as the kill fell


# --- privacy ----------------------------------------------------------------------------------


def test_no_address_in_documents_logs_metrics_or_health(
    on: Settings,
    web: Any,
    inbox: Inbox,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    own = confirmed_subscriber(web, inbox, "private.person@example.org")
    sign_up(web, "unconfirmed.person@example.org")
    sign_up(web, "not-an-address@")
    settled()
    queue_change(on, DISRUPTION, clock.now + timedelta(seconds=1))
    with Runtime.open(on) as runtime:
        service = Service(runtime, clock=lambda: clock.now + timedelta(seconds=2))
        assert service.deliverer.deliver().mails == 1
    caplog.set_level(logging.INFO)
    web.post(own, data={"system": ["emcs"], "what": ["windows"]}, headers=SAME_SITE)
    secrets = ("private.person", "unconfirmed.person", "not-an-address")
    assert any(
        "private.person" in r.getMessage() for r in caplog.records if r.name.startswith("toldfeed")
    )
    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the test's SMTP server's
    loud = [r.getMessage() for r in ours if r.levelno >= logging.INFO]
    assert loud and not [line for line in loud if any(s in line for s in secrets)]
    metrics = web.get("/metrics").data.decode()
    assert 'toldfeed_subscribers{state="confirmed"} 1.0' in metrics
    # who waits for confirmation is not public: signing an address up would tell whether it
    # was subscribed already (a confirmed one adds no waiting sign-up)
    assert "unconfirmed" not in metrics
    assert 'toldfeed_notifications_total{outcome="delivered",target="subscribers"} 1.0' in metrics
    health = web.get("/healthz").data.decode()
    assert json.loads(health)["notify"]["subscribers"]["delivered"] == 1
    assert main_with(on, "export", str(tmp_path / "site")) == 0
    for served in (
        metrics,
        health,
        *(p.read_text(errors="replace") for p in (tmp_path / "site").rglob("*") if p.is_file()),
    ):
        assert not any(s in served for s in secrets)
    assert all("@" not in urlsplit(m["List-Unsubscribe"].strip("<>")).path for m in inbox.messages)


# --- the operator's command -------------------------------------------------------------------


def test_a_subscription_kept_before_encoded_words_were_refused_can_be_removed(
    on: Settings, web: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.notify.signup

    kept = "=?utf-8?q?x?=@example.com"  # an address an earlier toldfeed took
    monkeypatch.setattr(app.notify.signup, "normalize_address", lambda text: text.strip())
    assert sign_up(web, kept).status_code == 200
    settled()
    monkeypatch.undo()
    assert subscription(on, kept) is not None
    assert main_with(on, "subscribers", "remove", "=?utf-8?q?x?=@Example.com") == 0
    assert subscription(on, kept) is None


def test_subscribers_count_list_remove_export(
    on: Settings, web: Any, inbox: Inbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    confirmed_subscriber(
        web, inbox, "one@example.com", system=["emcs", "ics2"], what=["digest"], lang="da"
    )
    sign_up(web, "two@example.com")
    settled()
    capsys.readouterr()
    assert main_with(on, "subscribers", "count") == 0
    assert capsys.readouterr().out == "1 confirmed, 1 waiting for confirmation\n"
    assert main_with(on, "subscribers", "list") == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert lines[0].startswith("one@example.com  confirmed 2026-05-20  da  emcs,ics2  digest")
    assert lines[1].startswith("two@example.com  waiting 2026-05-20  en  dms-transit  disruptions")
    assert main_with(on, "subscribers", "export", str(tmp_path / "s.json")) == 0
    exported = json.loads((tmp_path / "s.json").read_text())
    assert {e["address"] for e in exported} == {"one@example.com", "two@example.com"}
    assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o600
    assert main_with(on, "subscribers", "remove", "ONE@Example.com") == 0  # the domain's case
    assert main_with(on, "subscribers", "remove", "one@example.com") == 1
    assert subscription(on, "one@example.com") is None and subscription(on, "two@example.com")
    # a data directory without a store (a mistyped TOLDFEED_DATA_DIR) is said, not made
    elsewhere = replace(on, data_dir=tmp_path / "no-such-dir")
    capsys.readouterr()
    assert main_with(elsewhere, "subscribers", "count") == 3
    assert "no store in" in capsys.readouterr().err and not elsewhere.data_dir.exists()
