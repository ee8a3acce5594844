"""Figures over 10,000 incidents: /api/stats.json and every system's 90-day strip, CPU time.

The same incidents as tests/test_stats.py's order test (disruptions and windows over 400 days,
one to three systems each). Run: ``python bench/stats_bench.py`` (writes its section of
docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.render.stats import render_stats_api  # noqa: E402
from app.site.stats import daily_strip  # noqa: E402
from bench.poll_bench import write_section  # noqa: E402
from tests.test_stats import CATALOGUE, NOW, ten_thousand  # noqa: E402

REPEATS = 7


def main() -> None:
    incidents = ten_thousand()
    runs = []
    for _ in range(REPEATS):
        started = time.process_time()
        render_stats_api(CATALOGUE, incidents, NOW)
        for slug in CATALOGUE.slugs:
            daily_strip(incidents, slug, NOW)
        runs.append((time.process_time() - started) * 1000)
    body = (
        f"`/api/stats.json` and the 90-day strip of each of the {len(CATALOGUE.slugs)} systems "
        f"from 10,000 incidents, worked out from scratch (the archive keeps them between "
        f"polls): median {statistics.median(runs):.0f} ms CPU "
        f"({min(runs):.0f}-{max(runs):.0f} ms over {REPEATS} runs); aim: well under a second."
    )
    print(body)
    write_section("Figures over 10,000 incidents", body)


if __name__ == "__main__":
    main()
