"""Logging set-up for the command line and the gunicorn entry point: one line per event."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr at INFO (DEBUG when ``verbose``) unless logging is already configured."""
    if logging.getLogger().handlers:
        return
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format=FORMAT, stream=sys.stderr
    )
