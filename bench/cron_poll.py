"""One `toldfeed poll` as cron runs it, with its imports done before the timer.

Run by bench/cron_bench.py as a fresh process per measured poll:

    python bench/cron_poll.py OUT.json [--modules LIST] [--probe | --load-only] [--profile STATS]

Settings come from the ``TOLDFEED_*`` environment, as for the console script; the clock is
``BENCH_CLOCK_AHEAD`` seconds ahead when that is set (bench/clock_shift.py). The driver
imports ``app.cli`` and every module named in LIST (the modules a poll loaded in a probe
process, in the order it loaded them), then times ``app.cli.main(["poll"])`` with
``time.process_time()`` (CPU of every thread of this process) from the call to its return,
and writes the CPU and wall time, the exit status and the modules imported inside the timer
(none, when LIST is complete) to OUT.json. ``--probe`` writes the names of every loaded module
instead; ``--load-only`` stops before the poll (what the process costs without it);
``--profile`` runs the poll under cProfile (its default, wall-clock timer, or with ``--cpu``
each thread's CPU time; one profiler per thread, merged) and dumps the stats to STATS.
Interpreter start and teardown are outside the timer (the parent counts them apart).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def preload(names: list[str]) -> list[str]:
    """Import each module; the names that would not import on their own."""
    failed = []
    for name in names:
        if name in sys.modules or name.startswith("__"):
            continue
        try:
            importlib.import_module(name)
        except Exception:
            failed.append(name)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--modules")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument(
        "--load-only", action="store_true", help="load the modules, then stop before the poll"
    )
    parser.add_argument("--profile")
    parser.add_argument(
        "--cpu", action="store_true", help="profile by each thread's CPU time, not the wall clock"
    )
    args = parser.parse_args()
    import app.cli
    from bench.clock_shift import shift_from_env

    shift_from_env()  # polls spaced as cron spaces them (bench/clock_shift.py)

    failed = preload(json.loads(Path(args.modules).read_text())) if args.modules else []
    if args.load_only:  # what the process costs up to the poll (bench/instructions.py)
        Path(args.out).write_text(json.dumps({"not_preloaded": failed}))
        return
    before = set(sys.modules)
    timer = (time.thread_time,) if args.cpu else ()
    profile = cProfile.Profile(*timer) if args.profile else None
    threads: list[cProfile.Profile] = []
    if profile is not None:

        def per_thread(*_: object) -> None:  # the first event in each new thread
            sys.setprofile(None)
            threads.append(cProfile.Profile(*timer))
            threads[-1].enable()

        threading.setprofile(per_thread)
    wall, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    try:
        status = app.cli.main(["poll"])
    except SystemExit as e:  # main returns its status; a SystemExit would be argparse's
        status = e.code if isinstance(e.code, int) else 1
    if profile is not None:
        profile.disable()
        threading.setprofile(None)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sys.stdout.flush()
    if profile is not None:
        stats = pstats.Stats(profile)
        for each in threads:
            stats.add(each)
        stats.dump_stats(args.profile)
    if args.probe:
        # real modules only (a Cython extension registers a shared helper without a spec)
        result: object = [n for n, m in sys.modules.items() if getattr(m, "__spec__", None)]
    else:
        result = {
            "cpu_ms": cpu * 1000,
            "wall_ms": wall * 1000,
            "status": status,
            "imported_in_timer": sorted(set(sys.modules) - before),
            "not_preloaded": failed,
        }
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
