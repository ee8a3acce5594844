"""A system's history page (page 2 on) as a document, each incident's line taken from the
page's stored bytes while its version holds. Pure.

A new incident shifts every page of its systems' histories, so all of them are rendered
again (10,000 archived: some 800 pages of 50 lines). A line shows nothing but its incident
(and the render key: code, base URL, catalogue), so the lines of the pages as they were
stored (``Kept``, by incident key with their version's mark) are taken as they stood, and
only the incidents without one are read and written: the page costs its template, not 50
incidents.
"""

from __future__ import annotations

from collections.abc import Callable

from app.catalogue import Catalogue
from app.model import Incident
from app.render.feeds import Kept
from app.render.system import joined_lines, render_history_page
from app.site.archive import EPOCH, Archive
from app.site.documents import SystemPage
from app.site.sets import history_pages
from app.site.urls import Urls
from app.store.rendered import Document, FeedPart, PageContext


def history_document(
    doc: SystemPage,
    archive: Archive,
    ctx: PageContext,
    catalogue: Catalogue,
    urls: Urls,
    content_type: str,
    kept: Kept | None,
    line: Callable[[Incident], str],
) -> Document:
    """Page ``doc.page`` (2 on) of ``doc.system``'s incidents, newest published first; ``line``
    writes an incident's line (``incident_item``) when ``kept`` does not hold it as it stands."""
    marked = archive.history_marks(doc.system, doc.page)
    taken = {k: s[1] for k, m in marked if (s := (kept or {}).get(k)) is not None and s[0] == m}
    read = archive.read([(k, m) for k, m in marked if k not in taken])
    lines: list[tuple[str, int, str]] = []  # key, mark, the line
    for key, mark in marked:
        if key in taken:
            lines.append((key, mark, taken[key].decode("utf-8")))
        elif (incident := read.get(key)) is not None:  # else removed meanwhile
            lines.append((key, mark, line(incident)))
    pages = history_pages(archive.history_count(doc.system))
    joined = joined_lines([line for _, _, line in lines])
    body = render_history_page(doc, joined, pages, catalogue, ctx, urls)
    modified = archive.latest_change_of(doc.system, [key for key, _, _ in lines])
    return Document.of(body, content_type, modified or EPOCH, parts=_spans(body, joined, lines))


def _spans(
    body: bytes, joined: str, lines: list[tuple[str, int, str]]
) -> tuple[FeedPart, ...] | None:
    """Where each line stands in ``body``: the lines stand one after the other, each followed
    by a newline (``joined``); None when they are not found as written."""
    at = body.find(joined.encode("utf-8")) if lines else -1
    if at < 0:
        return None
    parts = []
    for key, mark, line in lines:
        end = at + len(line.encode("utf-8"))
        parts.append(FeedPart(key, mark, at, end))
        at = end + 1  # the newline
    return tuple(parts)
