"""toldfeed: clean feeds from the Danish Customs Agency's service-status page.

The package root is wiring only and imports nothing heavy, so ``import app.model`` is cheap;
``create_app`` builds the WSGI app (``app.wsgi`` holds the one module-level app for gunicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from app.config import Settings
    from app.runtime import Runtime
    from app.web.routes import App


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    poll: bool | None = None,
    clock: Callable[[], datetime] | None = None,
) -> App:
    """Build the WSGI app; with ``poll`` (default: ``settings.poll_on_serve``) start the poller.

    ``clock`` (default: the real one) is the time polls and health use (the demo's starts on
    the morning of its samples).
    """
    from app.web.app import build

    return build(settings, runtime=runtime, poll=poll, clock=clock)
