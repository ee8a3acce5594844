"""Nothing is lost: SIGKILL during polls, and readers during polls always get whole feeds.

Both tests are bounded by work, not by wall time: a poll is killed once it has made a chosen
number of upstream requests or store commits, and readers are made to read during and after
every poll. Each poll finds one more update line upstream, so every poll has real writes to do.
"""

from __future__ import annotations

import itertools
import os
import random
import select
import signal
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace

import feedparser
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.runtime import Runtime
from app.service import Service
from tests.conftest import Upstream, local_http, store_of
from tests.processes import Forker

pytestmark = pytest.mark.slow

KILLS = 30
PAGE = "/data.aspx?lang=us&oid=2367397"
ROW = b"<p>INC000001822307</p>"
KEY = "INC000001822307"
WAIT = 30.0  # seconds; only reached when something is broken
GAP = 0.0005  # seconds between two looks at a running poll

# one `toldfeed poll`, a process of its own (forked: tests/processes.py)
POLL = "import sys, app.cli; sys.exit(app.cli.main(['poll']))"


def update_line(n: int) -> str:
    return f"Update 09:{n:02d} - still monitoring."


def grow(upstream: Upstream, original: bytes, lines: int) -> None:
    """The list row of KEY carries ``lines`` update lines, as if upstream added one per poll."""
    extra = "".join(f"<p>{update_line(n)}</p>" for n in range(lines)).encode()
    upstream.documents[PAGE] = original.replace(ROW, extra + ROW, 1)


def _keys_and_observations(settings) -> tuple[set[str], dict[int, int]]:
    with store_of(settings) as store:
        keys = {i.key for i in store.iter_incidents()}
        counts = {
            oid: len(store.observations(oid)) for i in store.iter_incidents() for oid in i.oids
        }
    return keys, counts


def spin_until(done: Callable[[], bool], pidfd: int) -> bool:
    """Call ``done`` until it holds (True) or the poll process has ended (False).

    Between calls it waits on the process for up to ``GAP``: a busy loop would take the CPU
    (and this process's upstream server the GIL) from the poll it watches.
    """
    while not done():
        if select.select([pidfd], [], [], GAP)[0]:
            return False
    return True


def poll_killed_at(
    forker: Forker,
    env: dict[str, str],
    upstream: Upstream,
    db: sqlite3.Connection,
    point: tuple,
) -> tuple[int, int]:
    """Start one poll and SIGKILL it at ``point``; return (exit status, requests it made).

    ``("request", n)``: the poll's n-th upstream request is held unanswered until the poll is
    dead, so it dies mid-fetch. ``("commit", 1)``: it dies as soon as the store shows a commit
    after its first request, i.e. once its findings are written: between that commit and the
    health one, or while it renders documents. (Later commits come too close to the end of
    the poll to be caught alive.) ``("none", 0)``: not killed.
    """
    what, n = point
    hold_from = {"request": n, "commit": 1}.get(what)  # the first request held unanswered
    lock = threading.Lock()
    seen = itertools.count(1)
    made = [0]
    opened, reached, release = threading.Event(), threading.Event(), threading.Event()

    def on_request(key: str) -> None:
        opened.wait(WAIT)  # until the test holds a handle on the poll's process
        with lock:
            made[0] = count = next(seen)
        if hold_from is not None and count >= hold_from:
            reached.set()
            release.wait(WAIT)

    def committed() -> bool:
        nonlocal last, commits
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != last:
            commits, last = commits + 1, version
        return commits >= n

    upstream.on_request = on_request
    poll = forker.spawn(POLL, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # its pidfd names the process for good; the poll cannot end before its requests are answered
    opened.set()
    try:
        if hold_from is not None:
            assert spin_until(lambda: reached.wait(0.002), poll.pidfd), f"{point}: ended first"
        if what == "commit":
            # counted from the poll's first request: its earlier commits are not its findings
            commits, last = 0, db.execute("PRAGMA data_version").fetchone()[0]
            release.set()
            assert spin_until(committed, poll.pidfd), f"{point}: poll ended first"
        if hold_from is not None:
            poll.kill()
        status = poll.wait(WAIT)
    finally:
        release.set()  # held answers go to a dead poll
        upstream.on_request = None
    return status, made[0]


def test_sigkill_at_random_points_of_a_poll_loses_nothing(
    filled, upstream: Upstream, forker: Forker
) -> None:
    env = {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(filled.data_dir),
        "TOLDFEED_SOURCES": str(filled.sources),
        "TOLDFEED_SYSTEMS": str(filled.systems),
        "TOLDFEED_DETAIL_REFRESH_SECONDS": "0",  # every poll re-reads every detail page
        "TOLDFEED_BASE_URL": filled.base_url,
    }
    (database,) = filled.data_dir.rglob("*.db")  # the store's SQLite file, watched for commits
    original = upstream.documents[PAGE]
    rnd = random.Random(20260520)
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        grow(upstream, original, 1)
        status, requests = poll_killed_at(forker, env, upstream, db, ("none", 0))
        assert status == 0  # a whole poll, measured
        keys, counts = _keys_and_observations(filled)
        for attempt in range(KILLS):
            grow(upstream, original, 2 + attempt)  # one more line each time: real writes
            point = ("request", rnd.randint(1, requests)) if attempt % 2 else ("commit", 1)
            status, _ = poll_killed_at(forker, env, upstream, db, point)
            assert status == -signal.SIGKILL, point
            now_keys, now_counts = _keys_and_observations(filled)  # readable after every kill
            assert keys <= now_keys
            assert all(now_counts.get(oid, 0) >= n for oid, n in counts.items())
            keys, counts = now_keys, now_counts
        status, _ = poll_killed_at(forker, env, upstream, db, ("none", 0))  # the next whole poll
        assert status == 0
    assert _keys_and_observations(filled)[0] >= keys
    with Runtime.open(filled) as runtime:
        incident = runtime.store.incident(KEY)
    assert incident is not None
    stored = " ".join(u.text for u in incident.updates)
    assert all(update_line(n) in stored for n in range(KILLS + 1))  # the next poll redid it all


def test_eight_readers_during_polls_always_get_complete_valid_feeds(
    filled, upstream: Upstream
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = replace(filled, base_url=f"http://127.0.0.1:{port}", detail_refresh_seconds=0)
    app = create_app(settings, poll=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    stop = threading.Event()
    problems: list[str] = []
    urls = [
        "/feeds/all.atom",
        "/feeds/system/dms-transit.rss",
        "/da/feeds/status/closed.atom",
        "/feeds/all.json",
        "/feeds/system/manifest.atom?status=scheduled",
        "/",
        "/api/incidents.json",
        "/feeds/all.atom?limit=5",
    ]
    reads = [0] * len(urls)
    progress = threading.Condition()
    whole: set[bytes] = set()  # feeds found complete: the same bytes again need no parsing

    def complete_feed(body: bytes) -> bool:
        if body not in whole:
            parsed = feedparser.parse(body)
            if parsed.bozo or not parsed.entries:
                return False
            whole.add(body)
        return True

    def reader(index: int, path: str) -> None:
        with local_http(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while not stop.is_set():
                response = client.get(path)
                if response.status_code != 200:
                    problems.append(f"{path}: {response.status_code}")
                elif ".atom" in path or ".rss" in path:
                    if not complete_feed(response.content):
                        problems.append(f"{path}: incomplete feed")
                elif path.endswith(".json"):
                    response.json()
                elif not response.text.rstrip().endswith("</html>"):
                    problems.append(f"{path}: incomplete page")
                with progress:
                    reads[index] += 1
                    progress.notify_all()

    def every_reader_reads(times: int) -> None:
        """Wait until each reader has finished ``times`` more reads."""
        with progress:
            goal = [n + times for n in reads]
            if not progress.wait_for(lambda: all(map(int.__ge__, reads, goal)), timeout=WAIT):
                problems.append(f"readers stalled at {reads}")

    gate = threading.Lock()
    held = [False]

    def hold_first_request(key: str) -> None:
        # the poll waits, mid-fetch, until every reader has read twice while it is under way
        with gate:
            if not held[0]:
                held[0] = True
                every_reader_reads(2)

    polls = 3
    threads = [threading.Thread(target=reader, args=item) for item in enumerate(urls)]
    for t in threads:
        t.start()
    try:
        upstream.on_request = hold_first_request
        original = upstream.documents[PAGE]
        with Runtime.open(settings) as runtime:
            service = Service(runtime)
            for n in range(polls):
                grow(upstream, original, n + 1)  # the store and every feed really change
                held[0] = False
                report = service.poll_once(force=True)
                assert report is not None and report.changed_keys
                every_reader_reads(1)  # and each reader reads again once it is over
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=WAIT)
        server.shutdown()
        server.server_close()
    assert sum(reads) > 50 and min(reads) >= 3 * polls
    assert problems == []
