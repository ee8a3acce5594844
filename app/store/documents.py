"""The store's rendered documents: written once per change, read by every web worker.

The publisher (``app.publish.publisher``, in the process that polls) renders what a poll's
changes can affect and stages it here in the poll's transaction; the library
(``app.publish.library``, in each web worker) reads it back. Canonical documents (feeds,
pages, calendars: a fixed set) share one index and are stored as their bytes: a web worker
makes a gzip form when a client first takes one (a publish that changes every document would
spend a tenth of its time compressing what may never be asked for in gzip); derived documents
(incident pages, later history pages) exist per incident, so each keeps its headers under its
own key and is stored in its gzip form only (a third of the bytes; the body is one
decompression away).

Keys (each spelled here only):

    doc:<path>                 a canonical document's body
    docgz:<path>               a derived document's gzip form (a canonical one's before 2026-12-07)
    docs:meta                  the index of canonical documents: path → ETag, type, Last-Modified
    docmeta:<path>             one derived document's headers (its body: docgz:<path>)
    docparts:<path>            where a feed's entries stand in its body, by incident version
    docs:indexparts:<lang>     the index's parts that depend on the code and settings only
    docs:history               how many incidents each system's history shows, for paging
    docs:changed:<serial>      the export paths a publish changed (the last CHANGES_KEPT)
    meta:context               what pages show besides incidents (freshness, notices)
    meta:rendered              what the stored documents reflect (``RenderMark``)
"""

from __future__ import annotations

import gzip

from app.errors import StoreDamagedError
from app.model import Incident
from app.store.core import Batch, StoreCore
from app.store.rendered import (
    DocMeta,
    Document,
    FeedPart,
    PageContext,
    RenderMark,
    context_from_json,
    context_to_json,
    index_from,
    index_to,
    mark_from,
    mark_to,
    meta_from,
    meta_to,
)

_DOC, _DOCGZ, _DOCMETA, _DOCPARTS, _INDEXPARTS, _INDEX, _HISTORY, _CHANGES = (
    "doc:",
    "docgz:",
    "docmeta:",
    "docparts:",
    "docs:indexparts:",
    "docs:meta",
    "docs:history",
    "docs:changed:",
)
_CONTEXT, _RENDERED = "meta:context", "meta:rendered"
CHANGES_KEPT = 1000  # publishes whose change lists are kept (older ones: read everything)


class DocumentsMixin(StoreCore):
    """Rendered documents, their index and what they reflect."""

    def render_mark(self) -> RenderMark | None:
        """What the stored documents reflect; None before the first publish.

        Raises StoreDamagedError when the record is damaged."""
        return mark_from(self.get(_RENDERED))

    def published_base_url(self) -> str | None:
        """The base URL the stored documents were built with, if any; None when the record is
        damaged (the documents will be rendered again)."""
        try:
            mark = self.render_mark()
        except StoreDamagedError:
            return None
        return mark.base_url or None if mark is not None else None

    def document_index(self) -> dict[str, DocMeta]:
        """The headers of every stored canonical document, by export path."""
        return index_from(self.get(_INDEX))

    def history_counts(self) -> dict[str, int]:
        """How many incidents each system's history showed at the last publish."""
        return {str(k): int(v) for k, v in (self.get(_HISTORY) or {}).items()}

    def stored_page_context(self, base_url: str) -> tuple[PageContext, Incident | None]:
        """What the stored pages show besides incidents, and the blind notice if any."""
        return context_from_json(self.get(_CONTEXT), base_url)

    def page_context_unchanged(
        self, ctx: PageContext, notice: Incident | None
    ) -> tuple[bool, bool, bool]:
        """(context unchanged, notice unchanged, context unchanged but for the time of the
        poll) against what is stored (damaged: changed)."""
        try:
            stored = self.get(_CONTEXT) or {}
        except StoreDamagedError:
            stored = {}
        context = context_to_json(ctx, notice)
        timeless = {**context, "refreshed_at": None} == {**stored, "refreshed_at": None}
        return context == stored, context["notice"] == stored.get("notice"), timeless

    def canonical_document(self, path: str, meta: DocMeta) -> Document | None:
        """The stored canonical document at ``path`` with headers ``meta``, as read now.

        A publish may have committed between reading the index and the body: the document is
        the body read, with its own ETag. Its gzip form is made when first asked for."""
        body = self.canonical_body(path)
        if body is None:
            return None
        return Document(body, meta.content_type, Document.etag_of(body), meta.last_modified, None)

    def canonical_body(self, path: str) -> bytes | None:
        """The stored bytes of the canonical document at ``path`` (no gzip form)."""
        return self.get_bytes(_DOC + path)

    def feed_parts(self, path: str, etag: str) -> tuple[FeedPart, ...]:
        """Where the stored feed at ``path`` with ETag ``etag`` has each incident's entry (none
        when not known, written for other bytes, or unreadable: the feed is then made from the
        incidents alone)."""
        try:
            data = self.get(_DOCPARTS + path)
            if not isinstance(data, dict) or data.get("etag") != etag:
                return ()
            return tuple(FeedPart(str(k), int(m), int(a), int(b)) for k, m, a, b in data["parts"])
        except (StoreDamagedError, KeyError, TypeError, ValueError):
            return ()

    def index_parts(self, lang: str, key: str) -> tuple[str, str] | None:
        """The index's parts in ``lang`` (autodiscovery links, the subscribing section) as
        HTML, kept by a publish with the render key ``key``; None when kept by another, none,
        or unreadable (they are made again)."""
        try:
            data = self.get(_INDEXPARTS + lang)
            if not isinstance(data, dict) or data.get("key") != key:
                return None
            return str(data["autodiscovery"]), str(data["subscribe"])
        except (StoreDamagedError, KeyError, TypeError, ValueError):
            return None

    @staticmethod
    def stage_index_parts(
        batch: Batch, lang: str, key: str, autodiscovery: str, subscribe: str
    ) -> None:
        """Queue the index's parts in ``lang``, made with the render key ``key``."""
        batch.put(
            _INDEXPARTS + lang, {"key": key, "autodiscovery": autodiscovery, "subscribe": subscribe}
        )

    def derived_meta(self, path: str) -> DocMeta | None:
        """The stored headers of the derived document at ``path``; None if it is not stored."""
        return meta_from(self.get(_DOCMETA + path))

    def derived_document(self, path: str, meta: DocMeta | None = None) -> Document | None:
        """The stored derived document at ``path`` (kept as its gzip form only), or None."""
        meta = meta if meta is not None else self.derived_meta(path)
        gz = self.get_bytes(_DOCGZ + path) if meta is not None else None
        if meta is None or gz is None:
            return None
        return Document(gzip.decompress(gz), meta.content_type, meta.etag, meta.last_modified, gz)

    def derived_paths(self) -> list[str]:
        """The export path of every stored derived document."""
        return [key[len(_DOCMETA) :] for key, _ in self._prefixed(_DOCMETA)]

    def changes_since(self, serial: int, current: int) -> set[str] | None:
        """Export paths changed by the publishes after ``serial`` up to ``current``; None when
        not all are known (``serial`` too old, or never)."""
        if serial <= 0 or current - serial >= CHANGES_KEPT or serial > current:
            return None
        paths: set[str] = set()
        for number in range(serial + 1, current + 1):
            listed = self.get(f"{_CHANGES}{number}")
            if listed is None:
                return None
            paths.update(listed)
        return paths

    @staticmethod
    def stage_canonical(batch: Batch, path: str, document: Document) -> None:
        """Queue a canonical document's bytes (its headers go into the index), and where a
        feed's entries stand in them; a gzip form an earlier version stored goes."""
        batch.put_bytes(_DOC + path, document.body)
        batch.delete(_DOCGZ + path)
        DocumentsMixin.stage_feed_parts(batch, path, document)

    @staticmethod
    def stage_feed_parts(batch: Batch, path: str, document: Document) -> None:
        """Queue where a feed's entries stand in ``document``'s bytes (tied to its ETag: a body
        written by anything else is never read through them); nothing for other documents."""
        if document.parts is not None:
            parts = [[p.key, p.mark, p.start, p.end] for p in document.parts]
            batch.put(_DOCPARTS + path, {"etag": document.etag, "parts": parts})

    @staticmethod
    def stage_derived(batch: Batch, path: str, document: Document, meta: DocMeta) -> None:
        """Queue a derived document: its gzip form, its headers, and where a history page's
        lines stand in it."""
        batch.put_bytes(_DOCGZ + path, document.gzipped)
        batch.put(_DOCMETA + path, meta_to(meta))
        DocumentsMixin.stage_feed_parts(batch, path, document)

    @staticmethod
    def stage_document_deleted(batch: Batch, path: str) -> None:
        """Queue the removal of the document at ``path``, canonical or derived."""
        for prefix in (_DOC, _DOCGZ, _DOCMETA, _DOCPARTS):
            batch.delete(prefix + path)

    @staticmethod
    def stage_published(
        batch: Batch,
        index: dict[str, DocMeta],
        history: dict[str, int],
        page: tuple[PageContext, Incident | None],
        mark: RenderMark,
        changed_paths: list[str],
    ) -> None:
        """Queue what one publish leaves besides the documents: the index, the history counts,
        the page context, the mark, and the change log of this publish's serial."""
        batch.put(_INDEX, index_to(index))
        batch.put(_HISTORY, history)
        batch.put(_CONTEXT, context_to_json(*page))
        batch.put(_RENDERED, mark_to(mark))
        batch.put(f"{_CHANGES}{mark.serial}", changed_paths)
        batch.delete(f"{_CHANGES}{mark.serial - CHANGES_KEPT}")
