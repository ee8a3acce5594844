"""The library: serves stored documents to one web worker and follows the store as it changes.

See ``app.store.documents`` for the store layout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from app.errors import StoreDamagedError
from app.model import Incident
from app.render.renderer import Renderer
from app.site.archive import Archive
from app.site.documents import Doc, IncidentPage
from app.site.sets import history_pages, is_derived
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import DocMeta, Document, PageContext, RenderMark

log = logging.getLogger("toldfeed.library")


class Library:
    """Serves stored documents to one web worker; follows the store as it changes.

    It is also the ``Holdings`` of its URL map: an incident page or a history page is a 404
    unless the incident is stored or the system has that many pages.
    """

    VARIANTS = 256  # on-demand documents kept per worker, at most
    VARIANT_BYTES = 32 * 1024 * 1024  # and at most this many bytes of them (body and gzip)

    def __init__(
        self,
        store: Store,
        urls: Urls,
        renderer: Renderer,
        recheck_seconds: float = 1.0,
        variant_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.urls = urls
        self.renderer = renderer
        self.base = urls.base
        self.recheck = recheck_seconds
        self._lock = threading.Lock()
        self._checked = float("-inf")  # never: the first request follows the store
        self._mark: RenderMark | None = None
        self._index: dict[str, DocMeta] = {}
        self._docs: dict[str, Document] = {}
        self._hot: dict[Doc, Document] = {}  # record → stored document, until the store moves
        self._variants: OrderedDict[Doc, Document] = OrderedDict()
        self.variant_bytes = self.VARIANT_BYTES if variant_bytes is None else variant_bytes
        self.cached_bytes = 0  # what ``_variants`` holds
        self._derived: OrderedDict[Doc, Document] = OrderedDict()  # kept per generation
        self._history: dict[str, int] = {}
        self._archive = Archive(store)  # read through the store's indexes, per request
        # variants render one at a time per worker: a client asking for many variants keeps
        # one core busy, not all
        self._rendering = threading.Lock()
        self.context = PageContext(self.base, None, {})
        self.notice: Incident | None = None
        self.serial = 0  # moves whenever what the library serves may have changed

    def _sync(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        with self._lock:
            # _checked moves only once what it vouches for is loaded: a concurrent first
            # request waits on the lock instead of reading an empty index
            if time.monotonic() - self._checked < self.recheck:
                return
            try:
                self._follow(now)
            except StoreDamagedError as e:
                # serve what is loaded (if anything) until the poller has rendered again
                log.error("%s; serving the documents already loaded", e)
                self._checked = now

    def _follow(self, now: float) -> None:
        """Follow the stored documents (under the lock). Everything is read before anything
        served is replaced: a read that fails leaves the library as it was, to try again."""
        mark = self.store.render_mark()
        if mark == self._mark and self._index:
            self._checked = now
            return
        history = self.store.history_counts()
        index = self.store.document_index()
        context, notice = self.store.stored_page_context(self.base)
        if (
            mark is None
            or self._mark is None
            or (mark.generation, mark.key) != (self._mark.generation, self._mark.key)
        ):
            self._derived.clear()  # derived documents change only with incidents
        self._mark = mark
        self._history = history
        # keep what is loaded and unchanged; drop the rest
        self._docs = {p: d for p, d in self._docs.items() if p in index and index[p].etag == d.etag}
        self._index = index
        self._hot = {}
        self._variants.clear()
        self.cached_bytes = 0
        self.context, self.notice = context, notice
        self.serial += 1  # last: a request that reads the new serial gets what follows it
        self._checked = now

    def has_incident(self, key: str) -> bool:
        """True when an incident with ``key`` is stored (asked once per new incident URL)."""
        return self.store.incident(key) is not None

    def history_pages(self, slug: str) -> int:
        """How many history pages ``slug`` had at the last publish."""
        self._sync()
        return history_pages(self._history.get(slug, 0))

    def current(self) -> int:
        """The library's ``serial`` once it has followed the store: every document it gives
        stays what it is while the serial does (the server keeps its answers under it)."""
        self._sync()
        return self.serial

    def get(self, doc: Doc) -> Document | None:
        """The document ``doc``; None when nothing is stored yet."""
        self._sync()
        hot = self._hot.get(doc)  # the hot path: a stored document asked for again
        if hot is not None:
            return hot
        if is_derived(doc):
            return self._get_derived(doc)
        if doc.canonical:
            path = self.urls.export_path(doc)
            found = self._docs.get(path)
            if found is None and path in self._index:
                found = self._load(path)
            if found is not None:
                with self._lock:  # kept only if no follow replaced the tables meanwhile
                    if self._docs.get(path) is found and len(self._hot) < 4096:
                        self._hot[doc] = found
                return found
            if not self._index:
                return None
        return self._render(doc)

    def _load(self, path: str) -> Document | None:
        meta = self._index.get(path)
        doc = self.store.canonical_document(path, meta) if meta is not None else None
        # kept only when it is what the index says, and the index is still the one it was read
        # from (a publish and a follow in between: it is read again)
        if doc is not None and meta is not None and doc.etag == meta.etag:
            with self._lock:
                if self._index.get(path) is meta:
                    self._docs[path] = doc
        return doc

    def _get_derived(self, doc: Doc) -> Document:
        """A stored derived document; rendered here when the publisher has not written it yet."""
        with self._lock:
            mark = self._mark
            cached = self._derived.get(doc)
            if cached is not None:
                self._derived.move_to_end(doc)
                return cached
        path = self.urls.export_path(doc)
        stored = self.store.derived_document(path)
        if stored is not None:
            document = stored
        elif isinstance(doc, IncidentPage):  # its incident alone is all the page shows
            document = self.renderer.render(doc, self._archive, self.context, self.notice)
        else:
            return self._render(doc)
        with self._lock:
            if self._mark is not mark:
                return document  # the store moved on meanwhile: do not keep it
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
            mark = self._mark
        with self._rendering:
            document = self.renderer.render(doc, self._archive, self.context, self.notice)
        size = _size(document)
        with self._lock:
            if self._mark is not mark:
                return document  # the store moved on meanwhile: do not keep it
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
