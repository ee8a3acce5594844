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
from dataclasses import replace

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("no chromium on this machine", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live(filled) -> Iterator[str]:
    from app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(replace(filled, base_url=base), poll=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture
def page(tmp_path):
    assert CHROMIUM, "CI must install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        pg = context.new_page()
        pg.errors = []  # type: ignore[attr-defined]
        pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))  # type: ignore[attr-defined]
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
        yield pg
        browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/da/"])
def test_index_renders_and_every_feed_link_answers(live: str, page, path: str, tmp_path) -> None:
    response = page.goto(live + path)
    assert response is not None and response.status == 200
    assert page.locator("section.card h2").count() >= 14
    assert page.locator(".state-current").count() >= 1
    links = page.eval_on_selector_all('link[rel="alternate"]', "els => els.map(e => e.href)")
    shown = page.eval_on_selector_all(".urls code", "els => els.map(e => e.textContent)")
    assert len(links) == 54 and set(shown) <= set(links)
    with httpx.Client() as http:
        for url in links:
            assert http.get(url).status_code == 200, url
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
def test_embed_renders_in_an_iframe_at_300px(live: str, page) -> None:
    # an intranet portal on another origin (its own local server) embedding the fragment
    html = f'<html><body><iframe id="f" src="{live}/embed/dms-transit" width="300" height="320"></iframe></body></html>'
    portal = HTTPServer(host="localhost", port=0)
    portal.expect_request("/portal.html").respond_with_data(html, content_type="text/html")
    portal.expect_request("/favicon.ico").respond_with_data("", status=204)
    portal.start()
    try:
        page.goto(portal.url_for("/portal.html"))
        page.wait_for_timeout(300)
        frame_text = page.frame_locator("#f").locator("body").inner_text()
        width = page.frame_locator("#f").locator("body").evaluate("b => b.scrollWidth")
    finally:
        portal.stop()
    assert "Ongoing disruption" in frame_text
    assert width <= 300
    assert page.errors == []  # type: ignore[attr-defined]
