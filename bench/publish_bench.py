"""CPU time of a poll in which one incident changed, by archive size (issue 7's aims).

The upstream (bench/serve_samples.py, its own process) serves the t3 snapshot; every call of
``/__bump`` appends one update line to one detail page. Each measured poll re-reads every
detail page conditionally (24 answer 304, the bumped one 200), merges, and re-renders what the
change can affect. Archives of 100, 2,000 and 10,000 synthetic closed incidents sit beside the
samples. Also measured: a poll where everything answers 304, and ``toldfeed export`` of the
10,000 archive. CPU time is this process's (all its threads); medians of REPEATS polls.
Run: ``python bench/publish_bench.py`` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli.export import export_all  # noqa: E402
from app.config import Settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from bench.poll_bench import fill_archive, free_port, sources_file, write_section  # noqa: E402

REPEATS = 9
ARCHIVES = (100, 2_000, 10_000)


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(port), "t3", "bump"]
    )
    time.sleep(0.8)
    rows = []
    export_row = ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            sources = sources_file(base, port)
            for archive in ARCHIVES:
                data = base / f"data{archive}"
                fill_archive(data, archive)
                settings = Settings.from_env(
                    {},
                    data_dir=data,
                    sources=sources,
                    systems=ROOT / "feeds" / "systems.toml",
                    detail_refresh_seconds=0,
                )
                clock = [datetime(2026, 5, 20, 7, 30, tzinfo=UTC)]
                changed, unchanged, written = [], [], []
                with Runtime.open(settings) as runtime:
                    service = Service(runtime, clock=lambda clock=clock: clock[0])
                    service.ensure_published()
                    service.poll_once(force=True)  # the samples themselves: everything new
                    for _ in range(REPEATS):
                        clock[0] += timedelta(minutes=5)
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/__bump").read()
                        started = time.process_time()
                        report = service.poll_once(force=True)
                        changed.append((time.process_time() - started) * 1000)
                        assert report is not None and len(report.changed_keys) == 1, report
                        written.append(service.last_published)
                        clock[0] += timedelta(minutes=5)
                        started = time.process_time()
                        report = service.poll_once(force=True)
                        unchanged.append((time.process_time() - started) * 1000)
                        assert report is not None and not report.changed_keys
                rows.append(
                    (
                        archive,
                        statistics.median(changed),
                        statistics.median(unchanged),
                        statistics.median(written),
                    )
                )
                if archive == ARCHIVES[-1]:
                    started, cpu = time.perf_counter(), time.process_time()
                    count = export_all(settings, base / "export")
                    export_row = (
                        f"`toldfeed export` of the {archive:,} archive: {count} documents in "
                        f"{time.perf_counter() - started:.2f} s wall, "
                        f"{time.process_time() - cpu:.2f} s CPU."
                    )
    finally:
        server.terminate()
    lines = [
        "| archive | one incident changed (CPU ms) | nothing changed, all 304 (CPU ms) "
        "| documents rewritten |",
        "|---:|---:|---:|---:|",
    ]
    for archive, changed_ms, unchanged_ms, written_n in rows:
        lines.append(f"| {archive:,} | {changed_ms:.1f} | {unchanged_ms:.1f} | {written_n:.0f} |")
    first = rows[0][1]
    ratios = ", ".join(f"{r[0]:,}: {r[1] / first:.2f}x" for r in rows[1:])
    lines += ["", f"One-changed poll relative to the 100 archive: {ratios}.", "", export_row]
    table = "\n".join(lines)
    print(table)
    write_section(
        "One changed incident, by archive size",
        table,
        f"medians of {REPEATS} polls in this process, one runtime per archive: warm, **not what "
        "cron runs** (see `toldfeed poll` as cron runs it)",
    )


if __name__ == "__main__":
    main()
