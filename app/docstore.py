"""Rendered documents in the store: written once per change, read by every web worker.

``Publisher`` (in the process that polls) keeps the incidents in an ``Archive``, applies each
poll's changed keys and re-renders only the documents that can show a changed incident (old or
new version), plus the health-dependent pages; it commits them in one transaction. A *render
key* (package version, schema constant, code and template digest, base URL, catalogue, limits)
decides whether stored documents are current at all: after an upgrade or a configuration
change everything is rendered again, once, under the poll lock.

``Library`` (in each web worker) serves those stored bytes; documents with non-default
parameters (``?limit=``, ``?status=``) are rendered on demand and cached per store state, in
a cache bounded by bytes (``VARIANT_BYTES``, body plus gzip form), least recently used out
first: a thousand distinct ``?limit=`` values cost a worker at most that much.

Derived documents (incident pages and later history pages, ``app.documents.is_derived``) exist
per incident, so they have no place in the one index that every publish reads and writes: each
keeps its headers under its own key, a poll writes only those its changes affect (an incident's
two pages, the history pages it stands on), and the Library renders one on demand when it is not
stored yet (an incident a poll committed a moment before its pages). They are stored in their
gzip form only (a third of the bytes; the body is one decompression away), so 10,000 incidents
cost the store about 100 MB rather than 300 MB.

Store keys of this module (spelled here only): ``doc:<path>``, ``docgz:<path>``,
``docs:meta`` (the index: path → ETag, type, Last-Modified), ``docmeta:<path>`` (the same for
one derived document), ``docs:history`` (how many incidents each system has, for paging),
``meta:context`` (what pages show besides incidents), ``meta:rendered`` (the state the stored
documents reflect).
"""

from __future__ import annotations

import gzip
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
from app.documents import (
    Doc,
    IncidentPage,
    canonical_documents,
    history_documents,
    history_pages,
    incident_documents,
    is_derived,
)
from app.model import Incident, Lang
from app.publish import (
    Archive,
    Document,
    Renderer,
    derived_changes,
    derived_documents,
    history_counts,
)
from app.render.pages import PageContext
from app.store import Batch, Store
from app.urls import Urls

RENDER_SCHEMA = 3  # bump when stored documents must be rebuilt for a reason the digest misses
_DOC, _DOCGZ, _DOCMETA, _INDEX, _HISTORY, _CONTEXT, _RENDERED = (
    "doc:",
    "docgz:",
    "docmeta:",
    "docs:meta",
    "docs:history",
    "meta:context",
    "meta:rendered",
)
_CHANGES = "docs:changed:"  # per publish serial: the export paths whose bytes it changed
CHANGES_KEPT = 1000  # publishes whose change lists are kept (older ones: read everything)


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


def _meta_from(data: Any) -> DocMeta | None:
    if not isinstance(data, list) or len(data) != 3:
        return None
    etag, ctype, modified = data
    return DocMeta(str(etag), str(ctype), datetime.fromisoformat(modified))


def _meta_to(meta: DocMeta) -> list[str]:
    return [meta.etag, meta.content_type, meta.last_modified.isoformat()]


def _load_derived(store: Store, path: str, meta: DocMeta | None) -> Document | None:
    """A stored derived document (kept as its gzip form only), or None."""
    gz = store.get_bytes(_DOCGZ + path) if meta is not None else None
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


class Publisher:
    """Renders the canonical documents that a change can affect and stores them."""

    def __init__(self, settings: Settings, catalogue: Catalogue, store: Store) -> None:
        self.store = store
        self.urls = Urls(settings, catalogue)
        self.renderer = Renderer(settings, catalogue, self.urls)
        self.key = render_key(settings, catalogue)
        self.docs = canonical_documents(catalogue)
        self.slugs = catalogue.slugs
        self.archive = Archive()
        self._generation = -1  # the store generation the archive reflects
        self._gone: set[str] = set()  # incidents that left the archive when it was reloaded
        self.changed: list[Doc] = []  # documents whose bytes the last publish changed

    def sync(self) -> None:
        """Load the archive if it does not reflect the store (call before a poll, so that the
        poll's changes can be compared with what they replace)."""
        generation = self.store.generation()
        if generation != self._generation:
            before = set(self.archive.by_key)
            self.archive = Archive(self.store.iter_incidents())
            self._gone |= before - set(self.archive.by_key)
            self._generation = generation

    def _catch_up(
        self, changed: list[str]
    ) -> tuple[list[Incident], tuple[list[Doc], list[Doc]]] | None:
        """Apply ``changed`` to the archive; return the old and new versions of what changed
        and the derived documents to render and to delete.

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
        before = history_counts(self.archive, touched)
        self.archive.apply(fresh)
        self._generation = generation
        return touched, derived_changes(self.archive, before, touched)

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
        caught = self._catch_up(changed or [])
        full = caught is None or changed is None or mark is None or mark.key != self.key
        touched, (derived, deleted) = caught or ([], ([], []))
        if full:
            derived, deleted = derived_documents(self.archive, self.slugs), []
        deleted += [doc for key in sorted(self._gone) for doc in incident_documents(key)]
        deleted += self._pages_past_end()
        self._gone.clear()
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
        self.changed = []
        written = self._put_derived(batch, derived, deleted, ctx, notice)
        for doc, document in self.renderer.render_many(chosen, self.archive, ctx, notice):
            path = self.urls.export_path(doc)
            if (old := index.get(path)) is not None and old.etag == document.etag:
                continue
            self.changed.append(doc)
            batch.put_bytes(_DOC + path, document.body)
            batch.put_bytes(_DOCGZ + path, document.gzipped)
            index[path] = DocMeta(document.etag, document.content_type, document.last_modified)
            written += 1
        batch.put(_INDEX, _index_to(index))
        batch.put(_HISTORY, {slug: self.archive.history_count(slug) for slug in self.slugs})
        batch.put(_CONTEXT, context)
        serial = mark.serial + 1 if mark is not None else 1
        batch.put(
            _RENDERED,
            _mark_to(RenderMark(self._generation, self.key, ctx.refreshed_at, serial)),
        )
        # a change log, so that a copier (the bucket upload) reads only what changed
        changed_paths = [self.urls.export_path(d) for d in self.changed]
        changed_paths += [self.urls.export_path(d) for d in deleted]
        batch.put(f"{_CHANGES}{serial}", changed_paths)
        batch.delete(f"{_CHANGES}{serial - CHANGES_KEPT}")
        self.store.commit(batch)
        return written

    def changed_since(self, serial: int) -> set[str] | None:
        """Export paths changed by the publishes after ``serial``; None when not all are known
        (``serial`` too old, or never): the caller must then look at everything."""
        mark = self.stored_mark()
        current = mark.serial if mark is not None else 0
        if serial <= 0 or current - serial >= CHANGES_KEPT or serial > current:
            return None
        paths: set[str] = set()
        for number in range(serial + 1, current + 1):
            listed = self.store.get(f"{_CHANGES}{number}")
            if listed is None:
                return None
            paths.update(listed)
        return paths

    def _put_derived(
        self,
        batch: Batch,
        docs: list[Doc],
        deleted: list[Doc],
        ctx: PageContext,
        notice: Incident | None,
    ) -> int:
        """Stage the derived documents whose bytes changed and the deletions; return how many
        were written. Each one's stored headers are read to compare ETags (no shared index)."""
        written = 0
        for doc, document in self.renderer.render_many(docs, self.archive, ctx, notice):
            path = self.urls.export_path(doc)
            old = _meta_from(self.store.get(_DOCMETA + path))
            if old is not None and old.etag == document.etag:
                continue
            self.changed.append(doc)
            batch.put_bytes(_DOCGZ + path, document.gzipped)
            meta = DocMeta(document.etag, document.content_type, document.last_modified)
            batch.put(_DOCMETA + path, _meta_to(meta))
            written += 1
        for doc in deleted:
            path = self.urls.export_path(doc)
            for prefix in (_DOC, _DOCGZ, _DOCMETA):
                batch.delete(prefix + path)
        return written

    def _pages_past_end(self) -> list[Doc]:
        """History pages stored by an earlier publish that the archive no longer fills."""
        stored = self.store.get(_HISTORY) or {}
        gone: list[Doc] = []
        for slug in self.slugs:
            old = history_pages(int(stored.get(slug, 0)))
            new = history_pages(self.archive.history_count(slug))
            gone += history_documents(slug, range(new + 1, old + 1))
        return gone

    def _load(self, path: str, meta: DocMeta | None) -> Document | None:
        return _load_derived(self.store, path, meta)

    def stored(self, only: set[str] | None = None) -> dict[str, Document]:
        """Every stored document (for export), by export path, in the order to publish them;
        with ``only``, just those paths (nothing else is read).

        Derived documents (incident pages, later history pages) first, as they are linked from
        the canonical ones.
        """
        self.sync()
        index = _index_from(self.store.get(_INDEX))
        found: dict[str, Document] = {}
        for doc in derived_documents(self.archive, self.slugs):
            path = self.urls.export_path(doc)
            if only is not None and path not in only:
                continue
            document = self._load(path, _meta_from(self.store.get(_DOCMETA + path)))
            if document is not None:
                found[path] = document
        for doc in self.docs:
            path = self.urls.export_path(doc)
            if only is not None and path not in only:
                continue
            meta = index.get(path)
            body = self.store.get_bytes(_DOC + path)
            gz = self.store.get_bytes(_DOCGZ + path)
            if meta is not None and body is not None and gz is not None:
                found[path] = Document(body, meta.content_type, meta.etag, meta.last_modified, gz)
        return found


class Library:
    """Serves stored documents to one web worker; follows the store as it changes.

    It is also the ``Holdings`` of its URL map: an incident page or a history page is a 404
    unless the incident is stored or the system has that many pages.
    """

    VARIANTS = 256  # on-demand documents kept per worker, at most
    VARIANT_BYTES = 32 * 1024 * 1024  # and at most this many bytes of them (body and gzip)

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        store: Store,
        recheck_seconds: float = 1.0,
        variant_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.urls = Urls(settings, catalogue, holdings=self)
        self.renderer = Renderer(settings, catalogue, self.urls)
        self.base = settings.base_url.rstrip("/")
        self.recheck = recheck_seconds
        self._lock = threading.Lock()
        self._checked = 0.0
        self._mark: RenderMark | None = None
        self._index: dict[str, DocMeta] = {}
        self._docs: dict[str, Document] = {}
        self._variants: OrderedDict[Doc, Document] = OrderedDict()
        self.variant_bytes = self.VARIANT_BYTES if variant_bytes is None else variant_bytes
        self.cached_bytes = 0  # what ``_variants`` holds
        self._derived: OrderedDict[Doc, Document] = OrderedDict()  # kept per generation
        self._history: dict[str, int] = {}
        self._archive: Archive | None = None
        self.context = PageContext(self.base, None, {})
        self.notice: Incident | None = None

    def _sync(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        with self._lock:
            # _checked moves only once what it vouches for is loaded: a concurrent first
            # request waits on the lock instead of reading an empty index
            if time.monotonic() - self._checked < self.recheck:
                return
            mark = _mark_from(self.store.get(_RENDERED))
            if mark == self._mark and self._index:
                self._checked = now
                return
            if (
                mark is None
                or self._mark is None
                or (mark.generation, mark.key)
                != (
                    self._mark.generation,
                    self._mark.key,
                )
            ):
                self._derived.clear()  # derived documents change only with incidents
            self._mark = mark
            self._history = {str(k): int(v) for k, v in (self.store.get(_HISTORY) or {}).items()}
            index = _index_from(self.store.get(_INDEX))
            # keep what is loaded and unchanged; drop the rest
            self._docs = {
                p: d for p, d in self._docs.items() if p in index and index[p].etag == d.etag
            }
            self._index = index
            self._variants.clear()
            self.cached_bytes = 0
            self._archive = None
            self.context, self.notice = context_from_json(self.store.get(_CONTEXT), self.base)
            self._checked = now

    def has_incident(self, key: str) -> bool:
        """True when an incident with ``key`` is stored (asked once per new incident URL)."""
        return self.store.incident(key) is not None

    def history_pages(self, slug: str) -> int:
        """How many history pages ``slug`` had at the last publish."""
        self._sync()
        return history_pages(self._history.get(slug, 0))

    def get(self, doc: Doc) -> Document | None:
        """The document ``doc``; None when nothing is stored yet."""
        self._sync()
        if is_derived(doc):
            return self._get_derived(doc)
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

    def _get_derived(self, doc: Doc) -> Document:
        """A stored derived document; rendered here when the publisher has not written it yet."""
        with self._lock:
            cached = self._derived.get(doc)
            if cached is not None:
                self._derived.move_to_end(doc)
                return cached
        path = self.urls.export_path(doc)
        stored = _load_derived(self.store, path, _meta_from(self.store.get(_DOCMETA + path)))
        if stored is not None:
            document = stored
        elif isinstance(doc, IncidentPage):  # its incident alone is all the page shows
            incident = self.store.incident(doc.key)
            archive = Archive([incident] if incident is not None else [])
            document = self.renderer.render(doc, archive, self.context, self.notice)
        else:
            return self._render(doc)
        with self._lock:
            self._derived[doc] = document
            while len(self._derived) > self.VARIANTS:
                self._derived.popitem(last=False)
        return document

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
        size = _size(document)
        with self._lock:
            if size > self.variant_bytes or doc in self._variants:
                return document  # too big to keep, or another thread just kept it
            self._variants[doc] = document
            self.cached_bytes += size
            while len(self._variants) > self.VARIANTS or self.cached_bytes > self.variant_bytes:
                _, dropped = self._variants.popitem(last=False)
                self.cached_bytes -= _size(dropped)
        return document


def _size(document: Document) -> int:
    """What a cached document costs: its body and its gzip form."""
    return len(document.body) + len(document.gzipped)
