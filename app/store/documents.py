"""Rendered documents in the store: written once per change, read by every web worker.

``Publisher`` (``app.publish.publisher``, in the process that polls) keeps the incidents in an ``Archive``, applies each
poll's changed keys and re-renders only the documents that can show a changed incident (old or
new version), plus the health-dependent pages; it commits them in one transaction. A *render
key* (package version, schema constant, code and template digest, base URL, catalogue, limits)
decides whether stored documents are current at all: after an upgrade or a configuration
change everything is rendered again, once, under the poll lock.

``Library`` (``app.publish.library``, in each web worker) serves those stored bytes; documents with non-default
parameters (``?limit=``, ``?status=``) are rendered on demand and cached per store state, in
a cache bounded by bytes (``VARIANT_BYTES``, body plus gzip form), least recently used out
first: a thousand distinct ``?limit=`` values cost a worker at most that much.

Derived documents (incident pages and later history pages, ``app.site.sets.is_derived``) exist
per incident, so they have no place in the one index that every publish reads and writes: each
keeps its headers under its own key, a poll writes only those its changes affect (an incident's
two pages, the history pages it stands on), and the Library renders one on demand when it is not
stored yet (an incident a poll committed a moment before its pages). They are stored in their
gzip form only (a third of the bytes; the body is one decompression away), so 10,000 incidents
cost the store about 100 MB rather than 300 MB.

This module holds what both share: the store keys (spelled here only), the records of the
document index and their JSON forms. Store keys: ``doc:<path>``, ``docgz:<path>``,
``docs:meta`` (the index: path → ETag, type, Last-Modified), ``docmeta:<path>`` (the same for
one derived document), ``docs:history`` (how many incidents each system has, for paging),
``meta:context`` (what pages show besides incidents), ``meta:rendered`` (the state the stored
documents reflect).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from app.catalogue import Catalogue
from app.config import VERSION, Settings
from app.errors import StoreDamagedError
from app.model import Incident, Lang
from app.render.pages import PageContext
from app.render.renderer import Document
from app.store import Store
from app.store.codec import incident_from_dict, incident_to_dict
from app.store.provenance import Sources, digest_of, import_closure

RENDER_SCHEMA = 3  # bump when stored documents must be rebuilt for a reason the digest misses
DOC, DOCGZ, DOCMETA, INDEX, HISTORY, CONTEXT, RENDERED = (
    "doc:",
    "docgz:",
    "docmeta:",
    "docs:meta",
    "docs:history",
    "meta:context",
    "meta:rendered",
)
CHANGES = "docs:changed:"  # per publish serial: the export paths whose bytes it changed
CHANGES_KEPT = 1000  # publishes whose change lists are kept (older ones: read everything)


# what renders documents: these packages and every module they import, found by construction
_RENDERING_PACKAGES = ("render", "site", "publish")
_RENDERING_DATA = ("templates",)


def shaping_sources(root: Path | None = None) -> Sources:
    """The code and templates that shape documents, by path inside the package (``root``)."""
    return import_closure(_RENDERING_PACKAGES, _RENDERING_DATA, root)


@cache
def code_digest() -> str:
    """A digest of the code and templates that shape documents (changes with any upgrade)."""
    return digest_of(shaping_sources())


def render_key(settings: Settings, catalogue: Catalogue, code: str) -> str:
    """Everything stored documents depend on besides the store's content."""
    parts = [
        VERSION,
        str(RENDER_SCHEMA),
        code,
        settings.base_url.rstrip("/"),
        repr(catalogue.systems),
        str(settings.feed_limit_default),
        str(settings.feed_limit_max),
        str(settings.poll_seconds),
        settings.websub_hub,  # feeds name the hub
    ]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class DocMeta:
    """One stored document's headers."""

    etag: str
    content_type: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class RenderMark:
    """What the stored documents reflect: store generation, render key, last poll time."""

    generation: int
    key: str
    refreshed_at: datetime | None
    serial: int = 0  # bumped by every publish, so workers notice health-only changes too
    base_url: str = ""  # the base URL the documents' links were built with


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
    )


def mark_to(mark: RenderMark) -> dict[str, Any]:
    return {
        "generation": mark.generation,
        "key": mark.key,
        "refreshed_at": mark.refreshed_at.isoformat() if mark.refreshed_at else None,
        "serial": mark.serial,
        "base_url": mark.base_url,
    }


def published_base_url(store: Store) -> str | None:
    """The base URL the stored documents were built with, if any (see ``Runtime.open``);
    None when the record is damaged (the documents will be rendered again)."""
    try:
        mark = mark_from(store.get(RENDERED))
    except StoreDamagedError:
        return None
    return mark.base_url or None if mark is not None else None


def index_from(data: Any) -> dict[str, DocMeta]:
    return {
        path: DocMeta(etag, ctype, datetime.fromisoformat(modified))
        for path, (etag, ctype, modified) in (data or {}).items()
    }


def index_to(index: dict[str, DocMeta]) -> dict[str, list[str]]:
    return {p: [m.etag, m.content_type, m.last_modified.isoformat()] for p, m in index.items()}


def meta_from(data: Any) -> DocMeta | None:
    if not isinstance(data, list) or len(data) != 3:
        return None
    etag, ctype, modified = data
    return DocMeta(str(etag), str(ctype), datetime.fromisoformat(modified))


def meta_to(meta: DocMeta) -> list[str]:
    return [meta.etag, meta.content_type, meta.last_modified.isoformat()]


def load_derived(store: Store, path: str, meta: DocMeta | None) -> Document | None:
    """A stored derived document (kept as its gzip form only), or None."""
    gz = store.get_bytes(DOCGZ + path) if meta is not None else None
    if meta is None or gz is None:
        return None
    body = gzip.decompress(gz)
    return Document(body, meta.content_type, meta.etag, meta.last_modified, gz)


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


def descending(text: str) -> tuple[int, ...]:
    """A sort key that orders strings from last to first."""
    return (*(-ord(c) for c in text), 1)


def forward(old: DocMeta | None, modified: datetime) -> datetime:
    """Last-Modified of a document whose bytes changed: never before the previous one.

    A feed's date is its newest entry's; when that entry leaves (closed, moved to another
    system, the blind notice gone) the date would go back, and a client revalidating with
    If-Modified-Since alone would be told "not modified" and keep the old feed.
    """
    if old is not None and modified <= old.last_modified:
        return old.last_modified + timedelta(seconds=1)
    return modified
