"""The index page and the embed fragment in a real headless Chromium (system package).

Skipped when no Chromium is installed, except in CI (CI=true), where .ci/run installs it and
a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from werkzeug import Response
from werkzeug.serving import make_server

from tests.conftest import Upstream, local_http

# the headless shell when installed (Blink without the browser's window code: a third less CPU
# for the same pages), else the whole browser
CHROMIUM = next(
    filter(None, map(shutil.which, ["chromium-headless-shell", "chromium", "chromium-browser"])),
    None,
)
if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("no chromium on this machine", allow_module_level=True)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serving(settings, listener: socket.socket | None = None) -> Iterator[str]:
    """The app on ``settings`` served on ``listener`` (default: a free local port); yields its
    base URL."""
    from app import create_app

    if listener is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    else:
        port = listener.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(replace(settings, base_url=base), poll=False)
    fd = None if listener is None else listener.fileno()
    server = make_server("127.0.0.1", port, app, threaded=True, fd=fd)
    # a short poll interval: shutdown() waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()  # with ``listener``, closes a duplicate: it keeps listening
        app.extensions["toldfeed"].runtime.close()


@pytest.fixture
def live(filled, live_data_dir: Path, live_listener: socket.socket) -> Iterator[str]:
    """The fixture store served on the run's live listener: a copy of ``live_data_dir``, its
    documents already rendered for that base URL (``filled`` and its upstream as ever)."""
    shutil.rmtree(filled.data_dir)
    shutil.copytree(live_data_dir, filled.data_dir)
    with serving(filled, live_listener) as base:
        yield base


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """One Chromium for the whole run; each test gets its own context (``page``).

    Other modules import these fixtures, and each import is a session fixture of its own: the
    first to run starts Chromium (Playwright's sync API allows one per thread) and keeps it on
    the run's config, where the others find it; being torn down last, it stops it. On workers
    (``-n``) every tests/test_browser*.py test goes to the same one (tests/conftest.py), so
    Chromium starts once per run rather than once per worker.
    """
    assert CHROMIUM, "CI must install chromium-headless-shell (or chromium)"
    running = getattr(request.config, "_toldfeed_browser", None)
    if running is not None:
        yield running
        return
    from playwright.sync_api import sync_playwright  # loaded by the worker that runs these

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        request.config._toldfeed_browser = browser  # type: ignore[attr-defined]
        yield browser
        request.config._toldfeed_browser = None  # type: ignore[attr-defined]
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in a fresh context (no cookies or cache shared between tests)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/da/"])
def test_index_renders_and_every_feed_link_answers(live: str, page, path: str) -> None:
    response = page.goto(live + path)
    assert response is not None and response.status == 200
    # the nine live systems with a state each; the legacy names and "other" apart, no state
    assert page.locator("#h-systems + ul > li").count() == 9
    assert page.locator('ul[aria-labelledby="h-apart"] > li').count() == 5
    assert page.locator('ul[aria-labelledby="h-apart"] .chip').count() == 0
    assert page.locator(".overall.s-disrupted").count() == 1
    links = page.eval_on_selector_all('link[rel="alternate"]', "els => els.map(e => e.href)")
    shown = page.eval_on_selector_all("#subscribe a[href]", "els => els.map(e => e.href)")
    feeds = {u for u in shown if u.endswith((".atom", ".rss", ".json"))}
    calendars = {u for u in shown if u.endswith(".ics")}
    assert len(links) == 54 and feeds <= set(links) and len(calendars) == 1 + 14
    with local_http() as http:
        for url in [*links, *sorted(set(shown))]:
            assert http.get(url).status_code == 200, url
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
def test_embed_renders_in_an_iframe_at_300px(live: str, page, upstream: Upstream) -> None:
    # an intranet portal on another origin (the local server's other host name) embedding it
    html = f'<html><body><iframe id="f" src="{live}/embed/dms-transit" width="300" height="320"></iframe></body></html>'
    upstream.overrides["/portal.html?"] = lambda r: Response(html, content_type="text/html")
    upstream.overrides["/favicon.ico?"] = lambda r: Response("", status=204)
    page.goto(f"{upstream.rss}/portal.html")  # returns once loaded, the iframe included
    body = page.frame_locator("#f").locator("body")
    frame_text = body.inner_text()
    width = body.evaluate("b => b.scrollWidth")
    height = body.evaluate("b => b.ownerDocument.scrollingElement.scrollHeight")
    assert "Ongoing disruption" in frame_text
    assert width <= 300
    assert height <= 320, "the embed scrolls at the size the docs give"
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
def test_the_state_line_of_a_store_with_nothing_open(closed_store, page) -> None:
    """The other fixture store: only closed incidents. The first line says all is well, in
    words and not by colour alone, in both languages."""
    with serving(closed_store) as base:
        for path, words in (("/", "All systems operational"), ("/da/", "Alle systemer er i drift")):
            response = page.goto(base + path)
            assert response is not None and response.status == 200
            line = page.locator(".overall.s-operational")
            assert line.count() == 1 and words in line.inner_text()
            assert "✓" in line.inner_text()  # a sign beside the colour
            assert page.locator(".chip.s-disrupted, .chip.s-maintenance").count() == 0
        assert page.errors == []  # type: ignore[attr-defined]
