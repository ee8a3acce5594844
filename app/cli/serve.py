"""``toldfeed serve``: waitress running the app and its poller in one process.

waitress reads each request completely (its I/O loop buffers headers and body) before a worker
thread sees it, so slow or idle clients cost a socket, not a thread: 50 connections dripping
their headers do not delay ``/healthz`` or the feeds. The server and its settings are
``app.web.server``'s, the same that runs in each of the Procfile's gunicorn workers.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from typing import Any

from app.config import Settings
from app.errors import ConfigError
from app.web.server import make_server

log = logging.getLogger("toldfeed.serve")


def build_app(settings: Settings, demo: bool) -> Any:
    """The Flask app; for the demo, a filled demo store polled from the bundled samples."""
    from app import create_app
    from app.runtime import Runtime

    if not demo:
        return create_app(settings)
    from app.cli.demo import SampleTransport, demo_clock, demo_settings, fill_demo
    from app.service import Service

    settings = demo_settings(settings)
    transport = SampleTransport()
    runtime = Runtime.open(settings, transport=transport)
    clock = demo_clock(runtime.store.poll_started_at())
    if runtime.store.generation() == 0:
        fill_demo(runtime, transport)
        Service(runtime, clock=clock).poll_once(force=True)
    log.info("demo store in %s, filled from the bundled samples (no network)", settings.data_dir)
    return create_app(settings, runtime=runtime, clock=clock)


def serve_forever(settings: Settings, host: str, port: int, demo: bool = False) -> int:
    """Run until interrupted."""
    if not settings.base_url_set:  # links and self URLs point at where we listen
        shown = "localhost" if host in {"0.0.0.0", "127.0.0.1", "::"} else host
        # recorded with the documents, so `toldfeed poll` or `export` beside this server keeps it
        settings = replace(settings, base_url=f"http://{shown}:{port}", base_url_set=True)
    data_dir = settings.data_dir / "demo" if demo else settings.data_dir
    _check_address(host, port)  # before anything is opened: a taken port is one line
    server = make_server(build_app(settings, demo), host, port)
    log.info("toldfeed on http://%s:%d/ (data in %s)", host, port, data_dir)
    server.run()
    return 0


def _check_address(host: str, port: int) -> None:
    """ConfigError when ``host:port`` cannot be listened on (taken, or not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
            probe.bind((host, port))
    except (OSError, OverflowError) as e:  # OverflowError: a port past 65535
        reason = getattr(e, "strerror", None) or e
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason}; choose another --port/--host"
        ) from e
