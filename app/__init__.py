"""toldfeed: clean feeds from the Danish Customs Agency's service-status page.

The package root is wiring only and imports nothing heavy, so ``import app.model`` is cheap;
``create_app`` builds the WSGI app (``app.wsgi`` holds the one module-level app for gunicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings
    from app.runtime import Runtime


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, poll: bool | None = None
) -> Flask:
    """Build the WSGI app; with ``poll`` (default: ``settings.poll_on_serve``) start the poller."""
    from app.webapp import build

    return build(settings, runtime=runtime, poll=poll)
