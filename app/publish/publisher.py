"""The publisher: renders the documents a poll's changes can affect and stores them.

A publish is three steps: the choice (``app.publish.choice``: which documents to look at), the
documents staged (the history pages, then the canonical documents whose inputs or shown time
moved), and the
record of what was published (index, counts, page context, render mark, change log), all in
one commit. See ``app.store.documents`` for the store layout and the render key.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from datetime import datetime

from app.errors import StoreDamagedError
from app.model import Incident
from app.publish.choice import Choice, choose, what_moved
from app.publish.reuse import (
    HistoryLines,
    adopt_index_parts,
    kept_entries,
    restamped,
    stage_made_index_parts,
)
from app.publish.stored import read_stored
from app.render.inputs import digest
from app.render.renderer import Renderer
from app.render.stamps import stamp_text
from app.site.archive import Archive
from app.site.documents import Doc
from app.site.sets import canonical_documents
from app.site.urls import Urls
from app.store import Batch, Store
from app.store.rendered import DocMeta, Document, PageContext, RenderMark, forward

log = logging.getLogger("toldfeed.publisher")


class Publisher:
    """Renders the canonical documents that a change can affect and stores them."""

    def __init__(
        self, store: Store, urls: Urls, renderer: Renderer, key: str, poll_seconds: float
    ) -> None:
        """``key``: the render key of the running code and settings (``render_key``);
        ``poll_seconds``: the poll interval, which the calendars show."""
        self.store = store
        self.urls = urls
        self.renderer = renderer
        catalogue = self.catalogue = urls.catalogue
        self.key = key
        self.poll_seconds = poll_seconds
        self.docs = canonical_documents(catalogue)
        self.slugs = catalogue.slugs
        self.archive = Archive(store, key)  # the store's incidents, read through its indexes
        self.changed: list[Doc] = []  # documents whose bytes the last publish changed
        self.rendered: list[Doc] = []  # canonical documents the last publish rendered
        self.last_full = False  # the last publish rendered everything

    @functools.cached_property
    def time_paths(self) -> frozenset[str]:
        """The export paths of the documents that show the poll's time or health (for the
        upload: made when first asked, as a poll with no bucket never does)."""
        return frozenset(self.urls.export_path(doc) for doc in self.docs if doc.health_dependent)

    def signature(self, ctx: PageContext, notice: Incident | None) -> str:
        """What the documents say besides the time of the poll, as a digest: the state of every
        system now, the blind notice and the source notes. A poll that changes no incident and
        leaves this as it was changed the documents only by the time they show."""
        states = self.archive.states(self.catalogue, ctx.refreshed_at) if ctx.refreshed_at else {}
        said = (sorted(states.items()), ctx.blind_notice, ctx.source_notes, notice)
        return digest(said)

    def stored_mark(self) -> RenderMark | None:
        """What the stored documents reflect; None (render everything again) when the record is
        damaged: rendered documents can always be made again from the incidents."""
        try:
            return self.store.render_mark()
        except StoreDamagedError as e:
            log.error("%s; rendering every document again", e)
            return None

    def _stored_index(self) -> dict[str, DocMeta] | None:
        """The stored document index; None when it (or the page context) is damaged."""
        try:
            self.store.stored_page_context(self.urls.base)
            return self.store.document_index()
        except StoreDamagedError as e:
            log.error("%s; rendering every document again", e)
            return None

    def up_to_date(self) -> bool:
        """True when stored documents reflect the current store and this configuration, and
        the records a worker reads to serve them are readable."""
        mark = self.stored_mark()
        if mark is None or mark.key != self.key or mark.generation != self.store.generation():
            return False
        if mark.poll_seconds != self.poll_seconds:
            return False  # the calendars say another interval (``needs_everything`` is False)
        try:
            self.store.history_counts()
        except StoreDamagedError as e:
            log.error("%s; rendering every document again", e)
            return False
        return self._stored_index() is not None

    def needs_everything(self) -> bool:
        """True when the stored documents were made by other code or settings (or none are
        stored, or their records are damaged): then every document is rendered again."""
        mark = self.stored_mark()
        return mark is None or mark.key != self.key or self._stored_index() is None

    def publish(
        self, ctx: PageContext, notice: Incident | None, changed: list[str] | None = None
    ) -> int:
        """Render what ``changed`` keys (None: everything) can affect; commit; return the count.

        Everything is rendered when the render key differs from the stored one.
        """
        mark = self.stored_mark()
        stored = self._stored_index() if mark is not None else None
        if stored is None:
            mark = None  # nothing stored, or damaged: everything is rendered again
        generation = self.store.generation()  # what this publish renders (under the poll lock)
        with self.archive.pinned(generation):
            return self._publish(ctx, notice, changed, mark, stored, generation)

    def _publish(
        self,
        ctx: PageContext,
        notice: Incident | None,
        changed: list[str] | None,
        mark: RenderMark | None,
        stored: dict[str, DocMeta] | None,
        generation: int,
    ) -> int:
        """``publish`` once the stored state is read: ``mark`` and ``stored`` (the index)
        describe the documents stored, ``generation`` the store they are made from."""
        index = stored or {}
        choice = choose(
            self.store,
            self.archive,
            self.urls,
            self.docs,
            changed,
            mark,
            self.key,
            what_moved(self.store, ctx, notice, mark, stored is not None, self.poll_seconds),
            generation,
        )
        self.last_full = choice.full  # for the upload: a full render is never a quiet poll
        self.changed = []
        self.rendered = []
        batch = Batch()
        # the lines of the stored history pages, while the render key that made them holds
        lines = (
            HistoryLines(self.store, self.urls)
            if mark is not None and mark.key == self.key
            else None
        )
        written = self._put_derived(batch, choice.derived, choice.deleted, ctx, notice, lines)
        written += self._put_canonical(batch, choice, index, ctx, notice)
        logged = [*self.changed, *choice.deleted]  # what a copier (the upload) must look at
        self._stage_record(batch, index, logged, ctx, notice, mark, generation)
        self.store.commit(batch)
        return written

    def _put_canonical(
        self,
        batch: Batch,
        choice: Choice,
        index: dict[str, DocMeta],
        ctx: PageContext,
        notice: Incident | None,
    ) -> int:
        """Stage the chosen canonical documents whose bytes changed, and their entries in
        ``index``; return how many were written."""
        written = 0
        for doc in choice.chosen:
            path = self.urls.export_path(doc)
            old = index.get(path)
            # the digest of what it shows, kept beside it: a new process (a cron poll) that
            # finds the same inputs does not render it again
            inputs, horizon = self._inputs(
                doc, old, ctx, choice.steady and doc not in choice.affected
            )
            same = not choice.full and bool(inputs) and old is not None and old.inputs == inputs
            # nothing it shows moved: skip it, unless it shows the poll's time and that moved
            # (a stamp that could not be told apart in its bytes (None) is rendered again)
            text = stamp_text(doc, ctx)
            if (
                same
                and old is not None
                and (text is None or (old.stamp and old.stamp.text == text))
            ):
                if old.horizon != horizon:
                    index[path] = replace(old, horizon=horizon)
                continue
            # the same inputs, another poll's time: the stored bytes with this poll's stamp
            document = (
                restamped(self.store, self.renderer, self.archive, doc, path, old, ctx)
                if same
                else None
            )
            if document is None:
                kept = kept_entries(self.store, doc, path, old) if not choice.full else None
                adopt_index_parts(self.store, self.renderer, self.key, doc)
                document = self.renderer.render(doc, self.archive, ctx, notice, kept)
                self.rendered.append(doc)
            if old is not None and old.etag == document.etag:
                if (inputs, document.stamp, horizon) != (old.inputs, old.stamp, old.horizon):
                    index[path] = replace(old, inputs=inputs, stamp=document.stamp, horizon=horizon)
                Store.stage_feed_parts(batch, path, document)  # its entries' versions may move
                continue
            self.changed.append(doc)
            Store.stage_canonical(batch, path, document)
            modified = forward(old, document.last_modified)
            index[path] = DocMeta(
                document.etag, document.content_type, modified, inputs, document.stamp, horizon
            )
            written += 1
        return written

    def _stage_record(
        self,
        batch: Batch,
        index: dict[str, DocMeta],
        logged: list[Doc],
        ctx: PageContext,
        notice: Incident | None,
        mark: RenderMark | None,
        generation: int,
    ) -> None:
        """Stage what the next publish, a new process and a copier read: the figures and index
        parts made, the document index, history counts, page context, the render mark (of
        ``generation``), and the change log (the ``logged`` documents, written or deleted)."""
        for slug, (token, figures) in self.archive.made_figures().items():
            Store.stage_figures(batch, slug, token, figures)  # a new process finds them
        stage_made_index_parts(batch, self.renderer, self.key)  # as the figures
        serial = mark.serial + 1 if mark is not None else 1
        Store.stage_published(
            batch,
            index,
            {slug: self.archive.history_count(slug) for slug in self.slugs},
            (ctx, notice),
            RenderMark(
                generation,
                self.key,
                ctx.refreshed_at,
                serial,
                self.urls.base,
                self.poll_seconds,
            ),
            [self.urls.export_path(d) for d in logged],  # a copier reads only these
        )

    def changed_since(self, serial: int) -> set[str] | None:
        """Export paths changed by the publishes after ``serial``; None when not all are known
        (``serial`` too old, or never): the caller must then look at everything."""
        mark = self.stored_mark()
        return self.store.changes_since(serial, mark.serial if mark is not None else 0)

    def _inputs(
        self, doc: Doc, old: DocMeta | None, ctx: PageContext, steady: bool
    ) -> tuple[str, datetime | None]:
        """The digest of what ``doc`` shows and its horizon (``app.site.horizon``): in a
        ``steady`` store before the horizon kept with ``old``, the digest kept."""
        now = ctx.refreshed_at
        horizon = old.horizon if steady and old is not None and old.inputs else None
        if old is not None and horizon is not None and now is not None and now < horizon:
            return old.inputs, horizon
        inputs = self.renderer.inputs(doc, self.archive, ctx)
        return inputs, self.renderer.horizon(doc, self.archive, ctx) if inputs else None

    def _put_derived(
        self,
        batch: Batch,
        docs: list[Doc],
        deleted: list[Doc],
        ctx: PageContext,
        notice: Incident | None,
        lines: HistoryLines | None,
    ) -> int:
        """Stage the derived documents whose bytes changed and the deletions; return how many
        were written. Each one's stored headers are read to compare ETags (no shared index).
        ``lines``: what the stored history pages show, taken where it still holds."""
        written = 0
        for doc in docs:
            kept = lines.kept(doc) if lines is not None else None
            document = self.renderer.render(doc, self.archive, ctx, notice, kept)
            path = self.urls.export_path(doc)
            old = self.store.derived_meta(path)
            if old is not None and old.etag == document.etag:
                Store.stage_feed_parts(batch, path, document)  # its lines' versions may move
                continue
            self.changed.append(doc)
            modified = forward(old, document.last_modified)
            meta = DocMeta(document.etag, document.content_type, modified)
            Store.stage_derived(batch, path, document, meta)
            written += 1
        for doc in deleted:
            Store.stage_document_deleted(batch, self.urls.export_path(doc))
        return written

    def stored(self, only: set[str] | None = None) -> dict[str, Document]:
        """Every stored document (for export and the bucket), by export path, in the order to
        publish them; with ``only``, just those paths (``app.publish.stored``)."""
        return read_stored(self.store, self.urls, self.archive, self.docs, only)
