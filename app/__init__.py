"""toldfeed: clean feeds from the Danish Customs Agency's service-status page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask

from app.config import Settings
from app.docstore import Library
from app.metrics import Metrics
from app.runtime import Runtime
from app.service import Service
from app.serving import DocumentServer
from app.store import Store


@dataclass
class AppState:
    """What routes reach through ``current_app.extensions['toldfeed']``."""

    settings: Settings
    store: Store
    runtime: Runtime
    service: Service
    library: Library
    metrics: Metrics


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, poll: bool | None = None
) -> Flask:
    """Build the WSGI app; with ``poll`` (default: ``settings.poll_on_serve``) start the poller."""
    if not logging.getLogger().handlers:  # under gunicorn: one line per event on stderr
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    settings = settings or Settings.from_env()
    runtime = runtime or Runtime.open(settings)
    service = Service(runtime)
    site = service.site
    library = Library(site, runtime.store)
    metrics = Metrics(runtime.store)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    from app.web import bp

    app.register_blueprint(bp)
    app.extensions["toldfeed"] = AppState(
        settings, runtime.store, runtime, service, library, metrics
    )

    inner: Any = app.wsgi_app

    def counted(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            metrics.observe(environ.get("PATH_INFO", ""), int(status[:3]))
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = DocumentServer(  # type: ignore[method-assign]
        counted,
        site,
        library,
        max_age=int(settings.poll_seconds),
        frame_ancestors=settings.frame_ancestors,
        on_response=metrics.observe,
    )
    if not service.publisher.up_to_date():
        service.publish(None, full=True)  # first run, or a new base URL or catalogue
    if settings.poll_on_serve if poll is None else poll:
        app.extensions["toldfeed_stop"] = service.start()
    return app
