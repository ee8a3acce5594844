"""The production shape as shipped: the Procfile's gunicorn behind ``deploy/nginx.conf``.

Slow clients (headers sent a byte at a time, then nothing) are nginx's problem, not
gunicorn's: with more of them than gunicorn has threads, ``/healthz`` and the feeds still
answer at once. nginx is a Debian package that ``.ci/run`` installs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import ROOT

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
if NGINX is None and os.environ.get("CI") != "true":
    pytest.skip("no nginx on this machine", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 20) -> None:
    until = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > until:
                raise
            time.sleep(0.1)


def procfile_command(port: int) -> list[str]:
    """The Procfile's web command, with its ``${PORT:-8000}`` filled in."""
    line = (ROOT / "Procfile").read_text(encoding="utf-8").split("web:", 1)[1].strip()
    line = line.replace("${PORT:-8000}", str(port))
    words = shlex.split(line)
    assert words[0] == "gunicorn"
    return [str(Path(sys.executable).with_name("gunicorn")), *words[1:]]


def nginx_config(directory: Path, listen: int, upstream: int) -> Path:
    """A whole nginx.conf around the shipped server block, on test ports, run unprivileged."""
    shipped = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    block = shipped.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    block = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen};", block)
    assert f"127.0.0.1:{upstream}" in block and f"127.0.0.1:{listen}" in block
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""
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
    return conf


@pytest.fixture
def deployed(filled: Settings, tmp_path: Path) -> Iterator[str]:
    app_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "TOLDFEED_DATA_DIR": str(filled.data_dir),
        "TOLDFEED_SOURCES": str(filled.sources),
        "TOLDFEED_SYSTEMS": str(filled.systems),
        "TOLDFEED_POLL_ON_SERVE": "0",
    }
    gunicorn = subprocess.Popen(
        procfile_command(app_port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conf = nginx_config(tmp_path, web_port, app_port)
    nginx = subprocess.Popen(
        [str(NGINX), "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{app_port}/healthz")
        wait_for(f"http://127.0.0.1:{web_port}/healthz")
        yield f"http://127.0.0.1:{web_port}"
    finally:
        for process in (nginx, gunicorn):
            process.terminate()
        for process in (nginx, gunicorn):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
def test_the_shipped_nginx_config_keeps_the_procfile_responsive_under_slow_clients(
    deployed: str,
) -> None:
    port = int(deployed.rsplit(":", 1)[1])
    slow: list[socket.socket] = []
    try:
        for _ in range(24):  # three times gunicorn's 2 workers x 4 threads
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        time.sleep(0.3)
        with httpx.Client(timeout=5) as http:
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
