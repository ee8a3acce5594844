"""CPU time of a pass over the clock (reminders, window events, digests: ``app.notify``) with
1,000 service windows on the calendar and 20 targets.

* The pass that finds nothing due: what ``toldfeed serve``'s poller does every minute between
  moments (the store's generation read to follow it, the kept schedule bisected, the moments
  due at this time, all already queued, filtered). Median and 95th percentile of 500 passes.
* The first pass after a change (a poll moved one window): what the poll's change costs the
  clock once (the moved window recorded as known, the schedule built again).
* The first pass of a process: the archive loaded, every window recorded as known, the
  schedule built, what is due queued.

Run: ``python bench/clock_bench.py`` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.model import Incident, Kind, Lang, Status, Update, Window  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from app.store import Batch, Store  # noqa: E402
from bench.poll_bench import write_section  # noqa: E402

WINDOWS, TARGETS, PASSES = 1_000, 20, 500
NOW = datetime(2026, 6, 1, 9, 30, 20, tzinfo=UTC)  # 11:30 Danish time: digests sent at 07:00
SYSTEMS = ("dms-import", "dms-export", "dms-transit", "manifest", "ics2", "emcs")


def window(n: int, start: datetime) -> Incident:
    """Service window number ``n``: five hours from ``start``."""
    key = f"WO{1_600_000_000 + n}"
    at = NOW - timedelta(days=2)
    text = "Files sent to DMS Import/DMS Export are rejected during the service window."
    return Incident(
        key=key,
        refs=(key,),
        oids=(n,),
        oid=n,
        links={"en": f"https://info.skat.dk/data.aspx?oid={n}"},
        title={"en": f"Service window {n}"},
        message_html={"en": f"<p>{text}</p>"},
        message_text={"en": text},
        systems=(SYSTEMS[n % len(SYSTEMS)], SYSTEMS[(n + 1) % len(SYSTEMS)]),
        unknown_systems=(),
        status=Status.SCHEDULED,
        kind=Kind.SCHEDULED,
        published_at=at,
        updated_at=at,
        upstream_updated_at=at,
        updates=(Update("Planned", Lang.EN, at=at),),
        window=Window(start, start + timedelta(hours=5)),
    )


def calendar() -> list[Incident]:
    """1,000 windows from an hour ago to about a year ahead (three a day, in the evening)."""
    first = NOW.replace(hour=16, minute=0, second=0) - timedelta(days=1)
    return [window(n, first + timedelta(days=n // 3, hours=2 * (n % 3))) for n in range(WINDOWS)]


def targets_file(path: Path) -> Path:
    """20 webhook targets (never called: nothing is delivered here) with every choice."""
    blocks = []
    for n in range(TARGETS):
        choices = ['remind = ["24h", "1h"]', "window_events = true"]
        if n % 2:
            choices.append('digest = "07:00"')
        if n % 4 == 3:
            choices = ['remind = ["90m"]', f'systems = ["{SYSTEMS[n % len(SYSTEMS)]}"]']
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        blocks.append(
            f'[[target]]\nname = "t{n}"\nkind = "webhook"\nurl = "http://127.0.0.1:9/"\n'
            f'secret = "{secret}"\n' + "\n".join(choices)
        )
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def fill(settings: Settings, incidents: list[Incident]) -> None:
    store = Store.open(settings.data_dir)
    try:
        batch = Batch()
        for incident in incidents:
            Store.stage_incident(batch, incident)
        generation = store.generation() + 1
        count = max(store.incident_count(), len(incidents))
        Store.stage_generation(batch, generation, count)
        store.commit(batch)
    finally:
        store.close()


def cpu_ms(step: object) -> float:
    began = time.process_time()
    step()  # type: ignore[operator]
    return (time.process_time() - began) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        settings = Settings.from_env(
            {},
            data_dir=base / "data",
            notify=str(targets_file(base / "notify.toml")),
            base_url="http://feeds.example.test",
        )
        windows = calendar()
        fill(settings, windows)
        with Runtime.open(settings) as runtime:
            now = [NOW - timedelta(days=2)]  # the windows are first seen two days ahead
            service = Service(runtime, clock=lambda: now[0])
            first = cpu_ms(service.look_at_the_clock)
            now[0] = NOW
            queued = len(service.look_at_the_clock())  # what is due now, queued once
            passes = []
            for _ in range(PASSES):
                now[0] += timedelta(seconds=1)
                began = time.process_time()
                found = service.look_at_the_clock()
                passes.append((time.process_time() - began) * 1000)
                assert found == [], found
            schedule = service.clockwork.view(
                service.publisher.archive,
                runtime.store.generation(),
                now[0],
                service.recipients(),
            ).schedule
            moved = windows[500]
            assert moved.window is not None
            later = replace(moved.window, start_at=moved.window.start_at + timedelta(hours=1))
            fill(settings, [replace(moved, window=later)])
            after_change = cpu_ms(service.look_at_the_clock)
    passes.sort()
    median = statistics.median(passes)
    p95 = passes[int(len(passes) * 0.95)]
    lines = [
        "| pass | CPU |",
        "|---|---:|",
        f"| nothing due (median of {PASSES}) | {median:.2f} ms |",
        f"| nothing due (95th percentile) | {p95:.2f} ms |",
        f"| the first after a poll moved one window | {after_change:.1f} ms |",
        f"| the first of a process (archive loaded, {WINDOWS:,} windows recorded) | {first:.0f} ms |",
    ]
    body = (
        f"{WINDOWS:,} service windows (three an evening for a year), {TARGETS} targets "
        f"(reminders 24 h and 1 h, window events, half with a digest; a quarter with one "
        f"90-minute reminder and one system); {len(schedule):,} moments on the schedule, "
        f"{queued} notifications due at the start and queued once, then {PASSES} passes a "
        f"second apart that find nothing new.\n\n" + "\n".join(lines)
    )
    print(body)
    write_section(
        "A pass over the clock",
        body,
        "aim (issue 19): the pass that finds nothing due under 5 ms CPU",
    )


if __name__ == "__main__":
    main()
