"""Rendered documents in the store: written once per change, read by every web worker.

``Publisher`` (in the process that polls) keeps the incidents in an ``Archive``, applies each
poll's changed keys and re-renders only the documents that can show a changed incident (old or
new version), plus the health-dependent pages; it commits them in one transaction. A *render
key* (package version, schema constant, code and template digest, base URL, catalogue, limits)
decides whether stored documents are current at all: after an upgrade or a configuration
change everything is rendered again, once, under the poll lock.

``Library`` (in each web worker) serves those stored bytes; documents with non-default
parameters (``?limit=``, ``?status=``) are rendered on demand and cached per store state.

Store keys of this module (spelled here only): ``doc:<path>``, ``docgz:<path>``,
``docs:meta`` (the index: path → ETag, type, Last-Modified), ``meta:context`` (what pages
show besides incidents), ``meta:rendered`` (the state the stored documents reflect).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from app.catalogue import Catalogue
from app.codec import incident_from_dict, incident_to_dict
from app.config import VERSION, Settings
from app.documents import Doc, canonical_documents
from app.model import Incident, Lang
from app.publish import Archive, Document, Renderer
from app.render.pages import PageContext
from app.store import Batch, Store
from app.urls import Urls

RENDER_SCHEMA = 2  # bump when stored documents must be rebuilt for a reason the digest misses
_DOC, _DOCGZ, _INDEX, _CONTEXT, _RENDERED = (
    "doc:",
    "docgz:",
    "docs:meta",
    "meta:context",
    "meta:rendered",
)


@cache
def code_digest() -> str:
    """A digest of the code and templates that shape documents (changes with any upgrade)."""
    h = hashlib.blake2b(digest_size=8)
    root = files("app")
    for folder in ("render", "templates"):
        for item in sorted(root.joinpath(folder).iterdir(), key=lambda p: p.name):
            if item.is_file() and item.name.endswith((".py", ".html", ".css")):
                h.update(item.name.encode() + b"\0" + item.read_bytes())
    for name in ("documents.py", "urls.py", "publish.py", "codec.py"):
        h.update(name.encode() + b"\0" + root.joinpath(name).read_bytes())
    return h.hexdigest()


def render_key(settings: Settings, catalogue: Catalogue) -> str:
    """Everything stored documents depend on besides the store's content."""
    parts = [
        VERSION,
        str(RENDER_SCHEMA),
        code_digest(),
        settings.base_url.rstrip("/"),
        repr(catalogue.systems),
        str(settings.feed_limit_default),
        str(settings.feed_limit_max),
        str(settings.poll_seconds),
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


def _mark_from(data: Any) -> RenderMark | None:
    if not isinstance(data, dict):
        return None
    refreshed = data.get("refreshed_at")
    return RenderMark(
        int(data["generation"]),
        str(data["key"]),
        datetime.fromisoformat(refreshed) if refreshed else None,
        int(data.get("serial", 0)),
    )


def _mark_to(mark: RenderMark) -> dict[str, Any]:
    return {
        "generation": mark.generation,
        "key": mark.key,
        "refreshed_at": mark.refreshed_at.isoformat() if mark.refreshed_at else None,
        "serial": mark.serial,
    }


def _index_from(data: Any) -> dict[str, DocMeta]:
    return {
        path: DocMeta(etag, ctype, datetime.fromisoformat(modified))
        for path, (etag, ctype, modified) in (data or {}).items()
    }


def _index_to(index: dict[str, DocMeta]) -> dict[str, list[str]]:
    return {p: [m.etag, m.content_type, m.last_modified.isoformat()] for p, m in index.items()}


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


class Publisher:
    """Renders the canonical documents that a change can affect and stores them."""

    def __init__(self, settings: Settings, catalogue: Catalogue, store: Store) -> None:
        self.store = store
        self.urls = Urls(settings, catalogue)
        self.renderer = Renderer(settings, catalogue, self.urls)
        self.key = render_key(settings, catalogue)
        self.docs = canonical_documents(catalogue)
        self.archive = Archive()
        self._generation = -1  # the store generation the archive reflects

    def sync(self) -> None:
        """Load the archive if it does not reflect the store (call before a poll, so that the
        poll's changes can be compared with what they replace)."""
        generation = self.store.generation()
        if generation != self._generation:
            self.archive = Archive(self.store.iter_incidents())
            self._generation = generation

    def _catch_up(self, changed: list[str]) -> list[Incident] | None:
        """Apply ``changed`` to the archive; return the old and new versions of what changed.

        None when the archive was not in step with the store before the change (first use, or
        another process wrote the store meanwhile): then what changed is unknown.
        """
        generation = self.store.generation()
        if self._generation < 0 or generation != self._generation + (1 if changed else 0):
            self._generation = -1
            self.sync()
            return None
        fresh = {key: self.store.incident(key) for key in changed}
        touched = [i for key in changed if (i := self.archive.by_key.get(key)) is not None]
        touched += [i for i in fresh.values() if i is not None]
        self.archive.apply(fresh)
        self._generation = generation
        return touched

    def stored_mark(self) -> RenderMark | None:
        """What the stored documents reflect."""
        return _mark_from(self.store.get(_RENDERED))

    def up_to_date(self) -> bool:
        """True when stored documents reflect the current store and this configuration."""
        mark = self.stored_mark()
        return (
            mark is not None and mark.key == self.key and mark.generation == self.store.generation()
        )

    def publish(
        self, ctx: PageContext, notice: Incident | None, changed: list[str] | None = None
    ) -> int:
        """Render what ``changed`` keys (None: everything) can affect; commit; return the count.

        Everything is rendered when the render key differs from the stored one.
        """
        mark = self.stored_mark()
        touched = self._catch_up(changed or [])
        full = touched is None or changed is None or mark is None or mark.key != self.key
        touched = touched or []
        stored_context = self.store.get(_CONTEXT) or {}
        context = context_to_json(ctx, notice)
        notice_changed = context["notice"] != stored_context.get("notice")
        context_changed = context != stored_context
        chosen = [
            doc
            for doc in self.docs
            if full
            or (context_changed and doc.health_dependent)
            or (notice_changed and getattr(doc, "carries_notice", False))
            or any(doc.shows(i) for i in touched)
        ]
        index = _index_from(self.store.get(_INDEX))
        batch = Batch()
        for doc, document in self.renderer.render_many(chosen, self.archive, ctx, notice):
            path = self.urls.export_path(doc)
            if (old := index.get(path)) is not None and old.etag == document.etag:
                continue
            batch.put_bytes(_DOC + path, document.body)
            batch.put_bytes(_DOCGZ + path, document.gzipped)
            index[path] = DocMeta(document.etag, document.content_type, document.last_modified)
        written = len(batch.raw) // 2
        batch.put(_INDEX, _index_to(index))
        batch.put(_CONTEXT, context)
        serial = mark.serial + 1 if mark is not None else 1
        batch.put(
            _RENDERED,
            _mark_to(RenderMark(self._generation, self.key, ctx.refreshed_at, serial)),
        )
        self.store.commit(batch)
        return written

    def stored(self) -> dict[str, Document]:
        """Every stored canonical document (for export), by export path."""
        index = _index_from(self.store.get(_INDEX))
        found: dict[str, Document] = {}
        for doc in self.docs:
            path = self.urls.export_path(doc)
            meta = index.get(path)
            body = self.store.get_bytes(_DOC + path)
            gz = self.store.get_bytes(_DOCGZ + path)
            if meta is not None and body is not None and gz is not None:
                found[path] = Document(body, meta.content_type, meta.etag, meta.last_modified, gz)
        return found


class Library:
    """Serves stored documents to one web worker; follows the store as it changes."""

    VARIANTS = 256  # on-demand documents kept per worker

    def __init__(
        self, settings: Settings, catalogue: Catalogue, store: Store, recheck_seconds: float = 1.0
    ) -> None:
        self.store = store
        self.urls = Urls(settings, catalogue)
        self.renderer = Renderer(settings, catalogue, self.urls)
        self.base = settings.base_url.rstrip("/")
        self.recheck = recheck_seconds
        self._lock = threading.Lock()
        self._checked = 0.0
        self._mark: RenderMark | None = None
        self._index: dict[str, DocMeta] = {}
        self._docs: dict[str, Document] = {}
        self._variants: OrderedDict[Doc, Document] = OrderedDict()
        self._archive: Archive | None = None
        self.context = PageContext(self.base, None, {})
        self.notice: Incident | None = None

    def _sync(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        with self._lock:
            self._checked = now
            mark = _mark_from(self.store.get(_RENDERED))
            if mark == self._mark and self._index:
                return
            self._mark = mark
            index = _index_from(self.store.get(_INDEX))
            # keep what is loaded and unchanged; drop the rest
            self._docs = {
                p: d for p, d in self._docs.items() if p in index and index[p].etag == d.etag
            }
            self._index = index
            self._variants.clear()
            self._archive = None
            self.context, self.notice = context_from_json(self.store.get(_CONTEXT), self.base)

    def get(self, doc: Doc) -> Document | None:
        """The document ``doc``; None when nothing is stored yet."""
        self._sync()
        if doc.canonical:
            path = self.urls.export_path(doc)
            found = self._docs.get(path)
            if found is None and path in self._index:
                found = self._load(path)
            if found is not None:
                return found
            if not self._index:
                return None
        return self._render(doc)

    def _load(self, path: str) -> Document | None:
        body = self.store.get_bytes(_DOC + path)
        gz = self.store.get_bytes(_DOCGZ + path)
        meta = self._index.get(path)
        if body is None or gz is None or meta is None:
            return None
        doc = Document(body, meta.content_type, meta.etag, meta.last_modified, gz)
        self._docs[path] = doc
        return doc

    def _render(self, doc: Doc) -> Document:
        with self._lock:
            cached = self._variants.get(doc)
            if cached is not None:
                self._variants.move_to_end(doc)
                return cached
            if self._archive is None:
                self._archive = Archive(self.store.iter_incidents())
            archive = self._archive
        document = self.renderer.render(doc, archive, self.context, self.notice)
        with self._lock:
            self._variants[doc] = document
            while len(self._variants) > self.VARIANTS:
                self._variants.popitem(last=False)
        return document
