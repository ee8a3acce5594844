"""The one module-level WSGI app, for gunicorn: ``gunicorn app.wsgi:application``.

Logging is set up here (the command line sets it up for itself), then the app is built from
the environment's settings.
"""

from __future__ import annotations

import gc

from app.logs import setup_logging

setup_logging()

from app import create_app  # noqa: E402  (logging first: building the app logs)

application = create_app()
# what start-up made lives as long as the worker: keep it out of every garbage collection
gc.freeze()
