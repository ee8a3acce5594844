"""What hostile upstream pages and query variants cost (issue 11, findings 3 and 5).

Hostile pages: the t3 English overview with one message replaced by
  * 100,000 nested ``<div>`` (1.1 MB),
  * 1.5 million unclosed ``<b>`` (4.5 MB), and the same size of alternating ``<b><i>``,
  * 30,000 nested ``<table><tr><td>`` (1 MB) and 90,000 ``<div><p>`` (0.7 MB),
  * a 10 MB message (10,000 paragraphs of 200 words; over the 5 MB fetch limit, so only a
    parser called directly sees it),
and the t3 feed with one item's description holding 100,000 nested ``<div>``. Each is parsed
once in a fresh process: wall time of the parser call (decoding, guards, lexbor, nh3, text
rules), the process's peak RSS (``ru_maxrss``) before and after it, and the longest message
kept.

Query variants: a store of 2,000 synthetic incidents plus the samples' documents; a fresh
process opens a ``Library`` (what each web worker holds), serves ``/feeds/all.atom``, then
renders 1,000 distinct ``?limit=`` variants (Atom and JSON Feed, limit 1 to 500). Reported:
the worker's resident memory before and after, its peak, and the bytes the variant cache holds.

``--before REV`` also measures the code of git revision REV (extracted with ``git archive``) in
the same way, for the before/after table. Run: ``python bench/hostile_bench.py --before HEAD``
(writes the sections "Hostile pages" and "Query variants per worker" of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("TOLDFEED_BENCH_CODE", str(ROOT)))
sys.path.insert(0, str(CODE))

PAGE_URL = "https://info.skat.dk/data.aspx?lang=us&oid=2367397"
RSS_URL = "https://rss.skat.dk/rss.aspx?oid=2367397"
MARK = "<p>The cause is being investigated.</p>"
CASES = {
    "nested": "100,000 nested `<div>` in one message (1.1 MB)",
    "bold": "1.5 million unclosed `<b>` in one message (4.5 MB)",
    "alternating": "750,000 unclosed `<b><i>` pairs in one message (4.5 MB)",
    "tables": "30,000 nested `<table><tr><td>` in one message (1 MB)",
    "divp": "90,000 `<div><p>` in one message (0.7 MB)",
    "big": "a 10 MB message",
    "rss-nested": "an RSS item with 100,000 nested `<div>` (1.1 MB)",
}
VARIANTS = 1_000
INCIDENTS = 2_000


def hostile_body(case: str) -> bytes:
    """The document of one case."""
    if case == "rss-nested":
        feed = (ROOT / "app" / "samples" / "t3" / "rss.xml").read_text(encoding="utf-8")
        nested = ("&lt;div&gt;" * 100_000) + "deep" + ("&lt;/div&gt;" * 100_000)
        return feed.replace("&lt;p&gt;INC000001822307&lt;/p&gt;", nested, 1).encode()
    page = (ROOT / "app" / "samples" / "t3" / "overview.en.html").read_text(encoding="utf-8")
    message = {
        "nested": "<div>" * 100_000 + "deep" + "</div>" * 100_000,
        "bold": "<b>" * 1_500_000,
        "alternating": "<b><i>" * 750_000,  # no run of one tag to skip at once
        "tables": "<table><tr><td>" * 30_000 + "deep" + "</td></tr></table>" * 30_000,
        "divp": "<div><p>" * 90_000 + "deep",  # each <div> closes the <p>: one level a pair
        "big": ("<p>" + "word " * 200 + "</p>") * 10_000,
    }[case]
    return page.replace(MARK, message, 1).encode()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child_parse(case: str) -> dict[str, object]:
    """Parse one hostile document in this (fresh) process."""
    from datetime import UTC, datetime

    from app.catalogue import load_catalogue
    from app.model import Lang
    from app.upstream.listpage import parse_list_page
    from app.upstream.rss import parse_rss

    catalogue = load_catalogue(ROOT / "feeds" / "systems.toml")
    body = hostile_body(case)
    parse = parse_rss if case.startswith("rss") else parse_list_page
    url = RSS_URL if case.startswith("rss") else PAGE_URL
    base = _rss_mb()
    started = time.perf_counter()
    result = parse(
        body, {}, url=url, lang=Lang.EN, catalogue=catalogue, observed_at=datetime.now(UTC)
    )
    seconds = time.perf_counter() - started
    longest = max((len(o.message_html.encode()) for o in result.observations), default=0)
    return {
        "mb": len(body) / 1e6,
        "seconds": seconds,
        "base_mb": base,
        "peak_mb": _rss_mb(),
        "rows": len(result.observations),
        "longest_kb": longest / 1024,
        "warnings": [w.split(": ", 1)[-1] for w in result.warnings][:2],
    }


def child_variants(data_dir: str) -> dict[str, object]:
    """A web worker's memory before and after rendering 1,000 ``?limit=`` variants."""
    from app.catalogue import load_catalogue
    from app.config import Settings
    from app.model import Lang
    from app.publish.library import Library
    from app.render.renderer import Renderer
    from app.site.documents import Feed, Format
    from app.site.urls import Urls
    from app.store import Store

    settings = Settings.from_env(
        {}, data_dir=Path(data_dir), systems=ROOT / "feeds" / "systems.toml"
    )
    store = Store(settings.data_dir)
    urls = Urls(settings, load_catalogue(settings.systems))
    library = Library(store, urls, Renderer(settings, urls.catalogue, urls))
    library.get(Feed(Lang.EN, Format.ATOM))
    library.get(Feed(Lang.EN, Format.ATOM, limit=1))  # loads the archive of incidents
    before = _resident_mb()
    started = time.perf_counter()
    for fmt in (Format.ATOM, Format.JSON):
        for limit in range(1, VARIANTS // 2 + 1):
            library.get(Feed(Lang.EN, fmt, limit=limit))
    seconds = time.perf_counter() - started
    cached = sum(len(d.body) + len(d.gzipped) for d in library._variants.values())
    return {
        "before_mb": before,
        "after_mb": _resident_mb(),
        "peak_mb": _rss_mb(),
        "cached_mb": cached / 2**20,
        "kept": len(library._variants),
        "seconds": seconds,
    }


CHILD_SECONDS = 120  # a case that takes longer is reported as "over 120 s" (old code: minutes)


def run_child(code: Path, *args: str) -> dict[str, object] | None:
    """Run this script in a fresh process on the code under ``code``; None past the limit."""
    env = {**os.environ, "TOLDFEED_BENCH_CODE": str(code), "PYTHONPATH": str(code)}
    try:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=str(code),
            timeout=CHILD_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return None
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def build_store(directory: Path) -> None:
    """2,000 synthetic incidents and their published documents (with the current code)."""
    from app.config import Settings
    from app.runtime import Runtime
    from app.service import Service
    from bench.poll_bench import fill_archive

    fill_archive(directory, INCIDENTS)
    sources = directory / "sources.toml"
    sources.write_text('[[source]]\nkind="page"\nurl="https://info.skat.dk/x?oid=1"\nlang="en"\n')
    settings = Settings.from_env(
        {}, data_dir=directory, sources=sources, systems=ROOT / "feeds" / "systems.toml"
    )
    with Runtime.open(settings) as runtime:
        Service(runtime).ensure_published()


def extract(rev: str, into: Path) -> Path:
    """The code of git revision ``rev`` under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "app", "feeds"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="also measure this git revision")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--variants", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_parse(args.child)))
        return
    if args.variants:
        print(json.dumps(child_variants(args.variants)))
        return
    from bench.poll_bench import write_section

    with tempfile.TemporaryDirectory() as tmp:
        codes = [("now", ROOT)]
        if args.before:
            codes.insert(0, (f"before ({args.before})", extract(args.before, Path(tmp))))
        parse_rows = []
        for case, label in CASES.items():
            for name, code in codes:
                got = run_child(code, "--child", case)
                print(case, name, got, flush=True)
                if got is None:
                    parse_rows.append(
                        f"| {label} | {name} | over {CHILD_SECONDS} s (stopped) | — | — | — | — |"
                    )
                    continue
                parse_rows.append(
                    f"| {label} | {name} | {got['seconds']:.2f} s "
                    f"| {got['base_mb']:.0f} → {got['peak_mb']:.0f} MB "
                    f"| {got['rows']} | {got['longest_kb']:,.0f} KB "
                    f"| {'; '.join(str(w) for w in got['warnings']) or '—'} |"
                )
        data = Path(tmp) / "store"
        build_store(data)
        variant_rows = []
        for name, code in codes:
            got = run_child(code, "--variants", str(data))
            print("variants", name, got, flush=True)
            assert got is not None, "the variants run took too long"
            variant_rows.append(
                f"| {name} | {got['before_mb']:.0f} MB | {got['after_mb']:.0f} MB "
                f"| {got['peak_mb']:.0f} MB | {got['kept']} | {got['cached_mb']:.1f} MB "
                f"| {got['seconds']:.0f} s |"
            )
    pages = "\n".join(
        [
            "| document | code | parse time | peak RSS (before → after parsing) "
            "| rows read | longest message kept | warnings |",
            "|---|---|---:|---:|---:|---:|---|",
            *parse_rows,
        ]
    )
    variants = "\n".join(
        [
            f"{INCIDENTS:,} archived incidents; one worker renders {VARIANTS:,} distinct "
            "`?limit=` variants (Atom and JSON Feed, 1 to 500 entries).",
            "",
            "| code | resident before | resident after | peak | variants kept | cache bytes "
            "| render time |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *variant_rows,
        ]
    )
    print(pages, variants, sep="\n\n")
    note = "each case in a fresh process; RSS from ru_maxrss and /proc/self/statm"
    write_section("Hostile pages", pages, note)
    write_section("Query variants per worker", variants, note)


if __name__ == "__main__":
    main()
