"""CPU time of one poll over every sample document (issue 2's speed aims).

Scenarios, each with an archive of 100 and of 10,000 stored incidents:
  * all changed: every document answers 200 with content new to the store;
  * all 304:     every document (5 sources + every detail page) answers 304.
The upstream runs in its own process; CPU time is this process's (all its threads).
Run: ``python bench/poll_bench.py`` (writes the figures to docs/benchmarks.md).
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.ingest.rules import merge_digest  # noqa: E402
from app.merge import derive_incident  # noqa: E402
from app.model import Lang, Observation, SourceKind, Status, Update  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.store import Batch, Store  # noqa: E402

REPEATS = 11


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill_archive(directory: Path, count: int) -> None:
    """Store ``count`` synthetic closed incidents (oids far from the samples')."""
    store = Store(directory)
    batch = Batch()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        oid = 1_000_000 + n
        at = t0 + timedelta(hours=n)
        obs = Observation(
            oid=oid,
            lang=Lang.EN,
            source_kind=SourceKind.PAGE,
            observed_at=at,
            link=f"https://info.skat.dk/data.aspx?lang=us&oid={oid}&x=read",
            title=f"Archived window {n}",
            ref=f"WO{n:013d}",
            refs=(f"WO{n:013d}",),
            systems=("dms-import", "manifest"),
            status=Status.CLOSED,
            created_at=at,
            last_updated_at=at,
            message_html=f"<p>Window {n}</p><p>Update 10:00 - done</p>",
            message_text=f"Window {n}\nUpdate 10:00 - done",
            updates=(Update("Update 10:00 - done", Lang.EN, at=at),),
        )
        Store.stage_observations(batch, oid, [obs])
        Store.stage_ref(batch, f"WO{n:013d}", [oid])
        Store.stage_incident(batch, derive_incident([obs]))
    Store.stage_generation(batch, 1, count)
    Store.stage_merge_rules(batch, merge_digest())  # derived by the running rules
    store.commit(batch)
    store.close()


def sources_file(directory: Path, port: int) -> Path:
    info, rss = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    path = directory / "sources.toml"
    entries = [
        ("page", f"{info}/data.aspx?lang=us&oid=2367397", "en"),
        ("page", f"{info}/data.aspx?oid=2367397", "da"),
        ("page", f"{info}/data.aspx?lang=us&oid=54316", "en"),
        (
            "page",
            f"{info}/data.aspx?oid=54316&segment=Manifest&type=servicevindue"
            f"&p0=scheduled%20unavailability&via=54315&lang=us",
            "en",
        ),
        ("rss", f"{rss}/rss.aspx?oid=2367397", "en"),
    ]
    path.write_text(
        "".join(f'[[source]]\nkind="{k}"\nurl="{u}"\nlang="{lang}"\n\n' for k, u, lang in entries)
    )
    return path


def timed_poll(settings: Settings, now: datetime) -> tuple[float, int]:
    with Runtime.open(settings) as runtime:
        started = time.process_time()
        report = runtime.poll(now)
        cpu = time.process_time() - started
    assert report.ok, report
    return cpu * 1000, report.details_fetched + report.details_not_modified


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(port), "t3"]
    )
    time.sleep(0.8)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            sources = sources_file(base, port)
            now = datetime(2026, 5, 20, 7, 30, tzinfo=UTC)
            for archive in (100, 10_000):
                seed = base / f"seed{archive}"
                fill_archive(seed, archive)
                changed, unchanged = [], []
                for i in range(REPEATS):
                    data = base / f"run{archive}-{i}"
                    shutil.copytree(seed, data)
                    settings = Settings.from_env(
                        {},
                        data_dir=data,
                        sources=sources,
                        systems=ROOT / "feeds" / "systems.toml",
                        detail_refresh_seconds=0,
                    )
                    cpu, details = timed_poll(settings, now)
                    changed.append(cpu)
                    cpu304, details304 = timed_poll(settings, now + timedelta(minutes=5))
                    unchanged.append(cpu304)
                    shutil.rmtree(data)
                rows.append(
                    (
                        archive,
                        statistics.median(changed),
                        statistics.median(unchanged),
                        details,
                        details304,
                    )
                )
    finally:
        server.terminate()
    lines = [
        "| archive | all changed (CPU ms) | all 304 (CPU ms) | detail pages requested |",
        "|---:|---:|---:|---:|",
    ]
    for archive, changed_ms, unchanged_ms, details, details304 in rows:
        lines.append(
            f"| {archive:,} | {changed_ms:.1f} | {unchanged_ms:.1f} | {details} / {details304} |"
        )
    ratio_c = rows[1][1] / rows[0][1]
    ratio_u = rows[1][2] / rows[0][2]
    lines.append("")
    lines.append(
        f"Ratio 10,000 / 100 archived: all changed {ratio_c:.2f}x, all 304 {ratio_u:.2f}x."
    )
    table = "\n".join(lines)
    print(table)
    write_section(
        "Poll CPU time",
        table,
        f"medians of {REPEATS} runs; warm, in-process: `poll_once` in one long-lived process "
        "with its runtime built before the timer, **not what cron runs** (that is the next "
        "section)",
    )


def machine_speed() -> float:
    """CPU seconds of 20 million additions in a Python loop: how fast this machine runs at the
    moment (it shares its host, and its speed moves by half from one hour to the next), written
    beside figures so that runs at different moments can be compared."""
    started, total = time.process_time(), 0
    for i in range(20_000_000):
        total += i
    return time.process_time() - started


def write_section(title: str, body: str, note: str = "") -> None:
    """Replace (or add) one ``## title`` section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    header = f"## {title}"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    stamp = f"_Measured {when} on this machine (2 cores){'; ' + note if note else ''}._"
    section = f"{header}\n\n{stamp}\n\n{body}\n\n"
    if header in text:
        start = text.index(header)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
