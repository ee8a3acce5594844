"""Requests per second and p50/p99 latency for /feeds/all.atom (about 50 entries), side by side:

  * toldfeed under the Procfile's own command (gunicorn with its worker class, workers and
    threads), the store-backed app with conditional GET;
  * a bare WSGI app returning the same bytes from memory, under the same command;
  * the same bare app under gunicorn's sync workers (the baseline of the figures before the
    Procfile ran waitress in its workers);
  * nginx (system package) serving the file written by ``toldfeed export``;

each for full 200 responses and for 304 revalidation (If-None-Match). wrk on 127.0.0.1,
bounded in time. Run by hand: ``python bench/serve_bench.py``; figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from poll_bench import fill_archive, free_port, write_section  # noqa: E402

from app.cli.demo import SampleTransport, demo_settings, fill_demo  # noqa: E402
from app.cli.export import export_all  # noqa: E402
from app.config import Settings  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402

ROUNDS = 5  # alternating rounds of the two Python servers; the median round counts
DURATION = os.environ.get("BENCH_DURATION", "10s")
ARCHIVE = 2_000


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory of each child (worker) of a gunicorn master, in MB."""
    found = []
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        found.append(kb / 1024)
    return found


SYNC = ["--workers", "2", "--worker-class", "sync"]


def _procfile_words() -> list[str]:
    line = (ROOT / "Procfile").read_text(encoding="utf-8").split("web:", 1)[1].strip()
    words = shlex.split(line)
    assert words[0] == "gunicorn", words
    return words[1:]


def procfile_options() -> list[str]:
    """The gunicorn options of the Procfile's web line, without its app and its --bind."""
    options, rest = [], iter(_procfile_words())
    for word in rest:
        if word == "--bind":
            next(rest)
        elif ":" not in word or word.startswith("-"):  # the app is "module:name"
            options.append(word)
    return options


def procfile_app() -> str:
    """The app of the Procfile's web line (``app:create_app()``)."""
    return next(w for w in _procfile_words() if ":" in w and not w.startswith("-"))


def prepare(base: Path) -> Settings:
    """A store with the samples plus 2,000 archived incidents; documents rendered."""
    settings = demo_settings(Settings.from_env({}, data_dir=base, base_url="http://127.0.0.1"))
    fill_archive(settings.data_dir, ARCHIVE)
    transport = SampleTransport()
    with Runtime.open(settings, transport=transport) as runtime:
        fill_demo(runtime, transport)
        Service(runtime).poll_once(force=True)
        Service(runtime).publish(None)
    return settings


def wait_up(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, etag: str | None) -> tuple[float, str, str]:
    cmd = ["wrk", "-t2", "-c16", f"-d{DURATION}", "--latency", url]
    if etag:
        cmd[1:1] = ["-H", f"If-None-Match: {etag}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    return rps, p50, p99


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        settings = prepare(tmp / "data")
        export_dir = tmp / "export"
        export_all(settings, export_dir)
        for path in [tmp, *tmp.rglob("*")]:  # nginx workers run unprivileged
            path.chmod(0o755 if path.is_dir() else 0o644)
        feed = export_dir / "feeds" / "all.atom"
        entries = feed.read_text().count("<entry>")
        env = {
            **os.environ,
            "TOLDFEED_DATA_DIR": str(settings.data_dir),
            "TOLDFEED_SOURCES": str(settings.sources),
            "TOLDFEED_POLL_ON_SERVE": "0",
            "TOLDFEED_BASE_URL": "http://127.0.0.1",
            "BARE_FILE": str(feed),
        }
        ports = {name: free_port() for name in ("toldfeed", "bare", "bare-sync", "nginx")}
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
        ]
        for name, options, app in (
            ("toldfeed", procfile_options(), procfile_app()),
            ("bare", procfile_options(), "bench.bare_wsgi:app"),
            ("bare-sync", SYNC, "bench.bare_wsgi:app"),
        ):
            bind = ["--bind", f"127.0.0.1:{ports[name]}"]
            procs.append(subprocess.Popen([*gunicorn, *options, *bind, app], env=env))
        conf = tmp / "nginx.conf"
        conf.write_text(
            f"worker_processes 2; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err; daemon off;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; include /etc/nginx/mime.types;\n"
            f"  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n"
            f"  server {{ listen 127.0.0.1:{ports['nginx']}; root {export_dir}; etag on; }} }}\n"
        )
        procs.append(subprocess.Popen(["nginx", "-c", str(conf)]))
        urls = {name: f"http://127.0.0.1:{port}/feeds/all.atom" for name, port in ports.items()}
        for url in urls.values():
            wait_up(url)
        bodies = {name: httpx.get(url).content for name, url in urls.items()}
        if not bodies["toldfeed"] == bodies["bare"] == bodies["bare-sync"] == bodies["nginx"]:
            Path("/tmp/b_toldfeed").write_bytes(bodies["toldfeed"])
            Path("/tmp/b_bare").write_bytes(bodies["bare"])
            raise SystemExit("servers must return the same bytes")
        etags = {name: httpx.get(url).headers["etag"] for name, url in urls.items()}
        for url in urls.values():
            wrk(url, None)  # warm up
        # the Python servers alternate, ROUNDS times each, and each figure is the round with
        # the median throughput: drift on a shared machine hits them alike
        runs: dict[tuple[str, str], list[tuple[float, str, str]]] = {}
        python = ["toldfeed", "bare", "bare-sync"]
        for round_no in range(ROUNDS):
            order = python[round_no % 3 :] + python[: round_no % 3]
            for name in [*order, "nginx"]:  # who goes first changes every round
                url = urls[name]
                if name == "nginx" and runs.get((name, "200")):
                    continue  # once is enough: it is the yardstick, an order faster
                runs.setdefault((name, "200"), []).append(wrk(url, None))
                runs.setdefault((name, "304"), []).append(wrk(url, etags[name]))
        results = {key: sorted(got)[len(got) // 2] for key, got in runs.items()}
        # the API with its variants and a few pages, then the workers' memory
        base = f"http://127.0.0.1:{ports['toldfeed']}"
        for path in ("/", "/api/incidents.json", "/feeds/all.json?limit=500", "/da/feeds/all.rss"):
            httpx.get(base + path)
        memory = worker_rss_mb(procs[0].pid)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"`/feeds/all.atom`: {entries} entries, {len(bodies['bare']):,} bytes. wrk -t2 -c16 -d{DURATION} on "
        f"127.0.0.1; the Procfile's gunicorn (`{' '.join(procfile_options())}`) for toldfeed and "
        "for the bare app, and the bare app once more under 2 sync workers; nginx 2 workers. The "
        f"Python servers alternate in {ROUNDS} rounds; each figure is the median round.",
        "",
        "| server | 200 req/s | 200 p50 | 200 p99 | 304 req/s | 304 p50 | 304 p99 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "toldfeed": "toldfeed (Procfile)",
        "bare": "bare WSGI (Procfile)",
        "bare-sync": "bare WSGI (gunicorn sync workers)",
        "nginx": "nginx, exported file",
    }
    for name, label in names.items():
        r200, r304 = results[(name, "200")], results[(name, "304")]
        lines.append(
            f"| {label} | {r200[0]:,.0f} | {r200[1]} | {r200[2]} | {r304[0]:,.0f} | {r304[1]} | {r304[2]} |"
        )

    def ratio(a: str, b: str, status: str) -> float:
        return results[(a, status)][0] / results[(b, status)][0]

    lines += [
        "",
        f"toldfeed / bare WSGI, same server: {ratio('toldfeed', 'bare', '200'):.2f}x (200), "
        f"{ratio('toldfeed', 'bare', '304'):.2f}x (304). toldfeed / bare WSGI under sync workers: "
        f"{ratio('toldfeed', 'bare-sync', '200'):.2f}x (200), "
        f"{ratio('toldfeed', 'bare-sync', '304'):.2f}x (304). "
        f"nginx / toldfeed: {ratio('nginx', 'toldfeed', '200'):.1f}x (200).",
        "",
        f"Worker memory (RSS) with {ARCHIVE:,} archived incidents, after the runs and a few "
        f"variant requests: {', '.join(f'{m:.0f} MB' for m in memory)}.",
    ]
    table = "\n".join(lines)
    print(table)
    write_section("Serving /feeds/all.atom", table, "one wrk run per cell, after a warm-up run")


if __name__ == "__main__":
    main()
