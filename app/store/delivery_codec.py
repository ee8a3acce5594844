"""What toldfeed sends out, to and from JSON-ready dicts: uploads to object storage and their
status, queued push notifications and the deliverer's bookkeeping. Pure.

The records are in ``app.store.records``; poll and source state codecs in ``app.store.records_codec``.
"""

from __future__ import annotations

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
    Notification,
    OutboxState,
    PublishStatus,
    TargetStats,
    UploadRecord,
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
        "incident": incident_to_dict(n.incident),
        "queued_at": encode_time(n.queued_at),
        "state": n.state.value,
        "attempts": n.attempts,
        "next_attempt_at": encode_time(n.next_attempt_at),
        "last_error": n.last_error,
        "finished_at": encode_time(n.finished_at),
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    """Inverse of ``notification_to_dict``."""
    return Notification(
        id=d["id"],
        target=d["target"],
        event=d["event"],
        incident=incident_from_dict(d["incident"]),
        queued_at=decode_required_time(d["queued_at"]),
        state=Delivery(d.get("state", "pending")),
        attempts=int(d.get("attempts", 0)),
        next_attempt_at=decode_time(d.get("next_attempt_at")),
        last_error=d.get("last_error"),
        finished_at=decode_time(d.get("finished_at")),
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
