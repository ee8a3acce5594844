"""Peak memory of gunicorn workers run as the Procfile runs them, after every feed URL once.

The store holds 2,000 archived incidents (synthetic, closed) and the samples, polled from a
local upstream (bench/serve_samples.py) and rendered. gunicorn starts from the Procfile's
``web:`` line (workers, threads, worker class; bound to 127.0.0.1 on a free port) with
``TOLDFEED_POLL_ON_SERVE=0`` (cron polls). Then every feed URL is requested once over one
keep-alive connection, so one worker serves them all and the other shows a worker that served
nothing: the all/system/status feeds in Atom, RSS and JSON, in both languages, and each system
feed with each ``?status=``. The peak resident memory of each worker is VmHWM of
/proc/<pid>/status (VmRSS beside it), read after start-up and after the requests.
Run: ``python bench/worker_rss_bench.py`` (writes its section of docs/benchmarks.md).
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

from app.config import Settings  # noqa: E402
from app.model import Status  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from bench.poll_bench import fill_archive, free_port, sources_file, write_section  # noqa: E402

ARCHIVE = 2_000
FORMATS = ("atom", "rss", "json")
SYSTEMS = ROOT / "feeds" / "systems.toml"


def procfile_command(port: int) -> list[str]:
    """The Procfile's ``web:`` command with its port, run by this interpreter's gunicorn."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            words = shlex.split(line[4:].replace("${PORT:-8000}", str(port)))
            if words[0] != "gunicorn":
                raise SystemExit(f"the Procfile's web process is not gunicorn: {line}")
            return [sys.executable, "-m", "gunicorn", *words[1:]]
    raise SystemExit("no web: line in the Procfile")


def feed_paths(slugs: tuple[str, ...]) -> list[str]:
    """Every feed URL path: all, per system (also with each ?status=), per status; EN and DA."""
    paths = []
    for prefix in ("", "/da"):
        for fmt in FORMATS:
            paths.append(f"{prefix}/feeds/all.{fmt}")
            for slug in slugs:
                system = f"{prefix}/feeds/system/{slug}.{fmt}"
                paths += [system, *(f"{system}?status={s.value}" for s in Status)]
            paths += [f"{prefix}/feeds/status/{s.value}.{fmt}" for s in Status]
    return paths


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = {k: int(v) / 1024 for k, v in re.findall(r"(VmHWM|VmRSS):\s+(\d+) kB", status)}
    return found["VmHWM"], found["VmRSS"]


def workers(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def prepare(data: Path, sources: Path, base_url: str) -> tuple[str, ...]:
    """Fill the store, poll the samples, render everything; return the catalogue's slugs."""
    fill_archive(data, ARCHIVE)
    settings = Settings.from_env(
        {}, data_dir=data, sources=sources, systems=SYSTEMS, base_url=base_url
    )
    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        service.ensure_published()
        report = service.poll_once(force=True)
        assert report is not None and report.ok and report.new_keys, report
        return runtime.catalogue.slugs


def main() -> None:
    upstream_port, port = free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(upstream_port), "t3"]
    )
    tmp = Path(tempfile.mkdtemp())
    server: subprocess.Popen[bytes] | None = None
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(0.8)
        sources = sources_file(tmp, upstream_port)
        slugs = prepare(tmp / "data", sources, base)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOLDFEED_")}
        env |= {
            "TOLDFEED_DATA_DIR": str(tmp / "data"),
            "TOLDFEED_SOURCES": str(sources),
            "TOLDFEED_SYSTEMS": str(SYSTEMS),
            "TOLDFEED_BASE_URL": base,
            "TOLDFEED_POLL_ON_SERVE": "0",
        }
        command = procfile_command(port)
        log = (tmp / "gunicorn.log").open("wb")
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 600:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not come up: " + (tmp / "gunicorn.log").read_text())
        time.sleep(1.0)  # both workers have loaded the app
        pids = sorted(workers(server.pid))
        started = {pid: memory_mb(pid) for pid in pids}
        paths = feed_paths(slugs)
        clients: set[object] = set()
        sizes = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            for path in paths:
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
                sizes += len(response.content)
                stream = response.extensions.get("network_stream")
                if stream is not None:
                    clients.add(stream.get_extra_info("client_addr"))
        after = {pid: memory_mb(pid) for pid in pids}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        upstream.terminate()
        upstream.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    served = max(pids, key=lambda pid: after[pid][0] - started[pid][0])
    shown = shlex.join(command[3:]).replace(str(port), "<free port>")
    lines = [
        f"`gunicorn {shown}` (the Procfile's `web:` line), `TOLDFEED_POLL_ON_SERVE=0`; "
        f"{ARCHIVE:,} archived incidents plus the samples, every document rendered before "
        f"start-up. {len(paths)} feed URLs requested once each ({sizes / 1e6:.1f} MB of "
        f"responses) over {'one keep-alive connection' if len(clients) <= 1 else f'{len(clients)} connections'}: the all, system and status feeds in Atom, RSS and "
        f"JSON, English and Danish, and every system feed with `?status=` "
        f"{', '.join(s.value for s in Status)}. VmHWM (peak resident) and VmRSS from "
        "/proc/<pid>/status of each worker.",
        "",
        "| worker | after start-up: peak (resident) | after every feed URL once: peak (resident) |",
        "|---|---:|---:|",
    ]
    for pid in pids:
        role = "served the requests" if pid == served else "served none"
        if len(clients) > 1:  # the connection was closed and opened again: both may have served
            role = "served some"
        (hwm0, rss0), (hwm1, rss1) = started[pid], after[pid]
        lines.append(f"| {role} | {hwm0:.0f} MB ({rss0:.0f} MB) | {hwm1:.0f} MB ({rss1:.0f} MB) |")
    table = "\n".join(lines)
    print(table)
    write_section("gunicorn worker memory, Procfile settings", table, "one run")


if __name__ == "__main__":
    main()
