"""Instructions of a `toldfeed poll` process per scenario: a figure the machine's moment does
not move.

This machine shares its host: the same cron poll costs 290 ms of CPU in one minute and 450 in
the next (``machine_speed`` moves by half), so two versions' CPU figures compare only when
measured alternately, many times. The instructions a poll executes do not move: each poll
runs once under valgrind's cachegrind (``--cache-sim=no``: the instruction count only), in the
same new process cron runs (``bench/cron_poll.py``, its modules loaded before ``main``), and
the instructions of the same driver stopped just before the poll (``--load-only``: the
interpreter, the driver compiled and its arguments read, every module loaded) are taken off.
The same poll counted again differed by 0.1 % (all changed) and 1.5 % (one changed) at
most; an all-304 poll's count moves with the moment it runs at (84-142 million: which pages
the time moves depends on the hour and the minute); the hash seed is fixed.

Scenarios, on 100 archived incidents beside the samples (``--archives 100,2000,10000``: on each
of the cron bench's three sizes; as ``bench/cron_bench.py``'s first three, each poll re-reading
every detail page): *all changed* (a copy of the archive that never
saw the samples), *all 304* (the same store after a settling poll), *one changed* (one detail
page gained a line); a poll counts only when it exits 0 and read every detail page, none failed
or put off. ``--against REV`` counts REV's code too (its files from ``git archive``, compiled,
with this checkout's driver; its own archive seeded by its own code, its own catalogue), on the
same upstream, for a before and after. Each poll runs on a stopped clock (``BENCH_CLOCK_AT``,
bench/clock_shift.py), five minutes after the one before, at the same moments for every tree:
the pages that show the time to the minute would otherwise move mid-poll, 50 times slower.

Run: ``python bench/instructions.py [--against REV] [--archives 100,2000,10000]`` (writes its section of
docs/benchmarks.md). Needs ``valgrind`` (Debian package). Under valgrind a poll runs some 50
times slower; the bench raises the poll's budget and timeouts so that it does the same work,
and checks that each poll did what its scenario says.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clock_shift import AT
from bench.cron_bench import DETAIL_PAGES, ROOT, SUMMARY, Did, Upstream, did_of_output, poll_env
from bench.poll_bench import sources_file, write_section

SCENARIOS = ("all changed", "all 304", "one changed")
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")
# a poll under valgrind is some 50 times slower: its budget and timeouts must not cut it short
SLOW = {"TOLDFEED_POLL_BUDGET_SECONDS": "3000", "TOLDFEED_TIMEOUT_SECONDS": "600"}


@dataclass(frozen=True)
class Counted:
    """The instructions of one tree's polls, in millions, the modules' loading taken off."""

    label: str
    archive: int
    imports: float
    polls: dict[str, float]


def _instructions(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """The instructions ``command`` executed under cachegrind, and its standard output."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *command,
        ],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    found = _IREFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{command[:3]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(found.group(1).replace(",", "")), done.stdout


class Tree:
    """One version of toldfeed's code: its driver, its seeded archive, its polls."""

    def __init__(self, root: Path, label: str, work: Path, sources: Path, start: datetime) -> None:
        self.root, self.label, self.work, self.sources = root, label, work, sources
        self.start = start
        self.work.mkdir(parents=True)
        self.modules = work / "modules.json"
        self.out = work / "result.json"

    def env(self, data: Path, minute: int = 0) -> dict[str, str]:
        """A poll's environment for this tree: its own catalogue, time to do its work, the
        clock stopped ``minute`` minutes after the run's start (bench/clock_shift.py)."""
        return (
            poll_env(data, self.sources)
            | SLOW
            | {
                "TOLDFEED_SYSTEMS": str(self.root / "feeds" / "systems.toml"),
                "PYTHONHASHSEED": "0",
                AT: (self.start + timedelta(minutes=minute)).isoformat(),
            }
        )

    def _python(self, code: str) -> None:
        subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(self.root)!r}); {code}"],
            env=dict(os.environ),
            cwd=self.work,
            check=True,
            capture_output=True,
        )

    def seed(self, archive: int) -> Path:
        """An archive of ``archive`` incidents, every document rendered, by this tree's code."""
        self._python(
            "from pathlib import Path; from bench.cron_bench import seed; "
            f"seed(Path({str(self.work)!r}), {archive}, Path({str(self.sources)!r}))"
        )
        return self.work / f"seed{archive}"

    def _driver(self, *extra: str) -> list[str]:
        return [sys.executable, str(self.root / "bench" / "cron_poll.py"), str(self.out), *extra]

    def probe(self, data: Path) -> None:
        """The modules a poll of ``data`` loads, added to those loaded before the timer."""
        env = self.env(data)
        subprocess.run(
            self._driver("--probe"), env=env, cwd=self.work, check=True, capture_output=True
        )
        known = json.loads(self.modules.read_text()) if self.modules.exists() else []
        known += [m for m in json.loads(self.out.read_text()) if m not in known]
        self.modules.write_text(json.dumps(known))

    def settle(self, data: Path, minute: int) -> None:
        """A poll not counted (it learns the validators)."""
        env = self.env(data, minute)
        subprocess.run(
            self._driver("--modules", str(self.modules)),
            env=env,
            cwd=self.work,
            capture_output=True,
            check=True,
        )

    def count(self, data: Path, scenario: str, minute: int) -> float:
        """Millions of instructions of one poll of ``data`` that must do ``scenario``, the
        clock stopped ``minute`` minutes after the run's start."""
        env = self.env(data, minute)
        command = self._driver("--modules", str(self.modules))
        total, stdout = _instructions(command, env, self.work)
        did: Did = did_of_output(stdout)
        summary = SUMMARY.search(stdout)
        assert summary is not None  # did_of_output found it
        fetched, not_modified, failed, deferred = map(int, summary.groups()[:4])
        status = json.loads(self.out.read_text())["status"]
        if (
            not did.fits(scenario)
            or status != 0
            or failed
            or deferred
            or fetched + not_modified != DETAIL_PAGES
        ):
            raise SystemExit(
                f"{self.label}: a poll meant as {scenario!r} exited {status} and did: "
                f"{did.words()}; {failed} failed, {deferred} put off"
            )
        return total / 1e6

    def imports(self, data: Path) -> float:
        """Millions of instructions of the driver stopped before the poll."""
        command = self._driver("--modules", str(self.modules), "--load-only")
        total, _ = _instructions(command, self.env(data), self.work)
        return total / 1e6


def measure(tree: Tree, upstream: Upstream, archive: int) -> Counted:
    upstream.reset()
    seeded = tree.seed(archive)
    probe = tree.work / "probe"
    shutil.copytree(seeded, probe)
    tree.probe(probe)  # all changed
    tree.probe(probe)  # all 304
    upstream.bump()
    tree.probe(probe)  # one changed
    shutil.rmtree(probe)
    upstream.reset()
    polls: dict[str, float] = {}
    # each poll five minutes after the one before, as cron runs them, on a stopped clock
    polls["all changed"] = tree.count(seeded, "all changed", 5)
    tree.settle(seeded, 10)
    polls["all 304"] = tree.count(seeded, "all 304", 15)
    upstream.bump()
    polls["one changed"] = tree.count(seeded, "one changed", 20)
    imports = tree.imports(seeded)
    shutil.rmtree(seeded)
    return Counted(tree.label, archive, imports, {s: n - imports for s, n in polls.items()})


def export(rev: str, into: Path) -> Path:
    """The files of ``rev`` (``git archive``) with this checkout's driver (the same process
    around every poll), compiled as an install has them."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    for driver in ("cron_poll.py", "clock_shift.py"):
        shutil.copy(ROOT / "bench" / driver, into / "bench" / driver)
    compileall.compile_dir(into / "app", quiet=1)
    return into


def report(counted: list[Counted], seconds: float) -> str:
    lines = [
        "Millions of instructions (valgrind's cachegrind) of one `toldfeed poll` process per "
        "scenario, archived incidents beside the samples, every detail page re-read "
        "(`bench/instructions.py`: what it runs and why); the instructions of the same process "
        "stopped before the poll (the column *loading*) are taken off each poll's.",
        "",
        "| code | archived | loading | " + " | ".join(SCENARIOS) + " |",
        "|---|---:|---:|" + "---:|" * len(SCENARIOS),
    ]
    for c in counted:
        cells = " | ".join(f"{c.polls[s]:,.0f}" for s in SCENARIOS)
        lines.append(f"| {c.label} | {c.archive:,} | {c.imports:,.0f} | {cells} |")
    labels = list(dict.fromkeys(c.label for c in counted))
    if len(labels) == 2:
        lines.append("")
        for before, after in zip(
            *([c for c in counted if c.label == label] for label in labels), strict=True
        ):
            lines.append(
                f"Change at {after.archive:,} archived: "
                + "; ".join(
                    f"{s} {after.polls[s] / before.polls[s] - 1:+.1%}"
                    for s in SCENARIOS
                    if before.polls[s]
                )
                + "."
            )
    for label in labels:
        own = {c.archive: c for c in counted if c.label == label}
        if len(own) > 1:
            base = own[min(own)]
            lines.append("")
            lines.append(
                f"{label}, relative to {base.archive:,} archived: "
                + "; ".join(
                    f"{s} "
                    + ", ".join(
                        f"{a:,}: {c.polls[s] / base.polls[s]:.2f}x"
                        for a, c in sorted(own.items())
                        if a != base.archive
                    )
                    for s in SCENARIOS
                    if base.polls[s]
                )
                + "."
            )
    lines += ["", f"The run took {seconds / 60:.1f} minutes."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", help="a git revision to count too (before, then this)")
    parser.add_argument(
        "--archives",
        default="100",
        help="archive sizes, comma-separated (100,2000,10000: the cron bench's three)",
    )
    args = parser.parse_args()
    archives = [int(a) for a in args.archives.split(",")]
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (apt install valgrind)")
    began = time.monotonic()
    compileall.compile_dir(ROOT / "app", quiet=1)  # as installed (see ``poll_env``)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "app", "bench", "feeds"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    upstream = Upstream()
    counted: list[Counted] = []
    try:
        with tempfile.TemporaryDirectory(
            dir="/dev/shm" if Path("/dev/shm").is_dir() else None
        ) as tmp:
            base = Path(tmp)
            sources = sources_file(base, upstream.port)
            # every tree's polls at the same moments: the start of this minute, and after
            start = datetime.now(UTC).replace(second=0, microsecond=0)
            trees = []
            if args.against:
                old = export(args.against, base / "before")
                trees.append(Tree(old, args.against, base / "b", sources, start))
            label = head + (" with changes" if dirty else "")
            if trees and trees[0].label == label:
                label += " (this checkout)"  # --against HEAD: two trees all the same
            trees.append(Tree(ROOT, label, base / "a", sources, start))
            for tree in trees:
                for archive in archives:
                    counted.append(measure(tree, upstream, archive))
    finally:
        upstream.stop()
    body = report(counted, time.monotonic() - began)
    print(body)
    write_section("Instructions of a cron poll", body, "valgrind, one poll per cell")


if __name__ == "__main__":
    main()
