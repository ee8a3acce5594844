"""The stored documents a publish deletes: history pages past the archive's end, and the pages
of incidents no longer stored (merged into another, forgotten)."""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import StoreDamagedError
from app.site.archive import Archive
from app.site.documents import Doc
from app.site.sets import history_documents, history_pages, incident_documents
from app.site.urls import Urls
from app.store import Store


def pages_past_end(store: Store, archive: Archive, slugs: Sequence[str]) -> list[Doc]:
    """History pages stored by an earlier publish that the archive no longer fills."""
    try:
        stored = store.history_counts()
    except StoreDamagedError:  # rendered again in full: what it listed is unknown
        stored = {}
    gone: list[Doc] = []
    for slug in slugs:
        old = history_pages(int(stored.get(slug, 0)))
        new = history_pages(archive.history_count(slug))
        gone += history_documents(slug, range(new + 1, old + 1))
    return gone


def pages_of_gone_incidents(store: Store, urls: Urls, archive: Archive) -> list[Doc]:
    """The stored incident pages whose incident is no longer stored: looked for in a full
    render, which cannot know what changed."""
    gone: list[Doc] = []
    for path in store.derived_paths():
        found = urls.match("/" + path)
        if found is not None and found[0] == "incident":
            key = str(found[1]["key"])
            if key not in archive:
                gone += incident_documents(key)
    return list(dict.fromkeys(gone))
