"""What a publish takes from the documents it stored before, instead of rendering them whole:
the bytes of a document whose only change is the poll's time (restamped), and the entries of
a feed whose incidents did not change, and the lines of history pages whose incidents did not
change. All only from bytes the document index (or the page's stored headers) vouches for:
a body another publish rewrote since gives nothing (the document is rendered). And the
index's parts that depend on the code and settings only, kept under the render key."""

from __future__ import annotations

import contextlib

from app.errors import StoreDamagedError
from app.render.chrome import trusted_html
from app.render.feeds import Kept, stored_entries
from app.render.renderer import Renderer
from app.render.subscribe import IndexParts
from app.site.archive import Archive
from app.site.documents import Doc, Feed, IndexPage, SystemPage
from app.site.urls import Urls
from app.store import Batch, Store
from app.store.rendered import DocMeta, Document, PageContext


def _vouched_body(store: Store, path: str, old: DocMeta) -> bytes | None:
    """The stored body at ``path`` if it is the one the index describes."""
    body = store.canonical_body(path)
    return body if body is not None and Document.etag_of(body) == old.etag else None


def restamped(
    store: Store,
    renderer: Renderer,
    archive: Archive,
    doc: Doc,
    path: str,
    old: DocMeta | None,
    ctx: PageContext,
) -> Document | None:
    """The stored ``doc`` with the stamp of ``ctx``'s poll (``app.render.stamps``); None when it
    has no stamp or its stored bytes cannot be restamped."""
    if old is None or old.stamp is None:
        return None
    body = _vouched_body(store, path, old)
    return renderer.restamp(doc, body, old.stamp, archive, ctx) if body is not None else None


def kept_entries(store: Store, doc: Doc, path: str, old: DocMeta | None) -> Kept | None:
    """A stored feed's entries, for its next render to take those whose incident did not
    change (a new process, as a cron poll, then writes only the changed ones)."""
    if not isinstance(doc, Feed) or old is None:
        return None
    parts = store.feed_parts(path, old.etag)
    body = _vouched_body(store, path, old) if parts else None
    return stored_entries(body, parts) if body is not None else None


class HistoryLines:
    """The lines of a system's stored history pages, for their next render to take those whose
    incident did not change (``app.render.history``). Page N's lines stood on the stored pages
    N - 1 to N + 1 (fewer than 50 incidents came or went since): only those are read, each
    stored page once per publish."""

    def __init__(self, store: Store, urls: Urls) -> None:
        self._store = store
        self._urls = urls
        self._read: dict[SystemPage, Kept] = {}

    def kept(self, doc: Doc) -> Kept | None:
        """What the stored pages around ``doc`` show, by incident key (a history page only;
        None for others)."""
        if not isinstance(doc, SystemPage) or doc.page < 2:
            return None
        lines: dict[str, tuple[int, bytes]] = {}
        for page in range(max(2, doc.page - 1), doc.page + 2):
            stood = SystemPage(doc.lang, doc.system, page)
            if stood not in self._read:
                self._read[stood] = {}
                with contextlib.suppress(*_DAMAGED):  # a damaged record: those lines are made
                    self._read[stood] = self._lines(self._urls.export_path(stood))
            lines.update(self._read[stood])
        return lines

    def _lines(self, path: str) -> Kept:
        meta = self._store.derived_meta(path)
        parts = self._store.feed_parts(path, meta.etag) if meta is not None else ()
        stored = self._store.derived_document(path, meta) if parts else None
        if stored is None or Document.etag_of(stored.body) != stored.etag:
            return {}
        return stored_entries(stored.body, parts)


_DAMAGED = (StoreDamagedError, KeyError, TypeError, ValueError)


def adopt_index_parts(store: Store, renderer: Renderer, key: str, doc: Doc) -> None:
    """Before ``doc`` is rendered: if it is an index page, give ``renderer`` its parts as a
    publish with the render key ``key`` kept them (a new process then does not make them)."""
    if isinstance(doc, IndexPage) and not renderer.index_parts.has(doc.lang):
        kept = store.index_parts(doc.lang.value, key)
        if kept is not None:
            autodiscovery, subscribe = kept
            parts = IndexParts(trusted_html(autodiscovery), trusted_html(subscribe))
            renderer.index_parts.adopt(doc.lang, parts)


def stage_made_index_parts(batch: Batch, renderer: Renderer, key: str) -> None:
    """Queue the index's parts ``renderer`` made since the last call, under ``key``."""
    for lang, parts in renderer.index_parts.take_made().items():
        Store.stage_index_parts(batch, lang.value, key, parts.autodiscovery, parts.subscribe)
