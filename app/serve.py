"""``toldfeed serve``: gunicorn (one worker, threads) running the app and its poller."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from gunicorn.app.base import BaseApplication

from app.config import Settings

log = logging.getLogger("toldfeed.serve")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Any, options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()  # in the worker: the poller thread must start after the fork


def build_app(settings: Settings, demo: bool) -> Any:
    """The Flask app; for the demo, a filled demo store polled from the bundled samples."""
    from app import create_app
    from app.runtime import Runtime

    if not demo:
        return create_app(settings)
    from app.demo import SampleTransport, demo_settings, fill_demo
    from app.service import Service

    settings = demo_settings(settings)
    transport = SampleTransport()
    runtime = Runtime.open(settings, transport=transport)
    if runtime.store.generation() == 0:
        fill_demo(runtime, transport)
        Service(runtime).poll_once(force=True)
    log.info("demo store in %s, filled from the bundled samples (no network)", settings.data_dir)
    return create_app(settings, runtime=runtime)


def serve_forever(settings: Settings, host: str, port: int, demo: bool = False) -> int:
    """Run until interrupted."""
    if not settings.base_url_set:  # links and self URLs point at where we listen
        shown = "localhost" if host in {"0.0.0.0", "127.0.0.1", "::"} else host
        settings = replace(settings, base_url=f"http://{shown}:{port}")
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "errorlog": "-",
        "loglevel": "info",
    }
    log.info("toldfeed on http://%s:%d/ (data in %s)", host, port, settings.data_dir)
    _Gunicorn(lambda: build_app(settings, demo), options).run()
    return 0
