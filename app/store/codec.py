"""Model records (``app.model``) to and from JSON-ready dicts (versioned; never pickles). Pure.

Observations, incidents and their parts (updates, windows, fallbacks, earlier messages); the
records of the state around a poll have theirs in ``app.store.records_codec``, with the same time forms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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

SCHEMA = 1


def encode_time(value: datetime | None) -> str | None:
    """A datetime as ISO 8601 text (``None`` stays ``None``)."""
    return value.isoformat() if value else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(value: datetime) -> int:
    """An instant as microseconds since the epoch (what the SQL tables keep: they sort as the
    instants do)."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    """Inverse of ``micros`` (in UTC)."""
    return _EPOCH + timedelta(microseconds=value)


def decode_time(value: Any) -> datetime | None:
    """Inverse of ``encode_time`` (empty or missing: ``None``)."""
    return datetime.fromisoformat(value) if value else None


def decode_required_time(value: Any) -> datetime:
    """Like ``decode_time``, for a timestamp a record cannot do without."""
    parsed = decode_time(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed


def update_to_dict(u: Update) -> dict[str, Any]:
    """An update line as JSON-ready data."""
    return {
        "text": u.text,
        "lang": u.lang.value,
        "at": encode_time(u.at),
        "seen_at": encode_time(u.seen_at),
    }


def update_from_dict(d: dict[str, Any]) -> Update:
    """Inverse of ``update_to_dict``."""
    return Update(
        text=d["text"],
        lang=Lang(d["lang"]),
        at=decode_time(d.get("at")),
        seen_at=decode_time(d.get("seen_at")),
    )


def window_to_dict(w: Window | None) -> dict[str, Any] | None:
    """A window as JSON-ready data (also its shape in /api/incidents.json)."""
    if w is None:
        return None
    return {
        "start": encode_time(w.start_at),
        "end": encode_time(w.end_at),
        "cancelled": w.cancelled,
        "sequence": w.sequence,
    }


def window_from_dict(d: dict[str, Any] | None) -> Window | None:
    """Inverse of ``window_to_dict``."""
    if not d:
        return None
    return Window(
        start_at=decode_required_time(d["start"]),
        end_at=decode_time(d.get("end")),
        cancelled=bool(d.get("cancelled")),
        sequence=int(d.get("sequence", 0)),
    )


def fallback_to_dict(f: Fallback | None) -> dict[str, Any] | None:
    """A fallback statement as JSON-ready data (also its shape in /api/incidents.json)."""
    if f is None:
        return None
    return {"allowed": f.allowed, "restricted": f.restricted, "since": encode_time(f.since_at)}


def fallback_from_dict(d: dict[str, Any] | None) -> Fallback | None:
    """Inverse of ``fallback_to_dict``."""
    if not d:
        return None
    return Fallback(
        allowed=bool(d["allowed"]),
        since_at=decode_time(d.get("since")),
        restricted=bool(d.get("restricted")),
    )


def observation_to_dict(o: Observation) -> dict[str, Any]:
    """An observation as JSON-ready data."""
    return {
        "oid": o.oid,
        "lang": o.lang.value,
        "source_kind": o.source_kind.value,
        "observed_at": encode_time(o.observed_at),
        "link": o.link,
        "title": o.title,
        "ref": o.ref,
        "refs": list(o.refs),
        "systems": list(o.systems),
        "unknown_systems": list(o.unknown_systems),
        "status": o.status.value if o.status else None,
        "kind": o.kind.value if o.kind else None,
        "created_at": encode_time(o.created_at),
        "last_updated_at": encode_time(o.last_updated_at),
        "message_html": o.message_html,
        "message_text": o.message_text,
        "updates": [update_to_dict(u) for u in o.updates],
        "versions": [{"at": encode_time(v.at), "text": v.text, "html": v.html} for v in o.versions],
        **({"last_seen_at": encode_time(o.last_seen_at)} if o.last_seen_at else {}),
    }


def observation_from_dict(d: dict[str, Any]) -> Observation:
    """Inverse of ``observation_to_dict``."""
    return Observation(
        oid=int(d["oid"]),
        lang=Lang(d["lang"]),
        source_kind=SourceKind(d["source_kind"]),
        observed_at=decode_required_time(d["observed_at"]),
        link=d.get("link", ""),
        title=d.get("title", ""),
        ref=d.get("ref"),
        refs=tuple(d.get("refs", ())),
        systems=tuple(d.get("systems", ())),
        unknown_systems=tuple(d.get("unknown_systems", ())),
        status=Status(d["status"]) if d.get("status") else None,
        kind=Kind(d["kind"]) if d.get("kind") else None,
        created_at=decode_time(d.get("created_at")),
        last_updated_at=decode_time(d.get("last_updated_at")),
        message_html=d.get("message_html", ""),
        message_text=d.get("message_text", ""),
        updates=tuple(update_from_dict(u) for u in d.get("updates", ())),
        versions=tuple(
            Version(at=decode_required_time(v["at"]), text=v["text"], html=v["html"])
            for v in d.get("versions", ())
        ),
        last_seen_at=decode_time(d.get("last_seen_at")),
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
        "published_at": encode_time(i.published_at),
        "updated_at": encode_time(i.updated_at),
        "upstream_updated_at": encode_time(i.upstream_updated_at),
        "updates": [update_to_dict(u) for u in i.updates],
        "window": window_to_dict(i.window),
        "fallback": fallback_to_dict(i.fallback),
        "closed_at": encode_time(i.closed_at),
        "earlier": [
            {
                "oid": m.oid,
                "lang": m.lang.value,
                "title": m.title,
                "html": m.html,
                "link": m.link,
                "at": encode_time(m.at),
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
        published_at=decode_required_time(d["published_at"]),
        updated_at=decode_required_time(d["updated_at"]),
        upstream_updated_at=decode_required_time(d["upstream_updated_at"]),
        updates=tuple(update_from_dict(u) for u in d.get("updates", ())),
        window=window_from_dict(d.get("window")),
        fallback=fallback_from_dict(d.get("fallback")),
        closed_at=decode_time(d.get("closed_at")),
        earlier=tuple(
            Message(
                oid=int(m["oid"]),
                lang=Lang(m["lang"]),
                title=m.get("title", ""),
                html=m.get("html", ""),
                link=m.get("link", ""),
                at=decode_time(m.get("at")),
            )
            for m in d.get("earlier", ())
        ),
    )
