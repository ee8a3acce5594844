"""Never silently stale: what running workers serve, clocks, poll deadlines, slow clients.

Each finding of the issue reproduced the way it was found, bounded in time, on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from werkzeug import Request, Response

from app import create_app
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store
from app.web.server import make_server
from tests.conftest import Upstream, local_http, polled_at

T3 = polled_at("t3")


def _fail_everything(upstream: Upstream) -> None:
    for path in list(upstream.documents):
        upstream.overrides[path] = lambda r: Response("down for maintenance", status=503)


def test_a_running_worker_shows_the_outage_without_restart(filled, upstream: Upstream) -> None:
    settings = replace(filled, blind_after_seconds=900, retries=0)
    app = create_app(settings, poll=False)
    state = app.extensions["toldfeed"]
    state.library.recheck = 0  # a worker re-reads the store's state at most this often
    client = app.test_client()
    assert "could not be read" not in client.get("/").get_data(as_text=True)
    green = client.get("/badge/manifest.svg").data
    assert b"Operational" in green
    _fail_everything(upstream)
    said = []
    for minutes in (10, 20):  # unreadable, then blind (blind after 15 minutes)
        service = Service(state.runtime, clock=lambda m=minutes: T3 + timedelta(minutes=m))
        report = service.poll_once(force=True)
        assert report is not None and not report.ok
        page = client.get("/").get_data(as_text=True)
        said.append(re.search(r"could not be read since ([^(<]+)", page).group(1))
    assert said[0] == said[1]  # the first failed read, before and after blindness alike
    # the same worker, no restart
    index = client.get("/").get_data(as_text=True)
    assert "could not be read since" in index
    embed = client.get("/embed/manifest").get_data(as_text=True)
    assert "could not be read since" in embed
    badge = client.get("/badge/manifest.svg").data
    assert b"Operational" not in badge and b"Unknown" in badge
    # the status page and the system pages: nothing green, the last known state in words
    assert "All systems operational" not in index and 'class="chip s-operational' not in index
    assert "State unknown: toldfeed cannot read" in index
    assert 'class="chip s-unknown"' in index and "Last known: Operational" in index
    system = client.get("/systems/manifest").get_data(as_text=True)
    assert 'class="chip s-operational' not in system
    assert 'class="chip s-unknown"' in system and "Last known: Operational" in system
    danish = client.get("/da/").get_data(as_text=True)
    assert "Alle systemer er i drift" not in danish and "Tilstand ukendt" in danish
    feed = feedparser.parse(client.get("/feeds/all.atom").data)
    assert feed.entries[0].title == "toldfeed cannot read the agency's status page"
    systems = json.loads(client.get("/api/systems.json").data)
    assert systems["readable"] is False


@pytest.mark.slow
def test_a_poll_stamped_in_the_future_does_not_stop_polling(filled, upstream: Upstream) -> None:
    tomorrow = T3 + timedelta(days=1)
    with Runtime.open(filled) as runtime:
        batch = Batch()
        Store.stage_poll_started_at(batch, tomorrow)  # a clock that was a day ahead
        runtime.store.commit(batch)
        report = Service(runtime, clock=lambda: T3 + timedelta(minutes=10)).poll_once()
        assert report is not None  # not skipped for a day
        # and health never reports fresh data from the future
        Service(runtime, clock=lambda: tomorrow).poll_once(force=True)
    app = create_app(filled, poll=False)
    from app.web.routes import health_report

    doc, status = health_report(app.extensions["toldfeed"], T3 + timedelta(minutes=20))
    # a success stamped "tomorrow" proves nothing now: not fresh, and said why
    assert doc["clock_suspect"] == tomorrow.isoformat()
    assert doc["last_success_at"] is None and status == 503
    # the next poll with the right clock is trusted again
    app.extensions["toldfeed"].service.clock = lambda: T3 + timedelta(minutes=21)
    assert app.extensions["toldfeed"].service.poll_once(force=True) is not None
    doc, status = health_report(app.extensions["toldfeed"], T3 + timedelta(minutes=22))
    assert status == 200 and doc["last_success_at"] == (T3 + timedelta(minutes=21)).isoformat()


@pytest.mark.slow
def test_the_poll_budget_is_a_deadline_even_for_a_dripping_body(filled, upstream: Upstream) -> None:
    rss = next(p for p in upstream.documents if "rss" in p)

    def drip(request: Request) -> Response:
        def body():
            yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
            for _ in range(60):  # 10 bytes every half second for half a minute
                time.sleep(0.5)
                yield b"<!-- .. -->"

        return Response(body(), status=200, content_type="application/rss+xml")

    upstream.overrides[rss] = drip
    settings = replace(filled, poll_budget_seconds=1.5, timeout_seconds=15, retries=0)
    with Runtime.open(settings) as runtime:
        started = time.monotonic()
        report = Service(runtime, clock=lambda: T3 + timedelta(minutes=10)).poll_once(force=True)
        took = time.monotonic() - started
    assert report is not None
    assert took < 1.5 + 2.5, f"poll took {took:.1f}s against a 1.5 s budget"
    by_kind = {s.url: s for s in report.sources}
    assert by_kind[next(u for u in by_kind if "rss" in u)].outcome == "failed"
    assert "budget" in (by_kind[next(u for u in by_kind if "rss" in u)].error or "")
    assert all(s.outcome != "failed" for u, s in by_kind.items() if "rss" not in u)


@pytest.mark.slow
def test_a_read_that_waits_almost_the_whole_timeout_still_ends_at_the_deadline(
    filled, upstream: Upstream
) -> None:
    """A byte every 1.9 s under a 2 s read timeout: each wait is legal, yet the body as a whole
    must end at the poll's deadline, not one read timeout after it."""
    rss = next(p for p in upstream.documents if "rss" in p)

    def drip(request: Request) -> Response:
        def body():
            yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
            for _ in range(20):
                time.sleep(1.9)
                yield b" "

        return Response(body(), status=200, content_type="application/rss+xml")

    upstream.overrides[rss] = drip
    settings = replace(filled, poll_budget_seconds=1.0, timeout_seconds=2, retries=0)
    with Runtime.open(settings) as runtime:
        started = time.monotonic()
        report = Service(runtime, clock=lambda: T3 + timedelta(minutes=10)).poll_once(force=True)
        took = time.monotonic() - started
    assert report is not None
    rss_report = next(s for s in report.sources if "rss" in s.url)
    assert rss_report.outcome == "failed" and "budget" in (rss_report.error or "")
    # (ending at the next byte after the deadline would take 1.9 s)
    assert took < 1.0 + 0.8, f"poll took {took:.1f}s against a 1 s budget"


def test_slow_clients_do_not_delay_health_or_feeds(filled) -> None:
    app = create_app(filled, poll=False)
    server = make_server(app, "127.0.0.1", 0)
    port = server.effective_port
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # its sockets closed under its loop: how it stops
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    slow: list[socket.socket] = []
    try:
        for _ in range(50):  # each sends half a request line and then nothing
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        with local_http(timeout=5) as http:
            for path in ("/healthz", "/feeds/all.atom", "/"):
                started = time.monotonic()
                response = http.get(f"http://127.0.0.1:{port}{path}")
                took = time.monotonic() - started
                assert response.status_code in {200, 503}, path
                assert took < 1.0, f"{path} took {took:.2f}s behind 50 slow clients"
    finally:
        for s in slow:
            s.close()
        stopping.set()
        server.close()
        thread.join(timeout=5)


def test_export_files_are_readable_by_a_web_server(filled, tmp_path: Path) -> None:
    from app.cli.export import export_all

    old = os.umask(0o077)  # a cron job's strict umask must not lock the web server out
    try:
        export_all(filled, tmp_path / "site")
    finally:
        os.umask(old)
    for path in [tmp_path / "site", *(tmp_path / "site").rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & stat.S_IROTH, f"{path} is {oct(mode)}"
        if path.is_dir():
            assert mode & stat.S_IXOTH, f"{path} is {oct(mode)}"
    for page in ("index.html", "embed/manifest.html", "da/embed/ics2.html"):
        text = (tmp_path / "site" / page).read_text(encoding="utf-8")
        assert 'http-equiv="Content-Security-Policy"' in text, page
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "/healthz" not in index  # nothing that exists only on the live server


@pytest.mark.slow
def test_poll_and_export_beside_serve_keep_its_base_url(filled, tmp_path: Path) -> None:
    # `toldfeed serve --port 8125` without TOLDFEED_BASE_URL publishes under its own address
    served = replace(filled, base_url="http://localhost:8125", base_url_set=True)
    create_app(served, poll=False).extensions["toldfeed"].runtime.close()
    # a `toldfeed poll` and `export` from cron beside it, TOLDFEED_BASE_URL unset
    beside = replace(filled, base_url="http://localhost:8000", base_url_set=False)
    with Runtime.open(beside) as runtime:
        assert runtime.settings.base_url == "http://localhost:8125"
        Service(runtime, clock=lambda: T3 + timedelta(minutes=10)).poll_once(force=True)
    from app.cli.export import export_all

    export_all(beside, tmp_path / "site")
    atom = (tmp_path / "site" / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert "http://localhost:8125/feeds/all.atom" in atom and "localhost:8000" not in atom


def test_export_of_an_empty_data_dir_says_so(
    make_settings, tmp_path: Path, capsys, monkeypatch
) -> None:
    from app.cli import main

    settings = make_settings()
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(settings.data_dir))
    assert main(["export", str(tmp_path / "site")]) == 1
    assert "nothing to export" in capsys.readouterr().err
    assert not (settings.data_dir / "store").exists()  # and no store was made to find that out


def test_a_publish_lost_after_its_poll_is_made_good_by_the_next_poll(
    filled, upstream: Upstream
) -> None:
    detail = next(p for p in upstream.documents if "oid=2461231" in p and "lang=us" in p)
    line = "<p>Update 09:45 - Transit declarations are processed normally again.</p>"
    marker = b'<div class="rteContent">'
    upstream.documents[detail] = upstream.documents[detail].replace(
        marker, marker + line.encode(), 1
    )
    settings = replace(filled, detail_refresh_seconds=0)
    with Runtime.open(settings) as runtime:
        # the poll commits its findings, then the process dies before publishing them
        runtime.poll(T3 + timedelta(minutes=10))
        # the next poll finds nothing new upstream
        report = Service(runtime, clock=lambda: T3 + timedelta(minutes=20)).poll_once(force=True)
        assert report is not None and not report.changed_keys
    feed = create_app(settings, poll=False).test_client().get("/feeds/all.atom")
    assert b"processed normally again" in feed.data


def test_last_modified_never_goes_back() -> None:
    from app.store.rendered import DocMeta, forward

    earlier = T3 - timedelta(days=1)
    old = DocMeta('"a"', "application/atom+xml", T3)
    # the newest entry left the feed: its date would go back a day
    assert forward(old, earlier) == T3 + timedelta(seconds=1)
    assert forward(old, T3 + timedelta(hours=1)) == T3 + timedelta(hours=1)
    assert forward(None, earlier) == earlier
