"""The production shapes as shipped: the Procfile's web line alone (as a PaaS runs it), behind
``deploy/nginx.conf``, and ``deploy/nginx-export.conf`` serving an export.

A PaaS router reaches the web process on another address than 127.0.0.1 and puts no proxy of
ours in front of it, so the Procfile's command must listen on every interface at ``$PORT`` and
hold slow clients (headers sent a byte at a time) by itself: with 50 of them, probes still
answer at once. nginx is a Debian package that ``.ci/run`` installs; the tests that need it
skip without it (outside CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from app.cli.export import export_all
from app.config import Settings
from app.runtime import Runtime
from app.service import Service
from tests.conftest import ROOT, local_http
from tests.receivers import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def nginx_binary() -> str:
    """nginx's path; skips the test where it is missing (outside CI, where it must be there)."""
    if NGINX is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed")
        pytest.skip("no nginx on this machine")
    return NGINX


def wait_for(url: str, seconds: float = 20) -> None:
    until = time.monotonic() + seconds
    with local_http(timeout=1) as http:  # one for every try
        while True:
            try:
                http.get(url)
                return
            except httpx.HTTPError:
                if time.monotonic() > until:
                    raise
                time.sleep(0.02)


def procfile_web() -> str:
    """The Procfile's web command, as written."""
    return (ROOT / "Procfile").read_text(encoding="utf-8").split("web:", 1)[1].strip()


def start_procfile(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The web command run as a PaaS runs it: by a shell, with ``PORT`` in the environment
    (the virtualenv's ``gunicorn`` first on ``PATH``)."""
    assert procfile_web().startswith("gunicorn ")
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(
        ["/bin/sh", "-c", f"exec {procfile_web()}"],
        cwd=ROOT,
        env={**env, "PORT": str(port), "PATH": path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> int | None:
    """Terminate ``process``; its exit status, or None when it had to be killed."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None


@pytest.fixture(scope="module")
def procfile(filled_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The Procfile's web process on a copy of the filled store (no poller); yields its port.

    One for the module: it only serves, and each test's checks hold whatever the others asked
    of it before (``tests/conftest.py`` sends this module's tests to one worker together).
    """
    directory = tmp_path_factory.mktemp("procfile")
    shutil.copytree(filled_data_dir, directory / "data")
    (directory / "metrics").mkdir()
    port = free_port()
    env = {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(directory / "data"),
        "TOLDFEED_SOURCES": str(filled_data_dir.parent / "sources.toml"),
        "TOLDFEED_SYSTEMS": str(ROOT / "feeds" / "systems.toml"),
        "TOLDFEED_POLL_ON_SERVE": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
    }
    web = start_procfile(port, env)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        yield port
    finally:
        # a graceful stop: the workers finish what they began and exit, with no kill needed
        assert stop(web) == 0


def shipped_server_block(name: str, replacements: dict[str, str]) -> str:
    """A file of ``deploy/`` with its production values replaced by the test's."""
    block = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in block, f"{old!r} not in deploy/{name}"
        block = block.replace(old, new)
    return block


def start_nginx(directory: Path, block: str) -> subprocess.Popen[bytes]:
    """nginx running a whole nginx.conf around ``block``, on test ports, in ``directory``."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read pytest's 0700 tmp
    conf.write_text(
        f"""
{user}
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    {block}
}}
""",
        encoding="utf-8",
    )
    return subprocess.Popen(
        [nginx_binary(), "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_the_procfile_listens_on_every_interface_at_port(procfile: int) -> None:
    """A PaaS router connects from outside the container: 127.0.0.2 stands for any address
    that is not 127.0.0.1 (a socket bound to 127.0.0.1 refuses it)."""
    assert "${PORT" in procfile_web()
    with local_http(timeout=5) as http:
        answer = http.get(f"http://127.0.0.2:{procfile}/healthz")
    assert answer.status_code in {200, 503}  # 503: the fixture's store is old


def test_the_procfile_answers_at_once_behind_50_slow_clients_without_nginx(
    procfile: int,
) -> None:
    """50 connections send their headers a byte at a time (never finishing, for at most 25 s);
    8 probes on fresh connections are all answered within 2 s each."""
    request = b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 500
    slow = [socket.create_connection(("127.0.0.1", procfile)) for _ in range(50)]
    stopping = threading.Event()

    def drip() -> None:
        for at in range(len(request)):
            for s in slow:
                with contextlib.suppress(OSError):  # a slow client closed by the server
                    s.sendall(request[at : at + 1])
            if stopping.wait(0.05):
                return

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    try:
        time.sleep(0.5)  # every slow client has begun its headers
        took: dict[str, float] = {}
        with local_http(timeout=2) as http:
            for n, path in enumerate(["/healthz", "/feeds/all.atom", "/", "/api/systems.json"] * 2):
                started = time.monotonic()
                try:
                    status = http.get(
                        f"http://127.0.0.1:{procfile}{path}", headers={"Connection": "close"}
                    ).status_code
                except httpx.TimeoutException:
                    status = 0
                took[f"{n} {path}"] = time.monotonic() - started
                assert status in {200, 503}, f"{path} unanswered behind 50 slow clients: {took}"
        assert max(took.values()) < 2.0, took
        assert dripping.is_alive()  # the slow clients were still sending all along
    finally:
        stopping.set()
        dripping.join(timeout=5)
        for s in slow:
            s.close()


def test_the_procfile_workers_report_one_set_of_request_counters(procfile: int) -> None:
    """prometheus-client's multiprocess mode under the Procfile's workers: every request
    counted once, whichever worker answered it (counted from what the server counted before:
    the module's other tests share it)."""

    def feeds_counted() -> float:
        with local_http() as http:
            metrics = http.get(f"http://127.0.0.1:{procfile}/metrics").text
        found = re.search(
            r'^toldfeed_requests_total\{kind="feeds",status="200"\} (\S+)$', metrics, re.M
        )
        return 0.0 if found is None else float(found.group(1))

    before = feeds_counted()
    with local_http(headers={"Connection": "close"}) as http:  # a connection each: the
        for _ in range(20):  # workers share them
            assert http.get(f"http://127.0.0.1:{procfile}/feeds/all.atom").status_code == 200
    after = feeds_counted()
    assert after - before == 20, (before, after)


@pytest.mark.slow
def test_the_shipped_nginx_config_keeps_the_procfile_responsive_under_slow_clients(
    procfile: int, tmp_path: Path
) -> None:
    listen = free_port()
    nginx = start_nginx(
        tmp_path,
        shipped_server_block(
            "nginx.conf",
            {
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{procfile};",
                "listen 80;": f"listen 127.0.0.1:{listen};",
            },
        ),
    )
    deployed = f"http://127.0.0.1:{listen}"
    slow: list[socket.socket] = []
    try:
        wait_for(f"{deployed}/healthz")
        for _ in range(24):
            s = socket.create_connection(("127.0.0.1", listen))
            s.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        time.sleep(0.3)
        with local_http(timeout=5) as http:
            for path in ("/healthz", "/feeds/all.atom", "/"):
                started = time.monotonic()
                response = http.get(deployed + path)
                took = time.monotonic() - started
                assert response.status_code in {200, 503}, path  # 503: the store is old
                assert took < 1.0, f"{path} took {took:.2f}s behind 24 slow clients"
            feed = http.get(deployed + "/feeds/all.atom")
            assert feed.status_code == 200 and feed.headers["etag"]
            again = http.get(
                deployed + "/feeds/all.atom", headers={"If-None-Match": feed.headers["etag"]}
            )
            assert again.status_code == 304  # validators pass through the proxy
    finally:
        for s in slow:
            s.close()
        stop(nginx)


def test_the_shipped_export_config_serves_every_file_with_toldfeeds_content_type(
    filled: Settings, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    export_all(filled, site)
    with Runtime.open(filled) as runtime:
        documents = Service(runtime).publisher.stored()
    listen = free_port()
    (tmp_path / "nginx").mkdir()
    nginx = start_nginx(
        tmp_path / "nginx",
        shipped_server_block(
            "nginx-export.conf",
            {"listen 80;": f"listen 127.0.0.1:{listen};", "root /srv/toldfeed;": f"root {site};"},
        ),
    )
    base = f"http://127.0.0.1:{listen}"
    try:
        wait_for(f"{base}/feeds/all.atom")
        with local_http(timeout=5) as http:
            served = {path: http.get(f"{base}/{quote(path)}") for path in documents}
            wrong = {
                path: (answer.status_code, answer.headers.get("content-type"))
                for path, answer in served.items()
                if answer.status_code != 200
                or answer.headers.get("content-type") != documents[path].content_type
            }
            assert wrong == {}
            for path, expected in {
                "calendar/all.ics": "text/calendar; charset=utf-8",
                "da/calendar/system/dms-import.ics": "text/calendar; charset=utf-8",
                "api/systems.json": "application/json; charset=utf-8",
                "api/incidents.json": "application/json; charset=utf-8",
                "feeds/all.json": "application/feed+json; charset=utf-8",
                "feeds/all.atom": "application/atom+xml; charset=utf-8",
                "da/feeds/status/current.rss": "application/rss+xml; charset=utf-8",
                "feeds.opml": "text/x-opml; charset=utf-8",
                "badge/ics2.svg": "image/svg+xml",
            }.items():
                assert served[path].headers["content-type"] == expected, path
            # pages by their URLs, without .html
            for url in ("/", "/da/", "/systems/ics2", "/embed/ics2", "/da/systems/dms-import"):
                page = http.get(base + url)
                assert page.status_code == 200, url
                assert page.headers["content-type"] == "text/html; charset=utf-8", url
            zipped = http.get(f"{base}/calendar/all.ics", headers={"Accept-Encoding": "gzip"})
            assert zipped.headers.get("content-encoding") == "gzip"
    finally:
        stop(nginx)
