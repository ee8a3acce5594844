"""Never silently stale, measured: a poll against a dripping source, health behind slow clients.

* Poll deadline: the samples' upstream (bench/serve_samples.py, own process) plus one RSS
  source that sends 10 bytes every 5 s forever; a poll with budgets of 5 s and 20 s. Reported:
  when the poll ended against its budget, and that the healthy sources were committed.
* Slow clients: ``toldfeed serve``'s server (waitress, app.web.server.make_server) on a filled
  store, 50 connections that send half a request and then nothing; then 50 requests each to
  ``/healthz`` and ``/feeds/all.atom``: median and worst latency.

Run: ``python bench/stale_bench.py`` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from app.web.server import make_server  # noqa: E402
from bench.poll_bench import free_port, sources_file, write_section  # noqa: E402


def dripping_server(port: int) -> ThreadingHTTPServer:
    """An RSS source that never finishes its body: 10 bytes every 5 s."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            try:
                self.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel>")
                while True:
                    time.sleep(5)
                    self.wfile.write(b"<!-- .. -->")
                    self.wfile.flush()
            except OSError:
                return

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    port, drip_port = free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(port), "t3"]
    )
    drip = dripping_server(drip_port)
    time.sleep(0.8)
    lines = [
        "| poll budget | poll ended after | dripping source | other sources |",
        "|---:|---:|---|---|",
    ]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            sources = sources_file(base, port)
            text = sources.read_text().replace(
                f"http://localhost:{port}/rss.aspx?oid=2367397",
                f"http://localhost:{drip_port}/rss.aspx?oid=2367397",
            )
            sources.write_text(text)
            settings = Settings.from_env(
                {},
                data_dir=base / "data",
                sources=sources,
                systems=ROOT / "feeds" / "systems.toml",
                retries=0,
            )
            for budget in (5.0, 20.0):
                with Runtime.open(replace(settings, poll_budget_seconds=budget)) as runtime:
                    started = time.monotonic()
                    report = Service(runtime).poll_once(force=True)
                    took = time.monotonic() - started
                assert report is not None
                rss = next(s for s in report.sources if s.kind == "rss")
                others = [s for s in report.sources if s.kind != "rss"]
                ok = sum(1 for s in others if s.outcome != "failed")
                lines.append(
                    f"| {budget:.0f} s | {took:.1f} s | {rss.outcome}: {rss.error} | "
                    f"{ok} of {len(others)} read and committed |"
                )
            # slow clients against the served app
            app = create_app(replace(settings, poll_on_serve=False), poll=False)
            server = make_server(app, "127.0.0.1", 0)
            serve_port = server.effective_port
            threading.Thread(target=server.run, daemon=True).start()
            slow = []
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", serve_port))
                s.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                slow.append(s)
            timings: dict[str, list[float]] = {"/healthz": [], "/feeds/all.atom": []}
            with httpx.Client(timeout=10) as http:
                for _ in range(50):
                    for path, found in timings.items():
                        t0 = time.perf_counter()
                        http.get(f"http://127.0.0.1:{serve_port}{path}")
                        found.append((time.perf_counter() - t0) * 1000)
            for s in slow:
                s.close()
            server.close()
    finally:
        upstream.terminate()
        drip.shutdown()
    lines += [
        "",
        "Behind 50 connections that sent half a request and then nothing (waitress, "
        "`toldfeed serve`'s server), 50 requests each:",
        "",
        "| path | median | worst |",
        "|---|---:|---:|",
    ]
    for path, found in timings.items():
        lines.append(f"| `{path}` | {statistics.median(found):.1f} ms | {max(found):.1f} ms |")
    table = "\n".join(lines)
    print(table)
    write_section("Never silently stale", table, f"{datetime.now(UTC):%Y-%m-%d}")


if __name__ == "__main__":
    main()
