"""Cost of publishing to S3-compatible object storage (issue 13): requests made and CPU time.

moto (the S3 server) and the upstream (bench/serve_samples.py) run in their own processes, so
the CPU time measured is toldfeed's alone (this process, all its threads): reading the stored
documents, hashing them, deciding, signing and sending the requests, recording what was put.
The data directory holds the samples plus ARCHIVE synthetic closed incidents. The poll and the
upload are timed apart (the poll by a service without a bucket, the upload by one with it).

Cases, each the median of REPEATS runs:
- nothing changed since the last upload (what every poll costs when nothing is pending);
- a poll that found nothing new upstream (pages that show the poll's time changed, but they
  wait for the refresh period, ``TOLDFEED_PUBLISH_REFRESH_SECONDS``; the polls here are four
  minutes apart);
- a poll in which one incident changed (``/__bump`` adds an update line to one detail page);
- ``toldfeed publish`` with nothing changed (a listing and a HEAD per document);
- the first upload of everything.

Run: ``python bench/s3_bench.py`` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from app.config import Settings  # noqa: E402
from app.publish.upload_plan import UploadResult  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.service import Service  # noqa: E402
from bench.poll_bench import fill_archive, free_port, sources_file, write_section  # noqa: E402

REPEATS = 7
ARCHIVE = 2_000
BUCKET = "toldfeed-bench"


def wait_for(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def timed(run: Callable[[], UploadResult | None]) -> tuple[float, float, UploadResult]:
    """CPU ms, wall ms and the result of one upload run."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    assert result is not None and result.ok, result
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, result


def main() -> None:
    port, s3_port = free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_samples.py"), str(port), "t3", "bump"]
    )
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{s3_port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    rows: list[tuple[str, float, float, float]] = []
    try:
        wait_for(f"{endpoint}/moto-api/")
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            data = base / "data"
            fill_archive(data, ARCHIVE)
            plain = Settings.from_env(
                {},
                data_dir=data,
                sources=sources_file(base, port),
                systems=ROOT / "feeds" / "systems.toml",
                detail_refresh_seconds=0,
            )
            settings = replace(plain, publish_s3=f"s3://{BUCKET}/toldfeed")
            clock = [datetime(2026, 5, 20, 7, 30, tzinfo=UTC)]
            with Runtime.open(plain) as polling, Runtime.open(settings) as uploading:
                poller = Service(polling, clock=lambda: clock[0])
                uploader = Service(uploading, clock=lambda: clock[0])
                poller.ensure_published()
                poller.poll_once(force=True)  # the samples themselves: everything new
                cpu, wall, first = timed(uploader.upload)
                rows.append(("first upload of everything", len(first.put), first.requests, cpu))
                first_wall = wall
                cases: dict[str, list[tuple[int, int, float]]] = {
                    "nothing changed since the last upload": [],
                    "a poll that found nothing new upstream": [],
                    "a poll in which one incident changed": [],
                    "`toldfeed publish`, nothing changed (list + HEAD each)": [],
                }
                names = list(cases)
                for _ in range(REPEATS):
                    for name in names:
                        clock[0] += timedelta(minutes=4)  # within the 15-minute refresh
                        if name == names[2]:
                            urllib.request.urlopen(f"http://127.0.0.1:{port}/__bump").read()
                        if name in names[1:3]:
                            report = poller.poll_once(force=True)
                            assert report is not None and report.ok
                            assert len(report.changed_keys) == (1 if name == names[2] else 0)
                        verify = name == names[3]
                        quiet = name == names[1]  # as poll_once says it after such a poll
                        cpu, _, result = timed(
                            lambda verify=verify, quiet=quiet: uploader.upload(verify, quiet)
                        )
                        cases[name].append((len(result.put), result.requests, cpu))
                for name, runs in cases.items():
                    rows.append(
                        (
                            name,
                            statistics.median(r[0] for r in runs),
                            statistics.median(r[1] for r in runs),
                            statistics.median(r[2] for r in runs),
                        )
                    )
                documents = len(uploader.publisher.stored())
    finally:
        upstream.terminate()
        moto.terminate()
    lines = [
        "| upload run | objects put | requests | CPU ms |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {put:.0f} | {req:.0f} | {cpu:.1f} |" for name, put, req, cpu in rows),
        "",
        f"{documents} documents; archive of {ARCHIVE:,} closed incidents plus the samples. "
        f"The first upload took {first_wall / 1000:.2f} s wall against moto on the same machine "
        "(one PUT at a time).",
    ]
    table = "\n".join(lines)
    print(table)
    write_section(
        "Publishing to object storage",
        table,
        f"moto server in its own process; medians of {REPEATS} runs",
    )


if __name__ == "__main__":
    main()
