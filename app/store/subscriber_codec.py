"""Subscription records (``app.store.subscriber_records``) to and from JSON-ready dicts. Pure."""

from __future__ import annotations

from typing import Any

from app.model import Lang
from app.store.codec import decode_required_time, decode_time, encode_time
from app.store.subscriber_records import (
    Choices,
    FanOutProgress,
    Interest,
    RecipientRetry,
    Subscription,
)


def choices_to_dict(c: Choices | None) -> dict[str, Any] | None:
    """One subscriber's choices as JSON-ready data."""
    if c is None:
        return None
    return {
        "systems": sorted(c.systems),
        "interests": sorted(i.value for i in c.interests),
        "lang": c.lang.value,
    }


def choices_from_dict(d: dict[str, Any] | None) -> Choices | None:
    """Inverse of ``choices_to_dict`` (an interest this version does not know is dropped)."""
    if d is None:
        return None
    known = {i.value for i in Interest}
    return Choices(
        systems=frozenset(str(s) for s in d.get("systems", ())),
        interests=frozenset(Interest(i) for i in d.get("interests", ()) if i in known),
        lang=Lang(d.get("lang", "en")),
    )


def subscription_to_dict(s: Subscription) -> dict[str, Any]:
    """One subscription as JSON-ready data."""
    return {
        "id": s.id,
        "address": s.address,
        "nonce": s.nonce,
        "created_at": encode_time(s.created_at),
        "choices": choices_to_dict(s.choices),
        "confirmed_at": encode_time(s.confirmed_at),
        "requested": choices_to_dict(s.requested),
        "requested_at": encode_time(s.requested_at),
        "mails_at": [encode_time(t) for t in s.mails_at],
    }


def subscription_from_dict(d: dict[str, Any]) -> Subscription:
    """Inverse of ``subscription_to_dict``."""
    return Subscription(
        id=str(d["id"]),
        address=str(d["address"]),
        nonce=str(d["nonce"]),
        created_at=decode_required_time(d["created_at"]),
        choices=choices_from_dict(d.get("choices")),
        confirmed_at=decode_time(d.get("confirmed_at")),
        requested=choices_from_dict(d.get("requested")),
        requested_at=decode_time(d.get("requested_at")),
        mails_at=tuple(decode_required_time(t) for t in d.get("mails_at", ())),
    )


def fanout_to_dict(p: FanOutProgress) -> dict[str, Any]:
    """A fan-out's progress as JSON-ready data."""
    return {
        "cursor": p.cursor,
        "swept": p.swept,
        "retries": {
            sid: {
                "attempts": r.attempts,
                "next_attempt_at": encode_time(r.next_attempt_at),
                "last_error": r.last_error,
            }
            for sid, r in p.retries.items()
        },
        "delivered": p.delivered,
        "failed": p.failed,
        "given_up": p.given_up,
    }


def fanout_from_dict(d: dict[str, Any]) -> FanOutProgress:
    """Inverse of ``fanout_to_dict``."""
    return FanOutProgress(
        cursor=str(d.get("cursor", "")),
        swept=bool(d.get("swept", False)),
        retries={
            str(sid): RecipientRetry(
                int(r["attempts"]),
                decode_required_time(r["next_attempt_at"]),
                str(r.get("last_error", "")),
            )
            for sid, r in (d.get("retries") or {}).items()
        },
        delivered=int(d.get("delivered", 0)),
        failed=int(d.get("failed", 0)),
        given_up=int(d.get("given_up", 0)),
    )
