"""The pages of the running service that are forms, not documents: the e-mail subscription's.
Pure.

They are answered by the web app (``app.web.routes``), never stored or exported; the
documents that show the form (every system's page) post to ``<base URL>/subscribe``, so the
static export and the bucket keep a form that the running service answers.
"""

from __future__ import annotations

from urllib.parse import quote

from app.model import Lang

SUBSCRIBE = "/subscribe"  # GET the form (``/da/subscribe`` in Danish), POST a sign-up
SUBSCRIPTION = "/subscription"  # ?token=T: the subscriber's own page
CONFIRM = "/subscription/confirm"  # ?token=T: a page with a Confirm button
UNSUBSCRIBE = "/subscription/unsubscribe"  # ?token=T: POST unsubscribes (RFC 8058 too)


def form_url(base_url: str, path: str, token: str = "", lang: Lang = Lang.EN) -> str:
    """The absolute URL of ``path`` (with ``?token=``); the Danish form is ``/da/subscribe``."""
    prefix = "/da" if lang is Lang.DA and path == SUBSCRIBE else ""
    query = f"?token={quote(token, safe='')}" if token else ""
    return f"{base_url.rstrip('/')}{prefix}{path}{query}"
