"""CPU time of deriving every stored incident again (the first poll after an upgrade that
changed the merge rules), with 1,000 and 10,000 archived incidents.

Run: ``python bench/remerge_bench.py`` (writes the figures to docs/benchmarks.md).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.ingest.remerge import remerge_if_needed  # noqa: E402
from app.store import Batch, Store  # noqa: E402
from bench.poll_bench import fill_archive, write_section  # noqa: E402


def timed_remerge(directory: Path) -> tuple[float, float, int, int]:
    """(CPU ms, wall ms, incidents, changed) of one re-derivation after the rules changed."""
    store = Store.open(directory)
    try:
        batch = Batch()
        Store.stage_merge_rules(batch, "the rules before the upgrade")
        store.commit(batch)
        cpu, wall = time.process_time(), time.perf_counter()
        done = remerge_if_needed(store)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert done is not None
        return cpu * 1000, wall * 1000, done.incidents, len(done.changed_keys)
    finally:
        store.close()


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for archive in (1_000, 10_000):
            data = Path(tmp) / f"a{archive}"
            fill_archive(data, archive)
            rows.append((archive, *timed_remerge(data)))
            shutil.rmtree(data)
    lines = [
        "| archive | CPU | wall | incidents derived | changed |",
        "|---:|---:|---:|---:|---:|",
    ]
    for archive, cpu, wall, incidents, changed in rows:
        lines.append(
            f"| {archive:,} | {cpu:,.0f} ms | {wall:,.0f} ms | {incidents:,} | {changed} |"
        )
    table = "\n".join(lines)
    print(table)
    write_section(
        "Deriving every incident again after an upgrade",
        table,
        "once per upgrade that changes the merge rules; the rules here are the same, so nothing "
        "changed and only the derivation and the comparison are measured",
    )


if __name__ == "__main__":
    main()
