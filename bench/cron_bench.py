"""CPU time of `toldfeed poll` as cron runs it: a new process per poll (issues 2, 3 and 7).

Every measured poll is a fresh ``python bench/cron_poll.py`` process: it imports ``app.cli``
and every module a poll loads (the list comes from a probe poll), then times
``app.cli.main(["poll"])`` with ``time.process_time()`` (every thread of the process) from the
call to its return. So the figure holds everything a cron poll does once per process (opening
the store, building the URL map, the HTTP client and its TLS context, compiling templates,
rendering what a warm process would have cached) and no imports. Beside it, the *whole
process*: a plain ``toldfeed poll`` process (the console script's ``main``, nothing preloaded)
in the same scenario, its CPU from start to exit from the parent's rusage: what cron pays,
imports included (of modules compiled as an install has them: ``PYTHONDONTWRITEBYTECODE`` is
not passed on, and the app is compiled first).

Scenarios, each with 100, 2,000 and 10,000 archived incidents (synthetic, closed) beside the
samples, whose documents were all rendered before (``ensure_published``):

  * all 304:      every source and every detail page answers 304 (validators learned by the
                  polls before);
  * all changed:  every document answers 200 with content new to the store (a copy of the
                  archive that never saw the samples, as in poll_bench);
  * one changed:  one detail page gained a line (``/__bump``), the rest answer 304;
  * quiet, defaults: every source answers 304 with the default settings, 5 minutes after the
                  poll before, so no detail page is read but once an hour (each is read
                  again after ``TOLDFEED_DETAIL_REFRESH_SECONDS``, an hour): what the polls
                  of a cron user who changed nothing cost;
  * one changed, defaults: one incident gained a line on its list row and its detail page
                  (``/__bump?row``), with the default settings, 5 minutes after the poll
                  before: that list page is read and changes the incident (its detail page
                  is read when due, within the hour): what a cron user's poll costs when the
                  agency updates one message.

``TOLDFEED_DETAIL_REFRESH_SECONDS=0`` makes every poll of the first three scenarios re-read
every detail page (they say what each answers); ``toldfeed poll`` polls whatever the interval.
Those three follow each other within seconds, as the issue's own figures were taken; the two
with the defaults are spaced as cron spaces them, 5 minutes apart (one poll in 12 then finds
every detail page due again, an hour after it was read: such polls are measured apart, in the
row *defaults, detail pages due*), by moving the polls' clock
ahead (``bench/clock_shift.py``): between two such polls the time shown on the pages moves (the
index, embeds and ``/api/incidents.json`` show it to the minute) and an open disruption's hours
count up on its system's page.
The upstream (bench/serve_samples.py) runs in its own process on 127.0.0.1.

Beside each figure: the same poll warm and in-process, ``Service.poll_once(force=True)`` in
this process after a first poll (what publish_bench and poll_bench measure; not what cron runs).

Run: ``python bench/cron_bench.py`` (writes its section of docs/benchmarks.md);
``--profile DIR`` also writes cProfile stats of one 304 poll and one one-changed poll per
archive (not counted in the figures) and prints their biggest cumulative items.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from bench.clock_shift import ENV as CLOCK_ENV  # noqa: E402
from bench.clock_shift import MARK as CLOCK_MARK  # noqa: E402
from bench.clock_shift import clock_ahead  # noqa: E402
from bench.poll_bench import (  # noqa: E402
    fill_archive,
    free_port,
    machine_speed,
    sources_file,
    write_section,
)

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
# what the console script runs (``toldfeed = app.cli:main``), from the checkout
PLAIN = (
    f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.clock_shift import shift_from_env; "
    "shift_from_env(); from app.cli import main; sys.exit(main(['poll']))"
)
INTERVAL = 300  # seconds between a cron user's polls (the default TOLDFEED_POLL_SECONDS)
ARCHIVES = (100, 2_000, 10_000)
SCENARIOS = ("all 304", "all changed", "one changed", "quiet, defaults", "one changed, defaults")
DEFAULTS = "quiet, defaults"  # run with the default detail refresh, as is ONE_DEFAULTS
ONE_DEFAULTS = "one changed, defaults"
# a poll with the defaults in which every detail page is due again (read an hour before)
HOURLY = "defaults, detail pages due"
DETAIL_PAGES = 25  # the samples' detail links
DETAIL_REFRESH = 3600  # the default TOLDFEED_DETAIL_REFRESH_SECONDS
DRIVER = ROOT / "bench" / "cron_poll.py"
SYSTEMS = ROOT / "feeds" / "systems.toml"
SUMMARY = re.compile(
    r"details: (\d+) fetched, (\d+) not modified, (\d+) failed, (\d+) deferred; "
    r"incidents: (\d+) new, (\d+) changed"
)


@dataclass(frozen=True)
class Did:
    """What one poll did: detail pages fetched / not modified, incidents new / changed, and
    the outcome of every source."""

    fetched: int
    not_modified: int
    new: int
    changed: int
    sources: tuple[str, ...]

    def fits(self, scenario: str) -> bool:
        """True when the poll did what ``scenario`` says."""
        if scenario == "all 304":
            return (
                self.fetched == 0
                and self.not_modified > 0
                and not self.new
                and not self.changed
                and all(s == "not modified" for s in self.sources)
            )
        if scenario == DEFAULTS:
            return (
                self.fetched == 0
                and self.not_modified == 0
                and not self.new
                and not self.changed
                and all(s == "not modified" for s in self.sources)
            )
        if scenario == ONE_DEFAULTS:  # its list page (its detail page only when due)
            return (
                self.fetched <= 1
                and self.not_modified == 0
                and self.changed == 1
                and not self.new
                and sorted(self.sources).count("fetched") == 1
                and all(s in ("fetched", "not modified") for s in self.sources)
            )
        if scenario == HOURLY:  # every detail page due again (answering 304, the bumped one 200)
            return (
                self.not_modified >= DETAIL_PAGES - 1
                and self.fetched + self.not_modified == DETAIL_PAGES
                and not self.new
            )
        if scenario == "all changed":
            return (
                self.not_modified == 0
                and self.fetched > 0
                and self.new + self.changed > 0
                and all(s == "fetched" for s in self.sources)
            )
        return (
            self.fetched == 1
            and self.changed == 1
            and not self.new
            and all(s == "not modified" for s in self.sources)
        )

    def words(self) -> str:
        return (
            f"{self.fetched} / {self.not_modified}; {self.new} new, {self.changed} changed; "
            f"sources {', '.join(sorted(set(self.sources)))}"
        )


def did_of_output(out: str) -> Did:
    """Read what a poll did from the lines `toldfeed poll` prints."""
    found = SUMMARY.search(out)
    if found is None:
        raise SystemExit(f"no summary line in the poll's output:\n{out}")
    fetched, not_modified, _, _, new, changed = map(int, found.groups())
    sources = tuple(
        line[:13].strip() for line in out.splitlines() if line.startswith(("fetched", "not "))
    )
    return Did(fetched, not_modified, new, changed, sources)


def did_of_report(report: object) -> Did:
    r: object = report
    return Did(
        r.details_fetched,  # type: ignore[attr-defined]
        r.details_not_modified,  # type: ignore[attr-defined]
        len(r.new_keys),  # type: ignore[attr-defined]
        len(r.changed_keys),  # type: ignore[attr-defined]
        tuple(str(s.outcome) for s in r.sources),  # type: ignore[attr-defined]
    )


@dataclass
class Cell:
    """The runs of one scenario with one archive."""

    cron: list[float] = field(default_factory=list)  # CPU ms, main() to its return
    process: list[float] = field(default_factory=list)  # CPU ms, a plain `toldfeed poll`
    warm: list[float] = field(default_factory=list)  # CPU ms, poll_once in this process
    did: Did | None = None


class Upstream:
    """bench/serve_samples.py in its own process: the t3 snapshot, ``/__bump`` enabled."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(self.port), "t3", "bump"]
        )
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/nothing")
            except urllib.error.HTTPError:
                return  # a 404: it is up
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the upstream did not come up")

    def bump(self, row: bool = False) -> None:
        """One more update line on the bumped detail page (``row``: on its list row too)."""
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__bump{'?row' if row else ''}").read()

    def reset(self) -> None:
        """Every bump undone: each archive's polls meet the same pages."""
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__reset").read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def settings_for(data: Path, sources: Path) -> Settings:
    return Settings.from_env(
        {}, data_dir=data, sources=sources, systems=SYSTEMS, detail_refresh_seconds=0
    )


def poll_env(data: Path, sources: Path, defaults: bool = False) -> dict[str, str]:
    """The environment of a cron poll: the same settings as ``settings_for``, nothing else
    (``defaults``: the default detail refresh)."""
    # and with its modules compiled, as an install has them (pip compiles them; an editable
    # install writes them at its first run): a process that may not write bytecode compiles
    # every module again (some 180 ms here)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOLDFEED_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env |= {
        "TOLDFEED_DATA_DIR": str(data),
        "TOLDFEED_SOURCES": str(sources),
        "TOLDFEED_SYSTEMS": str(SYSTEMS),
    }
    if not defaults:
        env["TOLDFEED_DETAIL_REFRESH_SECONDS"] = "0"
    return env


class Cron:
    """Runs the driver, one process per poll."""

    def __init__(self, work: Path, sources: Path) -> None:
        self.work = work
        self.sources = sources
        self.modules = work / "modules.json"
        self.imported_in_timer: set[str] = set()
        # how far the polls' clock is ahead of the real one: a poll with the default settings
        # comes INTERVAL after the one before, as cron runs them (bench/clock_shift.py); it
        # only moves forward, for every poll of every store
        self.ahead = 0.0
        # when (``ahead``) every detail page was last read, and whether the poll about to run
        # with the defaults finds them all due again (an hour later: one poll in 12)
        self.details_read = 0.0
        self.due = False

    def advance(self, defaults: bool) -> None:
        """Before a poll: one with the defaults comes INTERVAL after the one before; one
        that re-reads every detail page (the others, or one that finds them due) notes it."""
        self.due = False
        if defaults:
            self.ahead += INTERVAL
            self.due = self.ahead - self.details_read >= DETAIL_REFRESH
        if self.due or not defaults:
            self.details_read = self.ahead

    def env(self, data: Path, defaults: bool) -> dict[str, str]:
        """The poll's environment, after ``advance``."""
        self.advance(defaults)
        return poll_env(data, self.sources, defaults) | {CLOCK_ENV: str(self.ahead)}

    def shifted(self, stderr: str) -> None:
        """Check that a poll process ran with the clock ahead, when it is."""
        if self.ahead and f"{CLOCK_MARK} {self.ahead:.0f} s" not in stderr:
            raise SystemExit(f"a poll ran without the clock {self.ahead:.0f} s ahead:\n{stderr}")

    def clock(self) -> datetime:
        """The polls' clock, for polls in this process."""
        return clock_ahead(self.ahead)()

    def _run(self, data: Path, *extra: str, defaults: bool = False) -> tuple[str, float, Path]:
        out = self.work / "result.json"
        out.unlink(missing_ok=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, str(DRIVER), str(out), *extra],
            env=self.env(data, defaults),
            capture_output=True,
            text=True,
            cwd=self.work,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        process_ms = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"the poll failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        self.shifted(done.stderr)
        return done.stdout, process_ms, out

    def probe(self, data: Path) -> None:
        """Add the modules a poll of ``data`` loads to the list that is imported before the timer."""
        _, _, out = self._run(data, "--probe")
        known = json.loads(self.modules.read_text()) if self.modules.exists() else []
        known += [m for m in json.loads(out.read_text()) if m not in known]
        self.modules.write_text(json.dumps(known))

    def poll(self, data: Path, *extra: str, defaults: bool = False) -> tuple[float, Did]:
        """(CPU ms of main(), what it did); ``defaults``: with the default detail refresh."""
        stdout, _, out = self._run(data, "--modules", str(self.modules), *extra, defaults=defaults)
        result = json.loads(out.read_text())
        if result["status"] != 0:
            raise SystemExit(f"`toldfeed poll` exited with {result['status']}:\n{stdout}")
        self.imported_in_timer |= set(result["imported_in_timer"])
        return result["cpu_ms"], did_of_output(stdout)

    def plain(self, data: Path, defaults: bool = False) -> tuple[float, Did]:
        """(CPU ms of a plain `toldfeed poll` process from start to exit, what it did): the
        console script's ``main``, nothing loaded before it."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-c", PLAIN],
            env=self.env(data, defaults),
            capture_output=True,
            text=True,
            cwd=self.work,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"`toldfeed poll` exited with {done.returncode}:\n{done.stderr}")
        self.shifted(done.stderr)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
        return cpu, did_of_output(done.stdout)


def seed(base: Path, archive: int, sources: Path) -> Path:
    """An archive of ``archive`` incidents with every document rendered, never polled."""
    path = base / f"seed{archive}"
    fill_archive(path, archive)
    with Runtime.open(settings_for(path, sources)) as runtime:
        Service(runtime).ensure_published()
    return path


def check(cell: Cell, scenario: str, did: Did) -> None:
    if not did.fits(scenario):
        raise SystemExit(f"a poll meant as {scenario!r} did: {did.words()}")
    cell.did = cell.did or did


def warm_poll(service: Service) -> tuple[float, Did]:
    started = time.process_time()
    report = service.poll_once(force=True)
    cpu = (time.process_time() - started) * 1000
    assert report is not None
    return cpu, did_of_report(report)


def measure_archive(
    base: Path, archive: int, upstream: Upstream, cron: Cron, sources: Path
) -> dict[str, Cell]:
    cells = {s: Cell() for s in (*SCENARIOS, HOURLY)}
    upstream.reset()  # the bumped incident as long as in the other archives' runs
    seeded = seed(base, archive, sources)
    steady = base / f"steady{archive}"
    # all changed: each run on a copy of the archive that never saw the samples
    for i in range(2 * REPEATS):  # the driver, then a plain `toldfeed poll`, in turn
        data = base / f"changed{archive}-{i}"
        shutil.copytree(seeded, data)
        cpu, did = cron.poll(data) if i % 2 == 0 else cron.plain(data)
        check(cells["all changed"], "all changed", did)
        (cells["all changed"].cron if i % 2 == 0 else cells["all changed"].process).append(cpu)
        if i == 0:
            data.rename(steady)  # the store later polls run on
        else:
            shutil.rmtree(data)
    cron.poll(steady)  # settles the validators (not counted)
    for i in range(2 * REPEATS):
        cpu, did = cron.poll(steady) if i % 2 == 0 else cron.plain(steady)
        check(cells["all 304"], "all 304", did)
        (cells["all 304"].cron if i % 2 == 0 else cells["all 304"].process).append(cpu)
    for i in range(2 * REPEATS):
        upstream.bump()
        cpu, did = cron.poll(steady) if i % 2 == 0 else cron.plain(steady)
        check(cells["one changed"], "one changed", did)
        (cells["one changed"].cron if i % 2 == 0 else cells["one changed"].process).append(cpu)
    # quiet with the default settings: the polls above read every detail page a moment ago
    # with the default settings, 5 minutes apart: every 12th poll finds each detail page due
    # again (read an hour before), and goes to a row of its own
    quiet, one, hourly = cells[DEFAULTS], cells[ONE_DEFAULTS], cells[HOURLY]
    for scenario, cell in ((DEFAULTS, quiet), (ONE_DEFAULTS, one)):
        for i in range(2 * REPEATS):
            if cell is one:  # one incident changed: its list row and its detail page say so
                upstream.bump(row=True)
            cpu, did = (
                cron.poll(steady, defaults=True)
                if i % 2 == 0
                else cron.plain(steady, defaults=True)
            )
            into, name = (hourly, HOURLY) if cron.due else (cell, scenario)
            check(into, name, did)
            (into.cron if i % 2 == 0 else into.process).append(cpu)
    # warm, in-process: a fresh runtime per copy for "all changed" (modules and templates warm
    # from the runs before), one runtime for the rest after a first, uncounted poll
    for i in range(REPEATS + 1):
        data = base / f"warm{archive}-{i}"
        shutil.copytree(seeded, data)
        with Runtime.open(settings_for(data, sources)) as runtime:
            cpu, did = warm_poll(Service(runtime, clock=cron.clock))
        shutil.rmtree(data)
        check(cells["all changed"], "all changed", did)
        if i:
            cells["all changed"].warm.append(cpu)
    defaults = Settings.from_env({}, data_dir=steady, sources=sources, systems=SYSTEMS)
    with Runtime.open(defaults) as runtime:
        service = Service(runtime, clock=cron.clock)  # INTERVAL apart, as the cron polls
        for _ in range(REPEATS):
            for scenario, cell in ((DEFAULTS, quiet), (ONE_DEFAULTS, one)):
                if cell is one:
                    upstream.bump(row=True)
                cron.advance(defaults=True)
                cpu, did = warm_poll(service)
                into, name = (hourly, HOURLY) if cron.due else (cell, scenario)
                check(into, name, did)
                into.warm.append(cpu)
    with Runtime.open(settings_for(steady, sources)) as runtime:
        service = Service(runtime, clock=cron.clock)
        cron.advance(defaults=False)  # each of these polls reads every detail page
        warm_poll(service)  # settles the validators: the bumps with the defaults went unread
        for _ in range(REPEATS):
            cpu, did = warm_poll(service)
            check(cells["all 304"], "all 304", did)
            cells["all 304"].warm.append(cpu)
            upstream.bump()
            cpu, did = warm_poll(service)
            check(cells["one changed"], "one changed", did)
            cells["one changed"].warm.append(cpu)
    shutil.rmtree(seeded)
    return cells


def profile_archive(
    base: Path, archive: int, upstream: Upstream, cron: Cron, out: Path
) -> list[Path]:
    """cProfile stats of one 304 poll and one one-changed poll of the steady store."""
    steady = base / f"steady{archive}"
    cron.poll(steady)  # learns what the other archives' bumps changed
    written = []
    for scenario in ("all 304", "one changed"):
        if scenario == "one changed":
            upstream.bump()
        path = out / f"{scenario.replace(' ', '-')}-{archive}.prof"
        _, did = cron.poll(steady, "--profile", str(path))
        if not did.fits(scenario):
            raise SystemExit(f"a profiled poll meant as {scenario!r} did: {did.words()}")
        written.append(path)
    return written


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.0f} (one poll)"
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def table(
    results: dict[int, dict[str, Cell]],
    imported: set[str],
    seconds: float,
    load: tuple[str, str],
) -> str:
    lines = [
        "What is timed: the CPU time (`time.process_time()`, every thread) of "
        '`app.cli.main(["poll"])` in a new process, from the call to its return, after the '
        "process imported every module a poll loads (listed by a probe poll; "
        f"{', '.join(sorted(imported)) or 'no module'} imported inside "
        "the timer). *Whole process*: a plain `toldfeed poll` process (the console script's "
        "`main`, nothing loaded before it) in the same scenario, taking turns with the timed "
        "ones, its CPU from start to exit from the parent's rusage: what cron pays, imports "
        "included (the modules compiled, as an install has them; before 2026-12-06 15:10 this "
        "column also compiled every module of the app in every process, some 180 ms). "
        "*Warm, in-process*: "
        "`Service.poll_once(force=True)` in the bench's own process after a first poll, what "
        "the other sections measure: **not what cron runs** (for *all changed*, a new "
        "`Runtime` on a copy of the archive each time, in a process that has run such polls).",
        "",
        f"{REPEATS} polls per cell, one process each; median (min-max), CPU ms. The upstream "
        "(bench/serve_samples.py, plain HTTP on 127.0.0.1, so no TLS handshakes) runs in its "
        "own process. Every poll re-reads every detail page "
        "(`TOLDFEED_DETAIL_REFRESH_SECONDS=0`), seconds after the poll before, but in *quiet, "
        "defaults* and *one changed, defaults*: the default settings, where a detail page read "
        "within the hour is not read again (so mostly only the five sources are asked; each "
        "detail page once an hour), each poll 5 minutes after the one before, as cron runs them "
        "(the polls' clock moved ahead: `bench/clock_shift.py`), so the time the pages show "
        "moves between polls; one such poll in 12 finds every detail page due again (read an hour "
        "before): those polls are left out of the two rows and make the row *defaults, detail "
        "pages due* (in this run's order they fall on whole-process and warm polls only); "
        "archives of synthetic closed "
        "incidents, their documents rendered before. The machine has 2 cores and other work "
        "was running "
        f"(load average {load[0]} at the start, {load[1]} at the end).",
        "",
        "| archive | scenario | `toldfeed poll`, main() to exit | whole process "
        "| warm, in-process (not what cron runs) | detail pages fetched / 304; incidents |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for archive, cells in results.items():
        for scenario, cell in cells.items():
            did = "-"
            if cell.did is not None:
                did = f"{cell.did.fetched} / {cell.did.not_modified}; "
                did += f"{cell.did.new} new, {cell.did.changed} changed"
            lines.append(
                f"| {archive:,} | {scenario} | {spread(cell.cron)} | {spread(cell.process)} "
                f"| {spread(cell.warm)} | {did} |"
            )
    lines.append("")
    for scenario in SCENARIOS:
        first = results[ARCHIVES[0]][scenario]
        cron_ratio = ", ".join(
            f"{a:,}: {statistics.median(results[a][scenario].cron) / statistics.median(first.cron):.2f}x"
            for a in ARCHIVES[1:]
        )
        warm_ratio = ", ".join(
            f"{a:,}: {statistics.median(results[a][scenario].warm) / statistics.median(first.warm):.2f}x"
            for a in ARCHIVES[1:]
        )
        lines.append(
            f"- {scenario}, relative to the 100 archive: `toldfeed poll` {cron_ratio}; "
            f"warm {warm_ratio}."
        )
    lines += ["", f"A full run of this script took {seconds / 60:.1f} minutes."]
    return "\n".join(lines)


def print_profile(path: Path, top: int = 15) -> None:
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative")
    print(f"\n{path.name}")
    stats.print_stats(top + 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    args = parser.parse_args()
    speed_before = machine_speed()
    began = time.monotonic()
    load_start = f"{os.getloadavg()[0]:.1f}"
    compileall.compile_dir(ROOT / "app", quiet=1)  # as installed (see ``poll_env``)
    upstream = Upstream()
    results: dict[int, dict[str, Cell]] = {}
    speeds: dict[int, tuple[float, float]] = {}  # the machine's speed around each archive's rows
    profiles: list[Path] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            sources = sources_file(base, upstream.port)
            cron = Cron(base, sources)
            # the probe: every module a poll of each kind loads, imported before the timer
            probe = seed(base, ARCHIVES[0], sources)
            cron.probe(probe)  # all changed
            cron.probe(probe)  # all 304
            upstream.bump()
            cron.probe(probe)  # one changed
            shutil.rmtree(probe)
            for archive in ARCHIVES:
                before = machine_speed()
                results[archive] = measure_archive(base, archive, upstream, cron, sources)
                speeds[archive] = (before, machine_speed())
                print(f"archive {archive:,} done after {time.monotonic() - began:.0f} s")
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                for archive in ARCHIVES:
                    profiles += profile_archive(base, archive, upstream, cron, args.profile)
    finally:
        upstream.stop()
    seconds = time.monotonic() - began
    load = (load_start, f"{os.getloadavg()[0]:.1f}")
    body = table(results, cron.imported_in_timer, seconds, load)
    body += (
        f"\n\nThe machine's speed (`machine_speed` in bench/poll_bench.py: 20 million additions in "
        f"a Python loop): {speed_before:.2f} s of CPU before the run, {machine_speed():.2f} s "
        "after; around each archive's rows, "
        + ", ".join(f"{a:,}: {b:.2f} → {e:.2f} s" for a, (b, e) in speeds.items())
        + ".\n"
    )
    print(body)
    for path in profiles:
        print_profile(path)
    write_section(
        "`toldfeed poll` as cron runs it",
        body,
        f"{REPEATS} polls per cell, a new process for each",
    )


if __name__ == "__main__":
    main()
