"""The baseline: a bare WSGI app returning one file's bytes from memory (with a 304 check).

It sends the same headers toldfeed promises for a feed (ETag, Last-Modified, Cache-Control,
Vary, CORS, nosniff), so the comparison measures toldfeed's code and not the HTTP contract
(gunicorn's cost per header is about a microsecond).

Run under the same server settings as toldfeed (bench/serve_bench.py runs it under the Procfile's
gunicorn command): ``BARE_FILE=path gunicorn bench.bare_wsgi:app``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from typing import Any

BODY = open(os.environ["BARE_FILE"], "rb").read()  # noqa: SIM115 (read once at import)
ETAG = '"' + hashlib.blake2b(BODY, digest_size=10).hexdigest() + '"'
COMMON = [
    ("ETag", ETAG),
    ("Last-Modified", "Tue, 19 May 2026 19:50:00 GMT"),
    ("Cache-Control", "public, max-age=300"),
    ("Vary", "Accept-Encoding"),
    ("Access-Control-Allow-Origin", "*"),
    ("X-Content-Type-Options", "nosniff"),
]
HEADERS = [
    ("Content-Type", "application/atom+xml; charset=utf-8"),
    *COMMON,
    ("Content-Length", str(len(BODY))),
]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Serve BODY; 304 when If-None-Match matches."""
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 Not Modified", COMMON)
        return [b""]
    start_response("200 OK", HEADERS)
    return [BODY]
