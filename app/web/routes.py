"""The Flask app (the only importer of flask) and its routes: health, metrics and error pages.
Documents are served by ``app.web.hotpath`` in front of it; ``app.web.app`` wires the two."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from app.model import Lang
from app.notify.outbox import health_section
from app.site.forms import CONFIRM, SUBSCRIBE, SUBSCRIPTION, UNSUBSCRIBE
from app.site.health import assess_health
from app.store import Store
from app.store.records_codec import poll_report_to_dict
from app.web.subscription_pages import FormRequest

bp = Blueprint("toldfeed", __name__)
App: TypeAlias = Flask


def new_app() -> App:
    """A Flask app with these routes and a 64 KB request body limit."""
    app = Flask("app")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.register_blueprint(bp)
    return app


def health_report(state: Any, now: datetime) -> tuple[dict[str, Any], int]:
    """The /healthz document and its status: 503 once no source was read for too long."""
    settings = state.settings
    store: Store = state.store
    health = store.health()
    health_state = assess_health(health, settings, now)
    last_poll = store.last_poll()
    doc = {
        "status": "ok" if health_state.fresh else "stale",
        "checked_at": now.isoformat(),
        "last_success_at": _iso(health_state.last_success_at),
        "clock_suspect": _iso(health_state.clock_suspect_at),
        "stale_after_seconds": settings.stale_after_seconds,
        "blind_since": _iso(health_state.blind.since if health_state.blind else None),
        "incidents_stored": store.incident_count(),
        "unknown_systems": list(health_state.unknown_systems),
        "sources": {
            url: {
                "kind": r.kind,
                "last_outcome": r.last_outcome,
                "last_success_at": _iso(r.last_success_at),
                "last_failure_at": _iso(r.last_failure_at),
                "last_error": r.last_error,
                "consecutive_failures": r.consecutive_failures,
                "next_attempt_at": _iso(r.next_attempt_at),
                "parse_warnings": list(r.warnings),
                "unknown_systems": list(r.unknown_systems),
            }
            for url, r in health.items()
        },
        "last_poll": poll_report_to_dict(last_poll) if last_poll else None,
        "notify": health_section(store, state.runtime.targets, settings.subscriptions_on),
        "publish": _publish_report(settings, store),
    }
    return doc, 200 if health_state.fresh else 503


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _publish_report(settings: Any, store: Store) -> dict[str, Any] | None:
    """Uploads to the bucket as the last upload run left them; None without a bucket."""
    target = settings.publish_target
    if target is None:
        return None
    status = store.publish_status()
    ran = status is not None and status.target == str(target)
    return {
        "target": str(target),
        "last_attempt_at": _iso(status.last_attempt_at) if ran and status else None,
        "last_success_at": _iso(status.last_success_at) if ran and status else None,
        "last_failure_at": _iso(status.last_failure_at) if ran and status else None,
        "last_error": status.last_error if ran and status else None,
        "failing_since": _iso(status.failing_since) if ran and status else None,
        "pending": status.pending if ran and status else None,  # None: no upload run yet
    }


@bp.get("/healthz")
def healthz() -> Response:
    """JSON health: 200 while data is fresh, 503 once no source was read for too long."""
    state = current_app.extensions["toldfeed"]
    doc, status = health_report(state, state.service.clock())
    response = jsonify(doc)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition."""
    state = current_app.extensions["toldfeed"]
    return Response(
        state.metrics.render(), mimetype="text/plain", headers={"Cache-Control": "no-store"}
    )


# --- the e-mail subscription's pages (app.web.subscription_pages) ----------------------------

# what every subscription page answers with: never cached or indexed, no Referer to other
# sites (the URL holds a token; "no-referrer" would make browsers send "Origin: null" with
# the page's own forms, which the cross-site check refuses), no frame, no script; forms post
# to toldfeed only
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


def _answer(handler: str, *args: Any) -> Response:
    pages = current_app.extensions["toldfeed"].pages
    if pages is None:
        abort(404)  # TOLDFEED_SUBSCRIPTIONS is not "email"
    req = FormRequest(
        method=request.method,
        now=current_app.extensions["toldfeed"].service.clock(),
        form={name: request.form.getlist(name) for name in request.form},
        token=request.args.get("token", ""),
        origin=request.headers.get("Origin"),
        fetch_site=request.headers.get("Sec-Fetch-Site"),
        host_url=request.host_url,
        remote_addr=request.remote_addr or "",
        forwarded_for=request.headers.get("X-Forwarded-For", ""),
    )
    reply = getattr(pages, handler)(req, *args)
    response = Response(reply.body, status=reply.status, mimetype="text/html")
    response.headers.update(_PAGE_HEADERS)
    response.headers.update(dict(reply.headers))
    return response


@bp.route(SUBSCRIBE, methods=["GET", "POST"], defaults={"lang": "en"})
@bp.route(f"/da{SUBSCRIBE}", methods=["GET", "POST"], defaults={"lang": "da"})
def subscribe(lang: str) -> Response:
    """The sign-up form, and a sign-up."""
    return _answer("subscribe", Lang(lang))


@bp.route(CONFIRM, methods=["GET", "POST"])
def confirm() -> Response:
    """A page with the Confirm button; POST confirms."""
    return _answer("confirm")


@bp.route(SUBSCRIPTION, methods=["GET", "POST"])
def subscription() -> Response:
    """The subscriber's own page; POST saves it."""
    return _answer("manage")


@bp.route(UNSUBSCRIBE, methods=["GET", "POST"])
def unsubscribe() -> Response:
    """A page with the Unsubscribe button; POST (RFC 8058 one-click too) unsubscribes."""
    return _answer("unsubscribe")


@bp.app_errorhandler(404)
def not_found(error: Any) -> tuple[str, int, dict[str, str]]:
    """Plain 404 that says where the documents are."""
    return (
        "not found; see / for every feed URL\n",
        404,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


@bp.app_errorhandler(405)
def not_allowed(error: Any) -> tuple[str, int, dict[str, str]]:
    """Plain 405."""
    return (
        "method not allowed\n",
        405,
        {"Content-Type": "text/plain; charset=utf-8", "Allow": "GET, HEAD"},
    )
