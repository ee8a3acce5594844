"""List pages (overview with a status column, template and filtered lists without): bytes in.

Rows and fields are found by header text, and where headers are missing or do not fit a row,
by content (a link with an oid is the title, ``DD-MM-YYYY kl. HH:MM`` the last update, a
status word the status ...). CSS classes and ids are never relied on.

A title link outside the configured origins (``app.upstream.links``) is neither followed nor
published: the row is kept, with the list page's own URL as its link, and a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urljoin

from app.catalogue import Catalogue
from app.model import Kind, Lang, Observation, SourceKind, Status
from app.upstream.dates import parse_local
from app.upstream.links import Origin, link_problem
from app.upstream.markup import Document, Node, attr, open_document, rich_text, text_of
from app.upstream.result import DetailLink, ParseResult
from app.upstream.text import extract_updates, find_refs
from app.upstream.vocab import (
    LIST_HEADERS,
    is_status_word,
    label_key,
    lang_of_url,
    oid_of,
    parse_kind,
    parse_status,
)

_UPDATED_CELL = re.compile(r"^\d{1,2}-\d{1,2}-\d{4}\s+kl\.?\s*\d{1,2}[:.]\d{2}$", re.I)
_CREATED_CELL = re.compile(r"^\d{1,2}-\d{1,2}-\d{4}\s+\d{1,2}:\d{2}(:\d{2})?$")


def feed_links_of(tree: Node, base: str) -> tuple[str, ...]:
    """RSS/Atom URLs a page advertises: <link rel=alternate> first, then visible RSS links."""
    found: list[str] = []
    for link in tree.css("link"):
        rel = attr(link, "rel").lower().split()
        kind = attr(link, "type").lower()
        if "alternate" in rel and ("rss" in kind or "atom" in kind) and attr(link, "href"):
            found.append(urljoin(base, attr(link, "href")))
    for anchor in tree.css("a"):
        href = attr(anchor, "href")
        if href and ("rss" in text_of(anchor).lower() or "rss" in attr(anchor, "title").lower()):
            found.append(urljoin(base, href))
    return tuple(dict.fromkeys(found))


def _title_link(cell: Node, base: str) -> tuple[str, int] | None:
    for anchor in cell.css("a"):
        href = urljoin(base, attr(anchor, "href"))
        oid = oid_of(href)
        if oid is not None:
            return href, oid
    return None


def _classify(cell: Node, base: str) -> str | None:
    """Guess a cell's field from its content alone."""
    text = text_of(cell)
    if (
        cell.css_first("p, li, ul, div") is not None
        and len(text) > 0
        and not _title_link(cell, base)
    ):
        return "message"
    if _title_link(cell, base):
        return "title"
    if _UPDATED_CELL.match(text):
        return "updated"
    if _CREATED_CELL.match(text):
        return "created"
    if is_status_word(text):
        return "status"
    return None


def _header_map(rows: list[Node]) -> list[str | None]:
    """The field of each column, from a table's first row with header cells."""
    header_row = next((tr for tr in rows if _own_cells(tr, "th")), None)
    if header_row is None:
        return []
    return [LIST_HEADERS.get(label_key(text_of(th))) for th in _own_cells(header_row, "th", "td")]


def _own_cells(row: Node, *tags: str) -> list[Node]:
    """The row's own cells (not those of a table nested in one of them)."""
    cells: list[Node] = []
    child = row.child
    while child is not None:
        if child.tag in tags:
            cells.append(child)
        child = child.next
    return cells


def _owner_table(row: Node) -> Node | None:
    """The table a row belongs to (through its tbody/thead/tfoot), or None."""
    parent = row.parent
    if parent is not None and parent.tag in {"tbody", "thead", "tfoot"}:
        parent = parent.parent
    return parent if parent is not None and parent.tag == "table" else None


def _tables(tree: Document) -> list[list[Node]]:
    """The rows of every table, table by table in document order: each row is visited once,
    however deeply tables nest (asking each table for its rows would visit the rows of nested
    tables once per level)."""
    found: dict[int, list[Node]] = {}
    for row in tree.css("tr"):
        owner = _owner_table(row)
        if owner is not None:
            found.setdefault(owner.mem_id, []).append(row)
    return list(found.values())


def _row_fields(cells: list[Node], headers: list[str | None], base: str) -> dict[str, Node]:
    fields: dict[str, Node] = {}
    if headers and len(headers) == len(cells) and "title" in headers:
        for name, cell in zip(headers, cells, strict=True):
            if name and name not in fields:
                fields[name] = cell
        return fields
    for cell in cells:  # headers missing or not matching this row: go by content
        name = _classify(cell, base)
        if name and name not in fields:
            fields[name] = cell
    if "title" in fields:
        # what is left, short and not a date or status, is the system cell
        for cell in cells:
            if cell not in fields.values() and text_of(cell) and "system" not in fields:
                fields["system"] = cell
    return fields


def parse_list_page(
    body: bytes,
    headers: Mapping[str, str],
    *,
    url: str,
    lang: Lang,
    catalogue: Catalogue,
    observed_at: datetime,
    origins: frozenset[Origin] | None = None,
) -> ParseResult:
    """Parse a list page into one observation per distinct row, plus detail links.

    ``origins``: where title links may point (None: any http(s) host).
    """
    tree, page_lang, warnings = open_document(body, headers, lang, url)
    if tree is None:
        return ParseResult(warnings=tuple(warnings))
    html = tree.css_first("html")
    kind_filter = Kind.SCHEDULED if "type=servicevindue" in url.lower() else None
    observations: dict[Observation, None] = {}
    links: dict[str, DetailLink] = {}
    unknown: list[str] = []
    for rows in _tables(tree):
        headers_of_table = _header_map(rows)
        for row in rows:
            cells = _own_cells(row, "td")
            if not cells:
                continue
            fields = _row_fields(cells, headers_of_table, url)
            found = _title_link(fields["title"], url) if "title" in fields else None
            if found is None:
                if any(text_of(c) for c in cells):
                    warnings.append(f"{url}: a table row without a link to a message was skipped")
                continue
            link, oid = found
            problem = link_problem(link, origins)
            if problem is not None:
                warnings.append(f"{url}: oid {oid}: title link dropped ({problem})")
                link = url
            obs = _observation(
                fields, link, oid, page_lang, catalogue, observed_at, kind_filter, warnings
            )
            unknown.extend(obs.unknown_systems)
            observations[obs] = None
            if problem is None:
                links.setdefault(
                    link, DetailLink(link, oid, lang_of_url(link, page_lang), obs.last_updated_at)
                )
    if not observations:
        warnings.append(f"{url}: no message rows found (has the page layout changed?)")
    return ParseResult(
        observations=tuple(observations),
        links=tuple(links.values()),
        feed_links=feed_links_of(html, url) if html is not None else (),
        warnings=tuple(dict.fromkeys(warnings)),
        unknown_systems=tuple(dict.fromkeys(unknown)),
    )


def _observation(
    fields: dict[str, Node],
    link: str,
    oid: int,
    lang: Lang,
    catalogue: Catalogue,
    observed_at: datetime,
    kind_filter: Kind | None,
    warnings: list[str],
) -> Observation:
    def text(name: str) -> str:
        return text_of(fields.get(name))

    systems, unknown = catalogue.resolve(text("system").split(","))
    last_updated = parse_local(text("updated"))
    created = parse_local(text("created"))
    for name, value in (("updated", last_updated), ("created", created)):
        if value is None and text(name):
            warnings.append(f"oid {oid}: unreadable {name} date {text(name)!r}")
    html, lines = rich_text(fields["message"]) if "message" in fields else ("", [])
    ref, refs = find_refs([*lines, text("title")])
    status = parse_status(text("status"))
    kind = parse_kind(text("type")) or kind_filter
    if kind is None and status is Status.SCHEDULED:
        kind = Kind.SCHEDULED
    return Observation(
        oid=oid,
        lang=lang,
        source_kind=SourceKind.PAGE,
        observed_at=observed_at,
        link=link,
        title=text("title"),
        ref=ref,
        refs=refs,
        systems=systems,
        unknown_systems=unknown,
        status=status,
        kind=kind,
        created_at=created,
        last_updated_at=last_updated,
        message_html=html,
        message_text="\n".join(lines),
        updates=tuple(extract_updates(lines, lang, last_updated or created)),
    )
