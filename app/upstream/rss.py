"""The agency's RSS feed (the only importer of feedparser): bytes in, observations out.

Each item is one more observation of the message its link names (SPEC.md section 4): title,
``pubDate`` (creation, in GMT), the description as escaped HTML and one ``category`` per system.
An item carries no status and no last-updated time; update lines that name only a clock time
keep ``at=None`` here, because the item does not say on which day they were written.
An item link outside the configured origins is neither followed nor published (the item is
kept without a link, with a warning); a feed whose decoded text is implausible is refused.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.catalogue import Catalogue
from app.model import Kind, Lang, Observation, SourceKind
from app.upstream.links import Origin, link_problem
from app.upstream.markup import FIELD_CHARS, decode_checked, lines_of_html
from app.upstream.result import DetailLink, ParseResult
from app.upstream.sanitize import clean_html
from app.upstream.text import extract_updates, find_refs, normalize, strip_controls
from app.upstream.vocab import lang_of_url, oid_of


def _time(entry: Any, name: str) -> datetime | None:
    parsed = entry.get(name)
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


def _last_updated(entry: Any) -> datetime | None:
    """An item's own last-updated time, when it states one apart from its creation."""
    if dict.__contains__(entry, "updated") and dict.get(entry, "updated") != entry.get("published"):
        return _time(entry, "updated_parsed")
    return None


def parse_rss(
    body: bytes,
    headers: Mapping[str, str],
    *,
    url: str,
    lang: Lang,
    catalogue: Catalogue,
    observed_at: datetime,
    origins: frozenset[Origin] | None = None,
) -> ParseResult:
    """Parse an RSS 2.0 (or Atom) document into observations and detail links.

    ``origins``: where item links may point (None: any http(s) host).
    """
    text, refused = decode_checked(body, headers.get("content-type"), url)
    if refused is not None:
        return ParseResult(warnings=(refused,))
    import feedparser  # here: a poll whose feed answered 304 never loads it

    parsed = feedparser.parse(
        text.encode("utf-8"),
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    warnings: list[str] = []
    if parsed.get("bozo") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        return ParseResult(warnings=(f"{url}: not a readable feed ({reason})",))
    if parsed.get("bozo"):
        warnings.append(f"{url}: feed is malformed, read what could be read")
    channel_lang = str(parsed.feed.get("language", "")).lower()[:2]
    feed_lang = Lang.EN if channel_lang == "en" else Lang.DA if channel_lang == "da" else lang
    observations: dict[Observation, None] = {}
    links: dict[str, DetailLink] = {}
    unknown: list[str] = []
    for entry in parsed.entries:
        link = strip_controls(str(entry.get("link") or entry.get("id") or ""))
        oid = oid_of(link)
        if oid is None:
            warnings.append(f"{url}: item {entry.get('title', '')!r} has no message link, skipped")
            continue
        item_lang = lang_of_url(link, feed_lang) if "lang=" in link.lower() else feed_lang
        if (problem := link_problem(link, origins)) is not None:
            warnings.append(f"{url}: oid {oid}: item link dropped ({problem})")
        html = clean_html(str(entry.get("description") or entry.get("summary") or ""))
        lines = lines_of_html(html)
        ref, refs = find_refs(lines)
        names = [normalize(str(tag.get("term") or "")) for tag in entry.get("tags", [])]
        systems, unknown_here = catalogue.resolve(names)
        unknown.extend(unknown_here)
        obs = Observation(
            oid=oid,
            lang=item_lang,
            source_kind=SourceKind.RSS,
            observed_at=observed_at,
            link=link if problem is None else "",
            title=normalize(str(entry.get("title") or ""))[:FIELD_CHARS],
            ref=ref,
            refs=refs,
            systems=systems,
            unknown_systems=unknown_here,
            kind=(Kind.SCHEDULED if ref.startswith("WO") else Kind.DISRUPTION) if ref else None,
            created_at=_time(entry, "published_parsed"),
            last_updated_at=_last_updated(entry),
            message_html=html,
            message_text="\n".join(lines),
            updates=tuple(extract_updates(lines, item_lang, None)),
        )
        observations[obs] = None
        if problem is None:
            links.setdefault(link, DetailLink(link, oid, item_lang))
    if not observations and not warnings:
        warnings.append(f"{url}: the feed has no items")
    return ParseResult(
        observations=tuple(observations),
        links=tuple(links.values()),
        warnings=tuple(warnings),
        unknown_systems=tuple(dict.fromkeys(unknown)),
    )
