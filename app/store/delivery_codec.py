"""What toldfeed sends out, to and from JSON-ready dicts: uploads to object storage and their
status, queued push notifications and the deliverer's bookkeeping. Pure.

The records are in ``app.store.records``; poll and source state codecs in ``app.store.records_codec``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.store.codec import (
    decode_required_time,
    decode_time,
    encode_time,
    incident_from_dict,
    incident_to_dict,
)
from app.store.records import (
    Delivery,
    Digest,
    DigestMark,
    Notification,
    OutboxState,
    PublishStatus,
    TargetStats,
    Timing,
    UploadRecord,
    WindowKnown,
)


def upload_record_to_dict(r: UploadRecord) -> dict[str, Any]:
    """What was put at one path as JSON-ready data."""
    return {
        "target": r.target,
        "sha256": r.sha256,
        "uploaded_at": encode_time(r.uploaded_at),
        "cache_control": r.cache_control,
        "etag": r.etag,
    }


def upload_record_from_dict(d: dict[str, Any]) -> UploadRecord:
    """Inverse of ``upload_record_to_dict``."""
    return UploadRecord(
        str(d["target"]),
        str(d["sha256"]),
        decode_required_time(d["uploaded_at"]),
        str(d.get("cache_control", "")),
        str(d.get("etag", "")),
    )


def publish_status_to_dict(s: PublishStatus) -> dict[str, Any]:
    """The upload status as JSON-ready data."""
    return {
        "target": s.target,
        "last_attempt_at": encode_time(s.last_attempt_at),
        "last_success_at": encode_time(s.last_success_at),
        "last_failure_at": encode_time(s.last_failure_at),
        "last_error": s.last_error,
        "failing_since": encode_time(s.failing_since),
        "pending": s.pending,
        "uploads": s.uploads,
        "failures": s.failures,
        "serial": s.serial,
        "pending_paths": list(s.pending_paths),
        "cache_control": s.cache_control,
        "signature": s.signature,
    }


def publish_status_from_dict(d: dict[str, Any]) -> PublishStatus:
    """Inverse of ``publish_status_to_dict``."""
    return PublishStatus(
        target=str(d.get("target", "")),
        last_attempt_at=decode_time(d.get("last_attempt_at")),
        last_success_at=decode_time(d.get("last_success_at")),
        last_failure_at=decode_time(d.get("last_failure_at")),
        last_error=d.get("last_error"),
        failing_since=decode_time(d.get("failing_since")),
        pending=int(d.get("pending", 0)),
        uploads=int(d.get("uploads", 0)),
        failures=int(d.get("failures", 0)),
        serial=int(d.get("serial", 0)),
        pending_paths=tuple(d.get("pending_paths", ())),
        cache_control=str(d.get("cache_control", "")),
        signature=str(d.get("signature", "")),
    )


def notification_to_dict(n: Notification) -> dict[str, Any]:
    """One queued notification as JSON-ready data (the incident as in /api/incidents.json)."""
    return {
        "id": n.id,
        "target": n.target,
        "event": n.event,
        "incident": incident_to_dict(n.incident) if n.incident is not None else None,
        "queued_at": encode_time(n.queued_at),
        "state": n.state.value,
        "attempts": n.attempts,
        "next_attempt_at": encode_time(n.next_attempt_at),
        "last_error": n.last_error,
        "finished_at": encode_time(n.finished_at),
        "timing": _timing_to_dict(n.timing) if n.timing is not None else None,
        "digest": _digest_to_dict(n.digest) if n.digest is not None else None,
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    """Inverse of ``notification_to_dict``."""
    timing, digest = d.get("timing"), d.get("digest")
    return Notification(
        id=d["id"],
        target=d["target"],
        event=d["event"],
        incident=incident_from_dict(d["incident"]) if d.get("incident") else None,
        queued_at=decode_required_time(d["queued_at"]),
        state=Delivery(d.get("state", "pending")),
        attempts=int(d.get("attempts", 0)),
        next_attempt_at=decode_time(d.get("next_attempt_at")),
        last_error=d.get("last_error"),
        finished_at=decode_time(d.get("finished_at")),
        timing=_timing_from_dict(timing) if timing else None,
        digest=_digest_from_dict(digest) if digest else None,
    )


def _timing_to_dict(t: Timing) -> dict[str, Any]:
    return {"at": encode_time(t.at), "until": encode_time(t.until), "lead": t.lead_seconds}


def _timing_from_dict(d: dict[str, Any]) -> Timing:
    lead = d.get("lead")
    return Timing(
        decode_required_time(d["at"]),
        decode_required_time(d["until"]),
        int(lead) if lead is not None else None,
    )


def _digest_to_dict(g: Digest) -> dict[str, Any]:
    return {
        "day": g.day.isoformat(),
        "taken_at": encode_time(g.taken_at),
        "since": encode_time(g.since),
        "open": [incident_to_dict(i) for i in g.open],
        "windows": [incident_to_dict(i) for i in g.windows],
        "closed": [incident_to_dict(i) for i in g.closed],
    }


def _digest_from_dict(d: dict[str, Any]) -> Digest:
    return Digest(
        day=date.fromisoformat(d["day"]),
        taken_at=decode_required_time(d["taken_at"]),
        since=decode_required_time(d["since"]),
        open=tuple(incident_from_dict(i) for i in d.get("open", ())),
        windows=tuple(incident_from_dict(i) for i in d.get("windows", ())),
        closed=tuple(incident_from_dict(i) for i in d.get("closed", ())),
    )


def window_known_to_dict(k: WindowKnown) -> dict[str, Any]:
    """When a window's start and end were first known, as JSON-ready data."""
    return {
        "start": encode_time(k.start_at),
        "start_known": encode_time(k.start_known_at),
        "end": encode_time(k.end_at),
        "end_known": encode_time(k.end_known_at),
    }


def window_known_from_dict(d: dict[str, Any]) -> WindowKnown:
    """Inverse of ``window_known_to_dict``."""
    return WindowKnown(
        decode_required_time(d["start"]),
        decode_required_time(d["start_known"]),
        decode_time(d.get("end")),
        decode_required_time(d["end_known"]),
    )


def digest_mark_to_dict(m: DigestMark) -> dict[str, Any]:
    """The last digest of one target as JSON-ready data."""
    return {"day": m.day.isoformat() if m.day else None, "taken_at": encode_time(m.taken_at)}


def digest_mark_from_dict(d: dict[str, Any]) -> DigestMark:
    """Inverse of ``digest_mark_to_dict``."""
    day = d.get("day")
    return DigestMark(date.fromisoformat(day) if day else None, decode_required_time(d["taken_at"]))


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
                "last_success_at": encode_time(t.last_success_at),
                "last_failure_at": encode_time(t.last_failure_at),
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
                last_success_at=decode_time(t.get("last_success_at")),
                last_failure_at=decode_time(t.get("last_failure_at")),
                last_error=t.get("last_error"),
            )
            for name, t in (d.get("targets") or {}).items()
        },
    )
