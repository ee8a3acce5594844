"""Which documents one publish looks at, chosen before anything is rendered (``Publisher``'s
first step).

A publish after a poll renders only what the poll's changes can have moved: the history pages
of the touched incidents' systems, and the canonical documents that show a touched incident,
the page context, the blind notice or the poll interval. When the stored documents do not
reflect the store as it was just before the change (first use, another process's poll, a
publish that failed, other code or settings), what they miss is unknown: then everything is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.errors import StoreDamagedError
from app.model import Head, Incident
from app.publish.gone import pages_of_gone_incidents, pages_past_end
from app.site.archive import Archive
from app.site.derived import derived_changes, derived_documents
from app.site.documents import Calendar, Doc
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import PageContext, RenderMark


@dataclass(frozen=True, slots=True)
class Choice:
    """The documents one publish looks at.

    ``full``: every document is rendered again; ``derived``: the history pages to render;
    ``deleted``: the documents to delete; ``chosen``: the canonical documents whose inputs may
    have moved (each is skipped when its stored inputs digest and the time it shows still
    match, and only restamped when the time alone moved); ``affected``:
    those among them that show an incident the change touched; ``steady``: a store as the last
    publish left it but for the change, the clock gone on (a document not ``affected`` keeps its
    inputs digest until its horizon).
    """

    full: bool
    derived: list[Doc]
    deleted: list[Doc]
    chosen: list[Doc]
    affected: frozenset[Doc]
    steady: bool


@dataclass(frozen=True, slots=True)
class Moved:
    """What moved besides the incidents since the last publish: the page context (the poll's
    time included), the blind notice, the poll interval; and whether the context is the same
    but for the time, with the clock gone on (``only_time``)."""

    context: bool
    notice: bool
    interval: bool
    only_time: bool


def caught_up(
    store: Store, archive: Archive, mark: RenderMark | None, changed: list[str], generation: int
) -> tuple[list[Head], tuple[list[Doc], list[Doc]]] | None:
    """The old and new heads of what ``changed`` changed, and the derived documents to render
    and to delete.

    None when the stored documents do not reflect the store as it was just before this change
    (first use, another process's poll, a publish that failed), or the heads the change
    replaced are not known: then what changed is unknown.
    """
    if mark is None or mark.generation != generation - (1 if changed else 0):
        return None
    if not changed:
        return [], ([], [])
    before = store.heads_before(generation)
    if before is None or not set(changed) <= before.keys():
        return None
    touched = [h for h in before.values() if h is not None]
    touched += [h for key in before if (h := store.head(key)) is not None]
    try:
        counts = store.history_counts()  # as the last publish left them
    except StoreDamagedError:
        return None
    return touched, derived_changes(archive, counts, touched)


def choose(
    store: Store,
    archive: Archive,
    urls: Urls,
    docs: Sequence[Doc],
    changed: list[str] | None,
    mark: RenderMark | None,
    key: str,
    moved: Moved,
    generation: int,
) -> Choice:
    """What a publish of ``docs`` looks at for the keys ``changed`` (None: everything), the
    stored documents made as ``mark`` says, by the code and settings of ``key``."""
    # the stored documents must reflect the store as it was before this change; if an earlier
    # publish failed after its poll committed (a crash, a full disk), or another process
    # polled, they do not, and only a full render can tell what they miss
    caught = (
        caught_up(store, archive, mark, changed or [], generation) if changed is not None else None
    )
    full = caught is None or mark is None or mark.key != key
    touched, (derived, deleted) = caught or ([], ([], []))
    slugs = urls.catalogue.slugs
    if full:
        derived = derived_documents(archive, slugs)
        deleted = pages_of_gone_incidents(store, urls, archive)
    deleted += pages_past_end(store, archive, slugs)
    affected = frozenset(doc for doc in docs if any(doc.shows(i) for i in touched))
    chosen = [
        doc
        for doc in docs
        if full
        or (moved.context and doc.health_dependent)
        or (moved.notice and getattr(doc, "carries_notice", False))
        or (moved.interval and isinstance(doc, Calendar))
        or doc in affected
    ]
    return Choice(full, derived, deleted, chosen, affected, not full and moved.only_time)


def what_moved(
    store: Store,
    ctx: PageContext,
    notice: Incident | None,
    mark: RenderMark | None,
    stored: bool,
    poll_seconds: float,
) -> Moved:
    """What moved since the publish of ``mark`` besides the incidents (everything, when no
    documents are ``stored``), for a publish at the poll of ``ctx`` every ``poll_seconds``."""
    same_context, same_notice, same_but_time = (
        store.page_context_unchanged(ctx, notice) if stored else (False, False, False)
    )
    return Moved(
        context=not same_context,
        notice=not same_notice,
        interval=mark is None or mark.poll_seconds != poll_seconds,
        only_time=same_but_time and clock_went_on(mark, ctx.refreshed_at),
    )


def clock_went_on(mark: RenderMark | None, now: datetime | None) -> bool:
    """Whether the time of the poll (``now``) is that of the publish of ``mark`` or later."""
    if mark is None or mark.refreshed_at is None:
        return False
    return now is not None and now >= mark.refreshed_at
