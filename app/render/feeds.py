"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents (the only importer of feedgen). Pure."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from app.model import Lang
from app.render.entry import Entry

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry

# an entry in feedgen's form. feedgen (and lxml) are imported when a feed is first made: a poll
# that makes none never loads them
FeedItem: TypeAlias = "FeedEntry"
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


def feed_entry(entry: Entry, fmt: str) -> FeedItem:
    """``entry`` as feedgen's entry of an Atom (``fmt`` "atom") or RSS feed: made once per
    version and shared by every feed that lists it (each writes its own XML from it)."""
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
        fe.category(term=term, label=label)
    if fmt == "atom":
        fe.content(entry.content_html, type="html")
        fe.summary(entry.summary)
    else:
        fe.description(entry.content_html)
    return fe


def render_feed(
    fmt: str,
    meta: FeedMeta,
    entries: Sequence[Entry],
    built: Callable[[Entry, str], FeedItem] = feed_entry,
) -> bytes:
    """Render ``entries`` (already ordered and limited) as ``fmt``: atom, rss or json
    (``built``: each entry's feedgen form, ``feed_entry`` or a cache of it)."""
    if fmt == "json":
        return _json_feed(meta, entries)
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
    for entry in entries:
        fg.add_entry(built(entry, fmt), order="append")
    data: bytes = fg.atom_str(pretty=False) if fmt == "atom" else fg.rss_str(pretty=False)
    return data


def _json_feed(meta: FeedMeta, entries: Sequence[Entry]) -> bytes:
    items = []
    for entry in entries:
        incident = entry.incident
        items.append(
            {
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
        )
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": meta.title,
        "description": meta.subtitle,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "language": meta.lang.value,
        "authors": [AUTHOR],
        "items": items,
    }
    if meta.hub:
        doc["hubs"] = [{"type": "WebSub", "url": meta.hub}]
    # compact: json's C encoder (an indent falls back to the pure Python one, 10x slower)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
