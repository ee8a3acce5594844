"""Rendered documents and what is kept beside them, as records, with their JSON forms. Pure.

    Document      rendered bytes with type, ETag, Last-Modified and the gzip form
    PageContext   what every page shows besides incidents: base URL, freshness, notices
    DocMeta       one stored document's headers
    Stamp         where a document shows the time of the last poll
    FeedPart      where a feed's entry of one incident version stands in its bytes
    RenderMark    what the stored documents reflect (store generation, render key, serial)

Rendering makes them (``app.render``), the store keeps them (``app.store.documents``), the web
serves them (``app.web``).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import xxhash

from app.model import Incident, Lang
from app.store.codec import incident_from_dict, incident_to_dict


@dataclass(frozen=True, slots=True)
class Stamp:
    """The time of the last poll as a document shows it (``text``, as written in its bytes) and
    how often it stands there; the text is found nowhere else in them (``app.render.stamps``)."""

    text: str
    count: int


class FeedPart(NamedTuple):
    """The entry of incident ``key`` (its version ``mark``) at ``start:end`` of a feed's bytes:
    the next render of that feed takes it from there while the version holds. (A named tuple:
    a publish makes some 3,000, and a tuple is made in half a dataclass's time.)"""

    key: str
    mark: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """Rendered bytes with what conditional GET and compression need.

    The gzip form is made when first asked for (``gzipped``): a publish renders many documents
    whose bytes turn out unchanged, and those are never compressed or stored.
    """

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    stored_gzip: bytes | None = field(default=None, repr=False, compare=False)
    stamp: Stamp | None = field(default=None, repr=False, compare=False)
    parts: tuple[FeedPart, ...] | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def etag_of(body: bytes) -> str:
        """The ETag of ``body``: a 128-bit hash of the bytes (xxHash's XXH3: a publish hashes
        some 5 MB, and a web worker each document it reads, at a tenth of blake2b's cost)."""
        return '"' + xxhash.xxh3_128_hexdigest(body) + '"'

    @classmethod
    def of(
        cls,
        body: bytes,
        content_type: str,
        last_modified: datetime,
        stamp: Stamp | None = None,
        parts: tuple[FeedPart, ...] | None = None,
    ) -> Document:
        """Wrap bytes: the ETag is a hash of the body."""
        etag = cls.etag_of(body)
        modified = last_modified.replace(microsecond=0)
        return cls(body, content_type, etag, modified, None, stamp, parts)

    @property
    def gzipped(self) -> bytes:
        """The body gzipped (level 6, no timestamp, so equal bodies give equal bytes)."""
        if self.stored_gzip is None:
            # frozen: set once; two threads racing compute the same bytes
            object.__setattr__(
                self, "stored_gzip", gzip.compress(self.body, compresslevel=6, mtime=0)
            )
        assert self.stored_gzip is not None
        return self.stored_gzip


@dataclass(frozen=True, slots=True)
class PageContext:
    """What every page shows besides incidents: where feeds live, freshness, blindness."""

    base_url: str
    refreshed_at: datetime | None
    blind_notice: dict[Lang, str]
    source_notes: dict[Lang, str] = field(default_factory=dict)

    @property
    def state_known(self) -> bool:
        """False while no state can be told: nothing was ever read, or the agency cannot be
        read now (pages say "Unknown", never a healthy state they do not know)."""
        return self.refreshed_at is not None and not self.blind_notice


@dataclass(frozen=True, slots=True)
class DocMeta:
    """One stored document's headers, and the digest of what it was rendered from (when its
    renderer can tell: then a publish that finds the same inputs does not render it again)."""

    etag: str
    content_type: str
    last_modified: datetime
    inputs: str = ""
    stamp: Stamp | None = None  # where it shows the time of the last poll
    # ``inputs`` hold up to then while the store and the page context (but the poll's time)
    # stay as they are (``app.site.horizon``)
    horizon: datetime | None = None


@dataclass(frozen=True, slots=True)
class RenderMark:
    """What the stored documents reflect: store generation, render key, last poll time."""

    generation: int
    key: str
    refreshed_at: datetime | None
    serial: int = 0  # bumped by every publish, so workers notice health-only changes too
    base_url: str = ""  # the base URL the documents' links were built with
    poll_seconds: float = 0.0  # the poll interval the calendars' refresh hint says


def mark_from(data: Any) -> RenderMark | None:
    if not isinstance(data, dict):
        return None
    refreshed = data.get("refreshed_at")
    return RenderMark(
        int(data["generation"]),
        str(data["key"]),
        datetime.fromisoformat(refreshed) if refreshed else None,
        int(data.get("serial", 0)),
        str(data.get("base_url", "")),
        float(data.get("poll_seconds", 0.0)),
    )


def mark_to(mark: RenderMark) -> dict[str, Any]:
    return {
        "generation": mark.generation,
        "key": mark.key,
        "refreshed_at": mark.refreshed_at.isoformat() if mark.refreshed_at else None,
        "serial": mark.serial,
        "base_url": mark.base_url,
        "poll_seconds": mark.poll_seconds,
    }


def index_from(data: Any) -> dict[str, DocMeta]:
    # [etag, type, modified] before inputs were kept, [etag, type, modified, inputs] since,
    # [..., inputs, stamp text, stamp count] for a document that shows the time of the poll,
    # [..., inputs, stamp text or null, stamp count, horizon] for one whose inputs' horizon is
    # known
    return {
        path: DocMeta(
            meta[0],
            meta[1],
            datetime.fromisoformat(meta[2]),
            str(meta[3]) if len(meta) > 3 else "",
            Stamp(str(meta[4]), int(meta[5])) if len(meta) >= 6 and meta[4] is not None else None,
            datetime.fromisoformat(meta[6]) if len(meta) >= 7 and meta[6] else None,
        )
        for path, meta in (data or {}).items()
    }


def index_to(index: dict[str, DocMeta]) -> dict[str, list[Any]]:
    return {p: _meta_row(m) for p, m in index.items()}


def _meta_row(m: DocMeta) -> list[Any]:
    row: list[Any] = [m.etag, m.content_type, m.last_modified.isoformat()]
    if m.inputs or m.stamp or m.horizon:
        row.append(m.inputs)
    if m.stamp or m.horizon:
        row += [m.stamp.text, m.stamp.count] if m.stamp else [None, 0]
    if m.horizon:
        row.append(m.horizon.isoformat())
    return row


def meta_from(data: Any) -> DocMeta | None:
    if not isinstance(data, list) or len(data) != 3:
        return None
    etag, ctype, modified = data
    return DocMeta(str(etag), str(ctype), datetime.fromisoformat(modified))


def meta_to(meta: DocMeta) -> list[str]:
    return [meta.etag, meta.content_type, meta.last_modified.isoformat()]


def context_to_json(ctx: PageContext, notice: Incident | None) -> dict[str, Any]:
    """What on-demand rendering in the web workers needs besides incidents."""
    return {
        "refreshed_at": ctx.refreshed_at.isoformat() if ctx.refreshed_at else None,
        "blind": {lang.value: text for lang, text in ctx.blind_notice.items()},
        "notes": {lang.value: text for lang, text in ctx.source_notes.items()},
        "notice": incident_to_dict(notice) if notice else None,
    }


def context_from_json(
    data: dict[str, Any] | None, base_url: str
) -> tuple[PageContext, Incident | None]:
    """Inverse of ``context_to_json``."""
    data = data or {}
    refreshed = data.get("refreshed_at")
    ctx = PageContext(
        base_url=base_url,
        refreshed_at=datetime.fromisoformat(refreshed) if refreshed else None,
        blind_notice={Lang(k): v for k, v in (data.get("blind") or {}).items()},
        source_notes={Lang(k): v for k, v in (data.get("notes") or {}).items()},
    )
    notice = incident_from_dict(data["notice"]) if data.get("notice") else None
    return ctx, notice


def forward(old: DocMeta | None, modified: datetime) -> datetime:
    """Last-Modified of a document whose bytes changed: never before the previous one.

    A feed's date is its newest entry's; when that entry leaves (closed, moved to another
    system, the blind notice gone) the date would go back, and a client revalidating with
    If-Modified-Since alone would be told "not modified" and keep the old feed.
    """
    if old is not None and modified <= old.last_modified:
        return old.last_modified + timedelta(seconds=1)
    return modified
