"""Nothing is lost: SIGKILL during polls, and readers during polls always get whole feeds."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import feedparser
import httpx
from werkzeug.serving import make_server

from app import create_app
from app.runtime import Runtime
from app.service import Service
from tests.conftest import ROOT, Upstream

KILLS = 30


def _keys_and_observations(settings) -> tuple[set[str], dict[int, int]]:
    with Runtime.open(settings) as runtime:
        keys = {i.key for i in runtime.store.iter_incidents()}
        counts = {
            oid: len(runtime.store.observations(oid))
            for i in runtime.store.iter_incidents()
            for oid in i.oids
        }
    return keys, counts


def test_sigkill_at_random_moments_loses_nothing(
    filled, upstream: Upstream, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(filled.data_dir),
        "TOLDFEED_SOURCES": str(filled.sources),
        "TOLDFEED_SYSTEMS": str(filled.systems),
        "TOLDFEED_DETAIL_REFRESH_SECONDS": "0",  # every poll re-reads every detail page
        "TOLDFEED_BASE_URL": filled.base_url,
    }
    keys, counts = _keys_and_observations(filled)
    rnd = random.Random(20260520)
    snapshots = ["t1", "t2", "t3"]
    killed = 0
    for attempt in range(KILLS):
        upstream.load(snapshots[attempt % 3])  # content changes under the poller: real writes
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "poll"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rnd.uniform(0.05, 0.8))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        now_keys, now_counts = _keys_and_observations(filled)  # readable after every kill
        assert keys <= now_keys
        assert all(now_counts.get(oid, 0) >= n for oid, n in counts.items())
        keys, counts = now_keys, now_counts
    assert killed >= 20, f"only {killed} polls were killed mid-way; raise the delays"
    upstream.load("t3")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "poll"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _keys_and_observations(filled)[0] >= keys


def test_eight_readers_during_polls_always_get_complete_valid_feeds(
    filled, upstream: Upstream
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = replace(filled, base_url=f"http://127.0.0.1:{port}", detail_refresh_seconds=0)
    app = create_app(settings, poll=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    problems: list[str] = []
    served = [0]
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

    def reader(path: str) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while not stop.is_set():
                response = client.get(path)
                served[0] += 1
                if response.status_code != 200:
                    problems.append(f"{path}: {response.status_code}")
                    continue
                if ".atom" in path or ".rss" in path:
                    parsed = feedparser.parse(response.content)
                    if parsed.bozo or not parsed.entries:
                        problems.append(f"{path}: incomplete feed")
                elif path.endswith(".json"):
                    response.json()
                elif not response.text.rstrip().endswith("</html>"):
                    problems.append(f"{path}: incomplete page")

    threads = [threading.Thread(target=reader, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 12
        polls = 0
        upstream.load("t3")
        page = "/data.aspx?lang=us&oid=2367397"
        original = upstream.documents[page]
        with Runtime.open(settings) as runtime:
            service = Service(runtime)
            while time.monotonic() < deadline:
                # every poll finds a new update line: the store and every feed really change
                extra = f"<p>Update 09:{polls:02d} - still monitoring.</p><p>INC000001822307</p>"
                upstream.documents[page] = original.replace(
                    b"<p>INC000001822307</p>", extra.encode(), 1
                )
                report = service.poll_once(force=True)
                assert report is not None and report.changed_keys
                polls += 1
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
        server.shutdown()
    assert polls >= 2 and served[0] > 50
    assert problems == []
