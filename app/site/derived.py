"""The derived documents (incident pages, history pages after the first): which exist in an
archive, and which a change makes render or delete. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from app.model import Head, Incident
from app.site.archive import Archive
from app.site.documents import HISTORY_PAGE, Doc
from app.site.sets import history_documents, history_pages, incident_documents


def derived_documents(archive: Archive, slugs: Iterable[str]) -> list[Doc]:
    """Every derived document the archive makes exist: incident pages, later history pages.

    Incident pages come first: the history pages link to them.
    """
    docs: list[Doc] = []
    for key in archive.keys_newest():
        docs += incident_documents(key)
    for slug in slugs:
        pages = history_pages(archive.history_count(slug))
        docs += history_documents(slug, range(pages, 1, -1))
    return docs


def derived_changes(
    archive: Archive, before: dict[str, int], touched: Iterable[Head | Incident]
) -> tuple[list[Doc], list[Doc]]:
    """(to render, to delete): the derived documents a change can affect, after it is applied.

    ``touched`` are the old and new versions of the changed incidents, ``before`` the history
    counts taken before the change (what the last publish stored). An incident's own pages are rendered
    (or deleted when it is gone); in each system it names, the history pages from where its
    versions stand are rendered: only those pages when the system's count is unchanged, up to
    the last page when incidents came or went (everything after shifts by one). Pages past the
    new end are deleted. Page 1 is canonical and chosen by ``shows``.
    """
    render: list[Doc] = []
    delete: list[Doc] = []
    places: dict[str, list[int]] = {}
    seen: set[str] = set()
    for incident in touched:
        if incident.key not in seen:
            seen.add(incident.key)
            docs = incident_documents(incident.key)
            (render if incident.key in archive else delete).extend(docs)
        for slug in incident.systems:
            places.setdefault(slug, []).append(archive.history_position(slug, incident))
    for slug, positions in places.items():
        old = history_pages(before.get(slug, 0))
        new = history_pages(archive.history_count(slug))
        first = min(positions) // HISTORY_PAGE + 1
        last = max(positions) // HISTORY_PAGE + 1
        if before.get(slug, 0) != archive.history_count(slug):
            last = max(old, new)
        if old != new:
            first = 1  # every page's pager says how many pages there are
        render += history_documents(slug, range(max(first, 2), min(last, new) + 1))
        delete += history_documents(slug, range(new + 1, old + 1))
    return render, delete
