"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents (the only importer of feedgen). Pure.

A feed is written as the feed without entries with each entry's bytes put where they go
(``render_feed``): the bytes of writing it whole, with every entry written once per incident
version and shared by the feeds that list it, or taken from a feed's stored bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from app import jsonio
from app.catalogue import Catalogue
from app.model import Lang
from app.render.entry import Entry
from app.render.i18n import word
from app.render.pages import feed_title
from app.site.documents import Feed, IndexPage
from app.site.urls import Urls
from app.store.rendered import FeedPart

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry

# feedgen (and lxml) are imported when a feed is first made: a poll that makes none never
# loads them

# a feed's entries as they stood in its stored bytes: incident key → (version mark, bytes)
Kept: TypeAlias = Mapping[str, tuple[int, bytes]]
AUTHOR = {"name": "Toldstyrelsen (via toldfeed)"}
FORMATS = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """Feed-level fields."""

    id: str
    title: str
    subtitle: str
    self_url: str
    home_url: str
    lang: Lang
    updated_at: datetime
    hub: str = ""  # a WebSub hub: <link rel="hub"> in Atom and RSS, "hubs" in JSON Feed


@functools.cache
def _feedgen() -> tuple[type[Any], type[Any], type[Any]]:
    """feedgen's generator, and toldfeed's entry and WebSub extension on it (made once)."""
    from feedgen.entry import FeedEntry
    from feedgen.ext.base import BaseExtension
    from feedgen.feed import FeedGenerator
    from feedgen.util import xml_elem

    class _WebSub(BaseExtension):  # type: ignore[misc]
        """Adds ``<atom:link rel="hub">`` to an RSS channel (feedgen writes only rel="self")."""

        hub = ""

        def extend_rss(self, feed: Any) -> Any:
            channel = feed[0]
            link = xml_elem("{http://www.w3.org/2005/Atom}link", channel, href=self.hub, rel="hub")
            # beside the self link, before the items
            channel.remove(link)
            items = channel.findall("item")
            channel.insert(channel.index(items[0]) if items else len(channel), link)
            return feed

    class _Entry(FeedEntry):  # type: ignore[misc]
        """feedgen's entry, writing each Atom link's ``rel`` and ``type``.

        feedgen 1.0 drops them (its loop variable shadows the link), so every link reads as
        ``rel="alternate"``; the incident page's ``rel="related"`` needs them.
        """

        def atom_entry(self, extensions: bool = True) -> Any:
            entry = super().atom_entry(extensions)
            for element, link in zip(entry.findall("link"), self.link() or [], strict=False):
                for attr in ("rel", "type"):
                    if link.get(attr):
                        element.set(attr, link[attr])
            return entry

    return FeedGenerator, _Entry, _WebSub


def feed_entry(entry: Entry, fmt: str) -> FeedEntry:
    """``entry`` as feedgen's entry of an Atom (``fmt`` "atom") or RSS feed (``entry_bytes``
    writes it)."""
    fe = _feedgen()[1]()
    fe.id(entry.id)
    fe.guid(entry.id, permalink=False)
    fe.title(entry.title)
    if entry.link:
        fe.link(href=entry.link, rel="alternate", type="text/html")
    if entry.page:  # RSS carries it in the content
        fe.link(href=entry.page, rel="related", type="text/html")
    # RSS has one date: the last real change, so RSS readers (Outlook, Power Automate) see
    # updates and closures as new; Atom keeps creation in <published>
    fe.published(entry.incident.published_at if fmt == "atom" else entry.incident.updated_at)
    fe.updated(entry.incident.updated_at)
    fe.author(AUTHOR)
    for term, label in entry.categories:
        if fmt == "atom":
            fe.category(term=term, label=label)
        else:  # RSS has no label: feedgen would write the label where the term goes
            fe.category(term=term)
    if fmt == "atom":
        fe.content(entry.content_html, type="html")
        fe.summary(entry.summary)
    else:
        fe.description(entry.content_html)
    return fe


def feed_meta(doc: Feed, catalogue: Catalogue, urls: Urls, updated: datetime, hub: str) -> FeedMeta:
    """The feed-level fields of ``doc``: its stable id, title, links, language and hub."""
    title = feed_title(catalogue, doc.scope, doc.value, doc.lang)
    if doc.status is not None:
        title = f"{title} ({word(doc.lang, doc.status.value)})"
    scope = f"feeds/{doc.scope.value}" + (f"/{doc.value}" if doc.value else "")
    lang = "da:" if doc.lang is Lang.DA else ""
    query = f"?status={doc.status.value}" if doc.status else ""
    return FeedMeta(
        id=f"tag:toldfeed,2026:{lang}{scope}{query}",
        title=title,
        subtitle=word(doc.lang, "feed_subtitle"),
        self_url=urls.url(doc),
        home_url=urls.url(IndexPage(doc.lang)),
        lang=doc.lang,
        updated_at=updated,
        hub=hub,
    )


def entry_bytes(entry: Entry, fmt: str) -> bytes:
    """``entry`` as it stands in a feed of ``fmt``: an Atom ``<entry>``, an RSS ``<item>`` or a
    JSON Feed item. The same in every feed that lists it (``render_feed`` joins them)."""
    if fmt == "json":
        return _json(_json_item(entry))
    from lxml import etree  # type: ignore[import-untyped]  # feedgen's

    item = feed_entry(entry, fmt)
    element = item.atom_entry() if fmt == "atom" else item.rss_entry()
    data: bytes = etree.tostring(element, encoding="UTF-8", xml_declaration=False)
    return data


_TAILS = {"atom": b"</feed>", "rss": b"</channel></rss>"}
_JSON_ITEMS = b'"items":['


def render_feed(
    fmt: str, meta: FeedMeta, entries: Sequence[bytes]
) -> tuple[bytes, list[tuple[int, int]]]:
    """The feed in ``fmt`` (atom, rss or json) of ``entries`` (each as ``entry_bytes`` gives
    it; already ordered and limited), and where each entry stands in its bytes. The bytes are
    those feedgen and ``json`` write for the whole feed: the feed without entries, with the
    entries put where they go."""
    frame = _json_frame(meta) if fmt == "json" else _xml_frame(fmt, meta)
    cut = frame.index(_JSON_ITEMS) + len(_JSON_ITEMS) if fmt == "json" else -len(_TAILS[fmt])
    pieces, spans, at = [frame[:cut]], [], len(frame[:cut])
    for n, entry in enumerate(entries):
        if fmt == "json" and n:
            pieces.append(b",")
            at += 1
        pieces.append(entry)
        spans.append((at, at + len(entry)))
        at += len(entry)
    pieces.append(frame[cut:])
    return b"".join(pieces), spans


def _xml_frame(fmt: str, meta: FeedMeta) -> bytes:
    """The Atom or RSS feed of ``meta`` without entries (they go before its closing tags)."""
    generator, _, websub = _feedgen()
    fg = generator()
    fg.id(meta.id)
    fg.title(meta.title)
    fg.subtitle(meta.subtitle)
    fg.author(AUTHOR)
    fg.link(href=meta.self_url, rel="self", type=FORMATS[fmt])
    if meta.hub and fmt == "atom":
        fg.link(href=meta.hub, rel="hub")
    elif meta.hub:
        fg.register_extension("websub", websub, atom=False, rss=True)
        fg.websub.hub = meta.hub
    fg.link(href=meta.home_url, rel="alternate", type="text/html")
    fg.language(meta.lang.value)
    fg.updated(meta.updated_at)
    fg.lastBuildDate(meta.updated_at)
    fg.generator("toldfeed", uri="https://github.com/toldfeed/toldfeed")
    data: bytes = fg.atom_str(pretty=False) if fmt == "atom" else fg.rss_str(pretty=False)
    assert data.endswith(_TAILS[fmt])
    return data


def _json_item(entry: Entry) -> dict[str, Any]:
    incident = entry.incident
    return {
        "id": entry.id,
        "url": entry.link or None,
        "title": entry.title,
        "content_html": entry.content_html,
        "summary": entry.summary,
        "date_published": incident.published_at.isoformat(),
        "date_modified": incident.updated_at.isoformat(),
        "tags": [term for term, _ in entry.categories],
        "authors": [AUTHOR],
        "_toldfeed": {
            "status": incident.status.value,
            "systems": list(incident.systems),
            "reference": incident.ref,
            "oids": list(incident.oids),
            "page": entry.page or None,
        },
    }


def _json_frame(meta: FeedMeta) -> bytes:
    """The JSON Feed of ``meta`` without items (they go inside ``"items":[]``, the only place
    those bytes can stand: inside a string every quote is escaped)."""
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": meta.title,
        "description": meta.subtitle,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "language": meta.lang.value,
        "authors": [AUTHOR],
        "items": [],
    }
    if meta.hub:
        doc["hubs"] = [{"type": "WebSub", "url": meta.hub}]
    return _json(doc)


def _json(value: object) -> bytes:
    return jsonio.dumps(value)


def stored_entries(body: bytes, parts: Iterable[FeedPart]) -> Kept:
    """The entries of a stored feed's ``body`` by incident key, as ``Renderer.render`` takes
    them (``parts``: where each stood, as the render that wrote the body said)."""
    return {
        p.key: (p.mark, body[p.start : p.end]) for p in parts if 0 <= p.start <= p.end <= len(body)
    }
