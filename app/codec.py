"""Records to and from JSON-ready dicts (versioned; never pickles). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.model import (
    Fallback,
    Incident,
    Kind,
    Lang,
    Message,
    Observation,
    SourceKind,
    Status,
    Update,
    Version,
    Window,
)
from app.state_records import (
    Counters,
    Delivery,
    HttpState,
    Notification,
    OutboxState,
    Outcome,
    PollReport,
    PublishStatus,
    SourceHealth,
    SourceReport,
    SourceState,
    TargetStats,
    UploadRecord,
)
from app.upstream.result import DetailLink

SCHEMA = 1


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _req(value: Any) -> datetime:
    parsed = _dt(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed


def update_to_dict(u: Update) -> dict[str, Any]:
    """An update line as JSON-ready data."""
    return {"text": u.text, "lang": u.lang.value, "at": _t(u.at), "seen_at": _t(u.seen_at)}


def update_from_dict(d: dict[str, Any]) -> Update:
    """Inverse of ``update_to_dict``."""
    return Update(
        text=d["text"], lang=Lang(d["lang"]), at=_dt(d.get("at")), seen_at=_dt(d.get("seen_at"))
    )


def window_to_dict(w: Window | None) -> dict[str, Any] | None:
    """A window as JSON-ready data (also its shape in /api/incidents.json)."""
    if w is None:
        return None
    return {
        "start": _t(w.start_at),
        "end": _t(w.end_at),
        "cancelled": w.cancelled,
        "sequence": w.sequence,
    }


def window_from_dict(d: dict[str, Any] | None) -> Window | None:
    """Inverse of ``window_to_dict``."""
    if not d:
        return None
    return Window(
        start_at=_req(d["start"]),
        end_at=_dt(d.get("end")),
        cancelled=bool(d.get("cancelled")),
        sequence=int(d.get("sequence", 0)),
    )


def fallback_to_dict(f: Fallback | None) -> dict[str, Any] | None:
    """A fallback statement as JSON-ready data (also its shape in /api/incidents.json)."""
    return None if f is None else {"allowed": f.allowed, "since": _t(f.since_at)}


def fallback_from_dict(d: dict[str, Any] | None) -> Fallback | None:
    """Inverse of ``fallback_to_dict``."""
    return None if not d else Fallback(allowed=bool(d["allowed"]), since_at=_dt(d.get("since")))


def observation_to_dict(o: Observation) -> dict[str, Any]:
    """An observation as JSON-ready data."""
    return {
        "oid": o.oid,
        "lang": o.lang.value,
        "source_kind": o.source_kind.value,
        "observed_at": _t(o.observed_at),
        "link": o.link,
        "title": o.title,
        "ref": o.ref,
        "refs": list(o.refs),
        "systems": list(o.systems),
        "unknown_systems": list(o.unknown_systems),
        "status": o.status.value if o.status else None,
        "kind": o.kind.value if o.kind else None,
        "created_at": _t(o.created_at),
        "last_updated_at": _t(o.last_updated_at),
        "message_html": o.message_html,
        "message_text": o.message_text,
        "updates": [update_to_dict(u) for u in o.updates],
        "versions": [{"at": _t(v.at), "text": v.text, "html": v.html} for v in o.versions],
        **({"last_seen_at": _t(o.last_seen_at)} if o.last_seen_at else {}),
    }


def observation_from_dict(d: dict[str, Any]) -> Observation:
    """Inverse of ``observation_to_dict``."""
    return Observation(
        oid=int(d["oid"]),
        lang=Lang(d["lang"]),
        source_kind=SourceKind(d["source_kind"]),
        observed_at=_req(d["observed_at"]),
        link=d.get("link", ""),
        title=d.get("title", ""),
        ref=d.get("ref"),
        refs=tuple(d.get("refs", ())),
        systems=tuple(d.get("systems", ())),
        unknown_systems=tuple(d.get("unknown_systems", ())),
        status=Status(d["status"]) if d.get("status") else None,
        kind=Kind(d["kind"]) if d.get("kind") else None,
        created_at=_dt(d.get("created_at")),
        last_updated_at=_dt(d.get("last_updated_at")),
        message_html=d.get("message_html", ""),
        message_text=d.get("message_text", ""),
        updates=tuple(update_from_dict(u) for u in d.get("updates", ())),
        versions=tuple(
            Version(at=_req(v["at"]), text=v["text"], html=v["html"]) for v in d.get("versions", ())
        ),
        last_seen_at=_dt(d.get("last_seen_at")),
    )


def incident_to_dict(i: Incident) -> dict[str, Any]:
    """An incident as JSON-ready data (also the shape of /api/incidents.json)."""
    return {
        "key": i.key,
        "ref": i.ref,
        "refs": list(i.refs),
        "oids": list(i.oids),
        "oid": i.oid,
        "links": dict(i.links),
        "title": dict(i.title),
        "message_html": dict(i.message_html),
        "message_text": dict(i.message_text),
        "systems": list(i.systems),
        "unknown_systems": list(i.unknown_systems),
        "status": i.status.value,
        "kind": i.kind.value,
        "published_at": _t(i.published_at),
        "updated_at": _t(i.updated_at),
        "upstream_updated_at": _t(i.upstream_updated_at),
        "updates": [update_to_dict(u) for u in i.updates],
        "window": window_to_dict(i.window),
        "fallback": fallback_to_dict(i.fallback),
        "closed_at": _t(i.closed_at),
        "earlier": [
            {
                "oid": m.oid,
                "lang": m.lang.value,
                "title": m.title,
                "html": m.html,
                "link": m.link,
                "at": _t(m.at),
            }
            for m in i.earlier
        ],
    }


def incident_from_dict(d: dict[str, Any]) -> Incident:
    """Inverse of ``incident_to_dict``."""
    return Incident(
        key=d["key"],
        refs=tuple(d["refs"]),
        oids=tuple(d["oids"]),
        oid=int(d["oid"]),
        links=dict(d["links"]),
        title=dict(d["title"]),
        message_html=dict(d["message_html"]),
        message_text=dict(d["message_text"]),
        systems=tuple(d["systems"]),
        unknown_systems=tuple(d.get("unknown_systems", ())),
        status=Status(d["status"]),
        kind=Kind(d["kind"]),
        published_at=_req(d["published_at"]),
        updated_at=_req(d["updated_at"]),
        upstream_updated_at=_req(d["upstream_updated_at"]),
        updates=tuple(update_from_dict(u) for u in d.get("updates", ())),
        window=window_from_dict(d.get("window")),
        fallback=fallback_from_dict(d.get("fallback")),
        closed_at=_dt(d.get("closed_at")),
        earlier=tuple(
            Message(
                oid=int(m["oid"]),
                lang=Lang(m["lang"]),
                title=m.get("title", ""),
                html=m.get("html", ""),
                link=m.get("link", ""),
                at=_dt(m.get("at")),
            )
            for m in d.get("earlier", ())
        ),
    )


# the state around a poll (app.state_records); same shapes as before the records were typed


def http_state_to_dict(s: HttpState) -> dict[str, Any]:
    """One URL's validators and detail bookkeeping as JSON-ready data."""
    return {
        "etag": s.etag,
        "last_modified": s.last_modified,
        "checked_at": _t(s.checked_at),
        "parsed": s.parsed,
        "last_updated": _t(s.last_updated_at),
    }


def http_state_from_dict(d: dict[str, Any]) -> HttpState:
    """Inverse of ``http_state_to_dict``."""
    return HttpState(
        checked_at=_req(d.get("checked_at")),
        etag=d.get("etag"),
        last_modified=d.get("last_modified"),
        parsed=bool(d.get("parsed")),
        last_updated_at=_dt(d.get("last_updated")),
    )


def source_state_to_dict(s: SourceState) -> dict[str, Any]:
    """One source's state as JSON-ready data (a link is ``[url, oid, lang, last_updated]``)."""
    return {
        "links": [[ln.url, ln.oid, ln.lang.value, _t(ln.last_updated_at)] for ln in s.links],
        "feed_links": list(s.feed_links),
        "entries": s.entries,
        "discovered": s.discovered,
    }


def source_state_from_dict(d: dict[str, Any]) -> SourceState:
    """Inverse of ``source_state_to_dict``."""
    return SourceState(
        links=tuple(
            DetailLink(url, int(oid), Lang(lang), _dt(at))
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
        "last_attempt_at": _t(h.last_attempt_at),
        "last_success_at": _t(h.last_success_at),
        "last_failure_at": _t(h.last_failure_at),
        "last_error": h.last_error,
        "consecutive_failures": h.consecutive_failures,
        "failing_since": _t(h.failing_since),
        "next_attempt_at": _t(h.next_attempt_at),
        "entries": h.entries,
        "warnings": list(h.warnings),
        "unknown_systems": list(h.unknown_systems),
    }


def source_health_from_dict(d: dict[str, Any]) -> SourceHealth:
    """Inverse of ``source_health_to_dict``."""
    return SourceHealth(
        kind=d.get("kind") or "",
        last_outcome=Outcome(d["last_outcome"]) if d.get("last_outcome") else None,
        last_attempt_at=_dt(d.get("last_attempt_at")),
        last_success_at=_dt(d.get("last_success_at")),
        last_failure_at=_dt(d.get("last_failure_at")),
        last_error=d.get("last_error"),
        consecutive_failures=int(d.get("consecutive_failures", 0)),
        failing_since=_dt(d.get("failing_since")),
        next_attempt_at=_dt(d.get("next_attempt_at")),
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
        "started_at": _t(r.started_at),
        "finished_at": _t(r.finished_at),
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
        started_at=_req(d["started_at"]),
        finished_at=_dt(d.get("finished_at")),
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


def upload_record_to_dict(r: UploadRecord) -> dict[str, Any]:
    """What was put at one path as JSON-ready data."""
    return {"target": r.target, "sha256": r.sha256, "uploaded_at": _t(r.uploaded_at)}


def upload_record_from_dict(d: dict[str, Any]) -> UploadRecord:
    """Inverse of ``upload_record_to_dict``."""
    return UploadRecord(str(d["target"]), str(d["sha256"]), _req(d["uploaded_at"]))


def publish_status_to_dict(s: PublishStatus) -> dict[str, Any]:
    """The upload status as JSON-ready data."""
    return {
        "target": s.target,
        "last_attempt_at": _t(s.last_attempt_at),
        "last_success_at": _t(s.last_success_at),
        "last_failure_at": _t(s.last_failure_at),
        "last_error": s.last_error,
        "failing_since": _t(s.failing_since),
        "pending": s.pending,
        "uploads": s.uploads,
        "failures": s.failures,
        "serial": s.serial,
        "pending_paths": list(s.pending_paths),
    }


def publish_status_from_dict(d: dict[str, Any]) -> PublishStatus:
    """Inverse of ``publish_status_to_dict``."""
    return PublishStatus(
        target=str(d.get("target", "")),
        last_attempt_at=_dt(d.get("last_attempt_at")),
        last_success_at=_dt(d.get("last_success_at")),
        last_failure_at=_dt(d.get("last_failure_at")),
        last_error=d.get("last_error"),
        failing_since=_dt(d.get("failing_since")),
        pending=int(d.get("pending", 0)),
        uploads=int(d.get("uploads", 0)),
        failures=int(d.get("failures", 0)),
        serial=int(d.get("serial", 0)),
        pending_paths=tuple(d.get("pending_paths", ())),
    )


# the outbox of push notifications (app.notify)


def notification_to_dict(n: Notification) -> dict[str, Any]:
    """One queued notification as JSON-ready data (the incident as in /api/incidents.json)."""
    return {
        "id": n.id,
        "target": n.target,
        "event": n.event,
        "incident": incident_to_dict(n.incident),
        "queued_at": _t(n.queued_at),
        "state": n.state.value,
        "attempts": n.attempts,
        "next_attempt_at": _t(n.next_attempt_at),
        "last_error": n.last_error,
        "finished_at": _t(n.finished_at),
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    """Inverse of ``notification_to_dict``."""
    return Notification(
        id=d["id"],
        target=d["target"],
        event=d["event"],
        incident=incident_from_dict(d["incident"]),
        queued_at=_req(d["queued_at"]),
        state=Delivery(d.get("state", "pending")),
        attempts=int(d.get("attempts", 0)),
        next_attempt_at=_dt(d.get("next_attempt_at")),
        last_error=d.get("last_error"),
        finished_at=_dt(d.get("finished_at")),
    )


def outbox_state_to_dict(s: OutboxState) -> dict[str, Any]:
    """The deliverer's bookkeeping as JSON-ready data (outbox numbers as string keys)."""
    return {
        "cursor": s.cursor,
        "pending": {str(n): target for n, target in s.pending.items()},
        "targets": {
            name: {
                "delivered": t.delivered,
                "failed": t.failed,
                "given_up": t.given_up,
                "last_success_at": _t(t.last_success_at),
                "last_failure_at": _t(t.last_failure_at),
                "last_error": t.last_error,
            }
            for name, t in s.targets.items()
        },
    }


def outbox_state_from_dict(d: dict[str, Any]) -> OutboxState:
    """Inverse of ``outbox_state_to_dict``."""
    return OutboxState(
        cursor=int(d.get("cursor", 0)),
        pending={int(n): str(target) for n, target in (d.get("pending") or {}).items()},
        targets={
            name: TargetStats(
                delivered=int(t.get("delivered", 0)),
                failed=int(t.get("failed", 0)),
                given_up=int(t.get("given_up", 0)),
                last_success_at=_dt(t.get("last_success_at")),
                last_failure_at=_dt(t.get("last_failure_at")),
                last_error=t.get("last_error"),
            )
            for name, t in (d.get("targets") or {}).items()
        },
    )
