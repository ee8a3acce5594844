"""Rendered documents in the store: written once per change, read by every web worker.

``Publisher`` (in the process that polls) keeps the incidents in memory, applies each poll's
changed keys, renders every canonical document when incidents changed (only the pages that
show freshness otherwise) and commits them in one transaction. ``Library`` (in each web
worker) serves those stored bytes; documents with non-default parameters (``?limit=``,
``?status=``) are rendered on demand from an in-memory snapshot and cached per generation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from app.codec import incident_from_dict, incident_to_dict
from app.model import Incident, Lang
from app.publish import DocSpec, Document, Site
from app.render.entry import Entry
from app.render.pages import PageContext
from app.store import Batch, Store

FRESHNESS_KINDS = {"index", "embed"}


class Snapshot:
    """All incidents in memory, newest change first; refreshed by key or in full."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_key: dict[str, Incident] = {}
        self.loaded = False

    def refresh(self, changed: Iterable[str] | None = None) -> list[Incident]:
        """Reload ``changed`` keys (every incident when None or never loaded)."""
        if changed is None or not self.loaded:
            self.by_key = {i.key: i for i in self.store.iter_incidents()}
            self.loaded = True
        else:
            for key in changed:
                incident = self.store.incident(key)
                if incident is None:
                    self.by_key.pop(key, None)
                else:
                    self.by_key[key] = incident
        return self.sorted()

    def sorted(self) -> list[Incident]:
        """Incidents newest change first (key breaks ties, for stable output)."""
        return sorted(self.by_key.values(), key=lambda i: (i.updated_at, i.key), reverse=True)


def _meta(doc: Document) -> list[Any]:
    return [doc.etag, doc.content_type, doc.last_modified.isoformat()]


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
    """Renders and stores the canonical documents."""

    def __init__(self, site: Site, store: Store) -> None:
        self.site = site
        self.store = store
        self.snapshot = Snapshot(store)

    def publish(
        self,
        ctx: PageContext,
        notice: Incident | None,
        changed: Iterable[str] | None = None,
        full: bool = True,
    ) -> int:
        """Render (all, or only freshness pages) and commit; return the number written."""
        incidents = self.snapshot.refresh(changed)
        stored_notice = (self.store.get("meta:context") or {}).get("notice")
        full = (
            full or context_to_json(ctx, notice)["notice"] != stored_notice
        )  # blind state changed
        index = dict(self.store.get("docs:meta") or {})
        batch = Batch()
        for path, doc in self._render_all(incidents, ctx, notice, full):
            if index.get(path, [None])[0] == doc.etag:
                continue
            batch.put_bytes(f"doc:{path}", doc.body)
            batch.put_bytes(f"docgz:{path}", doc.gzipped)
            index[path] = _meta(doc)
        batch.put("docs:meta", index)
        batch.put("meta:context", context_to_json(ctx, notice))
        batch.put("meta:rendered_with", self.fingerprint())
        batch.put(
            "meta:rendered",
            [self.store.generation(), ctx.refreshed_at.isoformat() if ctx.refreshed_at else None],
        )
        self.store.commit(batch)
        return len(batch.raw) // 2

    def fingerprint(self) -> list[Any]:
        """What stored documents depend on besides the store: base URL and catalogue."""
        return [self.site.base, list(self.site.catalogue.slugs)]

    def up_to_date(self) -> bool:
        """True when stored documents reflect the current store and this configuration."""
        rendered = self.store.get("meta:rendered")
        return (
            bool(rendered)
            and rendered[0] == self.store.generation()
            and self.store.get("meta:rendered_with") == self.fingerprint()
        )

    def documents(self, ctx: PageContext, notice: Incident | None) -> dict[str, Document]:
        """Every canonical document rendered in memory (for export)."""
        return dict(self._render_all(self.snapshot.refresh(None), ctx, notice, full=True))

    def _render_all(
        self, incidents: list[Incident], ctx: PageContext, notice: Incident | None, full: bool
    ) -> Iterator[tuple[str, Document]]:
        """(path, document) of every canonical document, or only the freshness pages."""
        entries: dict[tuple[str, Lang], Entry] = {}  # each incident rendered once per language
        for spec in self.site.canonical_specs():
            path = spec.path(self.site.settings.feed_limit_default)
            if path is not None and (full or spec.kind in FRESHNESS_KINDS):
                yield path, self.site.render(spec, incidents, ctx, notice, entries)


class Library:
    """Serves stored documents to one web worker; re-reads the index when it changes."""

    def __init__(self, site: Site, store: Store, recheck_seconds: float = 1.0) -> None:
        self.site = site
        self.store = store
        self.recheck = recheck_seconds
        self._lock = threading.Lock()
        self._checked = 0.0
        self._index: dict[str, list[Any]] = {}
        self._docs: dict[str, Document] = {}
        self._rendered: Any = None
        self._extra: OrderedDict[tuple[DocSpec, str], Document] = OrderedDict()
        self._snapshot = Snapshot(store)
        self.context = PageContext(site.base, None, {})
        self.notice: Incident | None = None

    def _sync(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        with self._lock:
            self._checked = now
            rendered = self.store.get("meta:rendered")
            if rendered != self._rendered or not self._index:
                self._rendered = rendered
                self._index = dict(self.store.get("docs:meta") or {})
                self._docs = {}
                self._extra.clear()
                self._snapshot.loaded = False
                self.context, self.notice = context_from_json(
                    self.store.get("meta:context"), self.site.base
                )

    def get(self, spec: DocSpec) -> Document | None:
        """The document for ``spec``; None when nothing is stored yet."""
        self._sync()
        path = spec.path(self.site.settings.feed_limit_default)
        if path is not None:
            doc = self._docs.get(path)
            if doc is None and path in self._index:
                doc = self._load(path)
            if doc is not None:
                return doc
        return self._render(spec)

    def _load(self, path: str) -> Document | None:
        body = self.store.get_bytes(f"doc:{path}")
        gz = self.store.get_bytes(f"docgz:{path}")
        if body is None or gz is None:
            return None
        etag, ctype, modified = self._index[path]
        doc = Document(body, ctype, etag, datetime.fromisoformat(modified), gz)
        self._docs[path] = doc
        return doc

    def _render(self, spec: DocSpec) -> Document:
        key = (spec, repr(self._rendered))
        with self._lock:
            cached = self._extra.get(key)
            if cached is not None:
                self._extra.move_to_end(key)
                return cached
            incidents = (
                self._snapshot.sorted() if self._snapshot.loaded else self._snapshot.refresh()
            )
        doc = self.site.render(spec, incidents, self.context, self.notice)
        with self._lock:
            self._extra[key] = doc
            while len(self._extra) > 256:
                self._extra.popitem(last=False)
        return doc
