"""State records (``app.store.records``) to and from JSON-ready dicts. Pure.

HTTP validators, source state and health, poll counters and reports; the same shapes as before
the records were typed. Uploads and the outbox of push notifications: ``app.store.delivery_codec``.
The model records' JSON forms (and the time forms used here) are in ``app.store.codec``.
"""

from __future__ import annotations

from typing import Any

from app.model import Lang
from app.store.codec import (
    decode_required_time,
    decode_time,
    encode_time,
)
from app.store.records import (
    Counters,
    HttpState,
    Outcome,
    PollReport,
    SourceHealth,
    SourceReport,
    SourceState,
)
from app.upstream.result import DetailLink


def http_state_to_dict(s: HttpState) -> dict[str, Any]:
    """One URL's validators and detail bookkeeping as JSON-ready data."""
    return {
        "etag": s.etag,
        "last_modified": s.last_modified,
        "checked_at": encode_time(s.checked_at),
        "parsed": s.parsed,
        "last_updated": encode_time(s.last_updated_at),
    }


def http_state_from_dict(d: dict[str, Any]) -> HttpState:
    """Inverse of ``http_state_to_dict``."""
    return HttpState(
        checked_at=decode_required_time(d.get("checked_at")),
        etag=d.get("etag"),
        last_modified=d.get("last_modified"),
        parsed=bool(d.get("parsed")),
        last_updated_at=decode_time(d.get("last_updated")),
    )


def source_state_to_dict(s: SourceState) -> dict[str, Any]:
    """One source's state as JSON-ready data (a link is ``[url, oid, lang, last_updated]``)."""
    return {
        "links": [
            [ln.url, ln.oid, ln.lang.value, encode_time(ln.last_updated_at)] for ln in s.links
        ],
        "feed_links": list(s.feed_links),
        "entries": s.entries,
        "discovered": s.discovered,
    }


def source_state_from_dict(d: dict[str, Any]) -> SourceState:
    """Inverse of ``source_state_to_dict``."""
    return SourceState(
        links=tuple(
            DetailLink(url, int(oid), Lang(lang), decode_time(at))
            for url, oid, lang, at in d.get("links", ())
        ),
        feed_links=tuple(d.get("feed_links", ())),
        entries=int(d.get("entries", 0)),
        discovered=d.get("discovered"),
    )


def source_health_to_dict(h: SourceHealth) -> dict[str, Any]:
    """One source's health as JSON-ready data."""
    return {
        "kind": h.kind,
        "last_outcome": h.last_outcome.value if h.last_outcome else None,
        "last_attempt_at": encode_time(h.last_attempt_at),
        "last_success_at": encode_time(h.last_success_at),
        "last_failure_at": encode_time(h.last_failure_at),
        "last_error": h.last_error,
        "consecutive_failures": h.consecutive_failures,
        "failing_since": encode_time(h.failing_since),
        "next_attempt_at": encode_time(h.next_attempt_at),
        "entries": h.entries,
        "warnings": list(h.warnings),
        "unknown_systems": list(h.unknown_systems),
    }


def source_health_from_dict(d: dict[str, Any]) -> SourceHealth:
    """Inverse of ``source_health_to_dict``."""
    return SourceHealth(
        kind=d.get("kind") or "",
        last_outcome=Outcome(d["last_outcome"]) if d.get("last_outcome") else None,
        last_attempt_at=decode_time(d.get("last_attempt_at")),
        last_success_at=decode_time(d.get("last_success_at")),
        last_failure_at=decode_time(d.get("last_failure_at")),
        last_error=d.get("last_error"),
        consecutive_failures=int(d.get("consecutive_failures", 0)),
        failing_since=decode_time(d.get("failing_since")),
        next_attempt_at=decode_time(d.get("next_attempt_at")),
        entries=int(d.get("entries", 0)),
        warnings=tuple(d.get("warnings", ())),
        unknown_systems=tuple(d.get("unknown_systems", ())),
    )


def counters_to_dict(c: Counters) -> dict[str, Any]:
    """Poll counters as JSON-ready data (failures flat, as ``failures:<url>``)."""
    return {
        "polls": c.polls,
        "poll_seconds_total": c.poll_seconds_total,
        "last_poll_seconds": c.last_poll_seconds,
        "not_modified": c.not_modified,
        **{f"failures:{url}": n for url, n in c.failures.items()},
    }


def counters_from_dict(d: dict[str, Any]) -> Counters:
    """Inverse of ``counters_to_dict``."""
    return Counters(
        polls=int(d.get("polls", 0)),
        poll_seconds_total=float(d.get("poll_seconds_total", 0.0)),
        last_poll_seconds=float(d.get("last_poll_seconds", 0.0)),
        not_modified=int(d.get("not_modified", 0)),
        failures={
            k.removeprefix("failures:"): int(n) for k, n in d.items() if k.startswith("failures:")
        },
    )


def poll_report_to_dict(r: PollReport) -> dict[str, Any]:
    """A poll report as JSON-ready data (also its shape as ``last_poll`` in /healthz)."""
    return {
        "started_at": encode_time(r.started_at),
        "finished_at": encode_time(r.finished_at),
        "ok": r.ok,
        "sources": [
            {
                "url": s.url,
                "kind": s.kind,
                "outcome": s.outcome.value,
                "entries": s.entries,
                "error": s.error,
                "warnings": list(s.warnings),
                "unknown_systems": list(s.unknown_systems),
                "retry_after": s.retry_after,
                "max_age": s.max_age,
                "via": s.via,
            }
            for s in r.sources
        ],
        "details": {
            "fetched": r.details_fetched,
            "not_modified": r.details_not_modified,
            "failed": r.details_failed,
            "deferred": r.details_deferred,
            "errors": list(r.detail_errors[:20]),
        },
        "new": list(r.new_keys),
        "changed": list(r.changed_keys),
        "removed": list(r.removed_keys),
    }


def poll_report_from_dict(d: dict[str, Any]) -> PollReport:
    """Inverse of ``poll_report_to_dict`` (at most 20 detail errors are kept)."""
    details = d.get("details", {})
    return PollReport(
        started_at=decode_required_time(d["started_at"]),
        finished_at=decode_time(d.get("finished_at")),
        sources=tuple(
            SourceReport(
                url=s["url"],
                kind=s["kind"],
                outcome=Outcome(s["outcome"]),
                entries=int(s.get("entries", 0)),
                error=s.get("error"),
                warnings=tuple(s.get("warnings", ())),
                unknown_systems=tuple(s.get("unknown_systems", ())),
                retry_after=s.get("retry_after"),
                max_age=s.get("max_age"),
                via=s.get("via"),
            )
            for s in d.get("sources", ())
        ),
        details_fetched=int(details.get("fetched", 0)),
        details_not_modified=int(details.get("not_modified", 0)),
        details_failed=int(details.get("failed", 0)),
        details_deferred=int(details.get("deferred", 0)),
        new_keys=tuple(d.get("new", ())),
        changed_keys=tuple(d.get("changed", ())),
        removed_keys=tuple(d.get("removed", ())),
        detail_errors=tuple(details.get("errors", ())),
    )
