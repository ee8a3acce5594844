"""The web application's wiring: store, service, document library, metrics, Flask routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.config import Settings
from app.errors import StoreError
from app.publish.library import Library
from app.runtime import Runtime
from app.service import Service
from app.store import Store
from app.web.hotpath import DocumentServer
from app.web.metrics import Metrics
from app.web.routes import App, new_app
from app.web.subscription_pages import SubscriptionPages

log = logging.getLogger("toldfeed.web")


@dataclass
class AppState:
    """What routes reach through ``current_app.extensions['toldfeed']``."""

    settings: Settings
    store: Store
    runtime: Runtime
    service: Service
    library: Library
    metrics: Metrics
    pages: SubscriptionPages | None = None  # the e-mail subscription's (when on)


def build(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    poll: bool | None = None,
    clock: Callable[[], datetime] | None = None,
) -> App:
    """The Flask app with the document server in front; renders stored documents if stale."""
    settings = settings or Settings.from_env()
    # a store that cannot be written (a full disk, a read-only mount, no permission) is served
    # read-only: readers keep their feeds
    runtime = runtime or Runtime.open(settings, read_only_fallback=True)
    service = Service(runtime) if clock is None else Service(runtime, clock=clock)
    settings = runtime.settings  # with the base URL the stored documents use, when adopted
    library = Library(runtime.store, runtime.urls, runtime.renderer)
    metrics = Metrics(runtime.store, [t.name for t in runtime.targets], settings.subscriptions_on)
    app = new_app()
    pages = None
    if settings.subscriptions_on and not runtime.store.read_only:
        pages = SubscriptionPages(
            settings,
            runtime.catalogue,
            runtime.urls,
            runtime.subscriptions,
            service.confirmations.kick,
        )
    app.extensions["toldfeed"] = AppState(
        settings, runtime.store, runtime, service, library, metrics, pages
    )
    inner: Any = app.wsgi_app

    def counted(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            metrics.observe(environ.get("PATH_INFO", ""), int(status[:3]))
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = DocumentServer(  # type: ignore[method-assign]
        counted,
        library.urls,
        library,
        max_age=int(settings.poll_seconds),
        frame_ancestors=settings.frame_ancestors,
        on_response=metrics.observe,
    )
    if runtime.store.read_only:
        # one line: what is wrong and what to do (the store's words), then what that means here
        log.error(
            "%s; serving the documents already stored, read-only: no polls until toldfeed is "
            "restarted on a writable store",
            runtime.store.read_only_reason,
        )
        return app  # nothing can be rendered or polled into a store that cannot be written
    if settings.poll_on_serve if poll is None else poll:
        # the poller renders first (first run, an upgrade, a new base URL or catalogue): a
        # worker starts serving what is stored at once, never held by a long render or by
        # another worker's poll (gunicorn would kill a worker that loads for too long)
        app.extensions["toldfeed_stop"] = service.start()
    else:
        try:
            service.ensure_published()
        except StoreError as e:  # a full disk: serve the documents stored before
            log.error("%s; serving the documents already stored", e)
        except Exception:  # a render bug must not keep stored documents from being served
            log.exception("rendering at start failed; serving the documents already stored")
    return app
