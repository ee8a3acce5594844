"""Subscribing by e-mail in a real headless Chromium, 320 px wide, no JavaScript: the form on a
system's page, the confirmation link from the mail (a real local SMTP server), Confirm, the
subscriber's own page, Save, Unsubscribe.

Uses the ``page`` fixture and ``serving`` of tests/test_browser.py (skipped the same way when
no Chromium is installed).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from app.config import Settings
from tests.receivers import Inbox
from tests.test_browser import browser, page, serving  # noqa: F401  (fixtures)
from tests.test_subscriptions import subscription, text_of, wait_for

ADDRESS = "clerk@customs.example"


def fits(page) -> None:  # noqa: F811
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("script").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
def test_subscribe_confirm_change_and_unsubscribe_in_a_browser(
    filled: Settings,
    smtp: tuple[Inbox, int],
    page,  # noqa: F811
) -> None:
    inbox, port = smtp
    settings = replace(
        filled,
        subscriptions="email",
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="toldfeed@feeds.example.test",
    )
    page.set_viewport_size({"width": 320, "height": 640})
    with serving(settings) as base:
        page.goto(f"{base}/systems/dms-transit")
        fits(page)
        form = page.locator("form.mailform")
        ticked = form.locator("input[name=system]:checked")
        assert ticked.count() == 1 and ticked.get_attribute("value") == "dms-transit"
        form.locator("input[name=address]").fill(ADDRESS)
        form.locator("input[value=remind-24h]").check()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Check your mail"
        fits(page)

        wait_for(lambda: len(inbox.messages) == 1)
        confirm = next(
            line for line in text_of(inbox.messages[0]).split() if "/subscription/confirm" in line
        )
        assert urlsplit(confirm).netloc == urlsplit(base).netloc
        page.goto(confirm)  # what a link scanner does too: nothing happens yet
        fits(page)
        sub = subscription(settings, ADDRESS)
        assert sub is not None and not sub.confirmed
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Subscription confirmed"
        sub = subscription(settings, ADDRESS)
        assert sub is not None and sub.choices is not None
        assert sub.choices.systems == {"dms-transit"}
        assert {i.value for i in sub.choices.interests} == {"disruptions", "windows", "remind-24h"}

        page.get_by_role("link", name="Your subscription").click()
        page.wait_for_load_state()
        fits(page)
        assert ADDRESS in page.locator("main").inner_text()
        page.locator("input[name=system][value=dms-transit]").uncheck()
        page.locator("input[name=system][value=emcs]").check()
        page.locator("input[name=lang][value=da]").check()
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert "Gemt." in page.locator("main").inner_text()  # the page now speaks Danish
        sub = subscription(settings, ADDRESS)
        assert sub is not None and sub.choices is not None and sub.choices.systems == {"emcs"}

        page.get_by_role("button", name="Afmeld").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Afmeldt"
        fits(page)
        assert subscription(settings, ADDRESS) is None
