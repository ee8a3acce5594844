"""Records to and from JSON-ready dicts (versioned; never pickles). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.model import (
    Fallback,
    Incident,
    Kind,
    Lang,
    Observation,
    SourceKind,
    Status,
    Update,
    Version,
    Window,
)

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
    )
