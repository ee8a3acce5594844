"""What toldfeed publishes: URL → document, for the web server and ``toldfeed export`` alike.

``resolve`` turns a path and query into a ``DocSpec`` (or a RequestError saying what is valid);
``render`` turns a spec plus the incidents into a ``Document`` (bytes, type, ETag, gzip).
``canonical_specs`` lists every document with default parameters: those are rendered once
per store change and stored, so a request serves stored bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.catalogue import Catalogue
from app.config import Settings
from app.errors import RequestError
from app.model import Incident, Lang, Status
from app.render.entry import Entry, render_entry
from app.render.feeds import FORMATS, FeedMeta, render_feed
from app.render.i18n import word
from app.render.pages import (
    PageContext,
    feed_title,
    render_api,
    render_badge,
    render_embed,
    render_index,
    render_opml,
)

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = {
    **{fmt: f"{ctype}; charset=utf-8" for fmt, ctype in FORMATS.items()},
    "html": "text/html; charset=utf-8",
    "svg": "image/svg+xml",
    "opml": "text/x-opml; charset=utf-8",
    "api": "application/json; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class DocSpec:
    """One document: what it is and its parameters."""

    kind: str  # index | feed | opml | embed | badge | api
    lang: Lang = Lang.EN
    fmt: str = "html"
    feed: str = ""  # feeds/all, feeds/system/<slug>, feeds/status/<status>
    slug: str = ""
    status: Status | None = None
    limit: int = 50

    def path(self, default_limit: int) -> str | None:
        """The stored/exported path of a document with default parameters, else None."""
        if (self.status is not None and self.kind == "feed") or self.limit != default_limit:
            return None
        prefix = "da/" if self.lang is Lang.DA else ""
        match self.kind:
            case "index":
                return f"{prefix}index.html"
            case "feed":
                return f"{prefix}{self.feed}.{self.fmt}"
            case "embed":
                return f"{prefix}embed/{self.slug}.html"
            case "badge":
                return f"{prefix}badge/{self.slug}.svg"
            case "opml":
                return "feeds.opml"
            case "api":
                return None if self.slug or self.status else f"{prefix}api/incidents.json"
        return None


@dataclass(frozen=True, slots=True)
class Document:
    """Rendered bytes with what conditional GET and compression need."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    gzipped: bytes

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: datetime) -> Document:
        """Wrap bytes: the ETag is a hash of the body; the gzip form is made once here."""
        etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
        return cls(
            body,
            content_type,
            etag,
            last_modified.replace(microsecond=0),
            gzip.compress(body, compresslevel=6, mtime=0),
        )


class Site:
    """Resolves URLs and renders documents for one catalogue and configuration."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.base = settings.base_url.rstrip("/")

    # resolving -----------------------------------------------------------------------------

    def _lang(self, args: Mapping[str, str], default: Lang) -> Lang:
        value = args.get("lang")
        if value is None or value == "":
            return default
        if value not in {"en", "da"}:
            raise RequestError(400, f"lang must be 'en' or 'da', not {value[:40]!r}")
        return Lang(value)

    def _limit(self, args: Mapping[str, str]) -> int:
        value = args.get("limit")
        top = self.settings.feed_limit_max
        if value is None or value == "":
            return self.settings.feed_limit_default
        if not value.isdigit() or not 1 <= int(value) <= top:
            raise RequestError(
                400, f"limit must be a whole number from 1 to {top}, not {value[:40]!r}"
            )
        return int(value)

    def _status(self, value: str | None) -> Status | None:
        if value is None or value == "":
            return None
        try:
            return Status(value)
        except ValueError:
            valid = ", ".join(s.value for s in Status)
            raise RequestError(400, f"status must be one of {valid}, not {value[:40]!r}") from None

    def _slug(self, slug: str) -> str:
        if self.catalogue.get(slug) is None:
            valid = ", ".join(self.catalogue.slugs)
            raise RequestError(404, f"unknown system {slug[:60]!r}; valid systems: {valid}")
        return slug

    def resolve(self, path: str, args: Mapping[str, str]) -> DocSpec:
        """Map a URL path and query to a document, or raise RequestError (404/400)."""
        default = Lang.EN
        parts = path.strip("/").split("/")
        if parts and parts[0] == "da":
            default, parts = Lang.DA, parts[1:]
        lang = self._lang(args, default)
        rest = "/".join(parts)
        if rest in {"", "index.html"}:
            return DocSpec("index", lang)
        if rest == "feeds.opml":
            return DocSpec("opml", Lang.EN, "opml")
        if rest == "api/incidents.json":
            slug = self._slug(args["system"]) if args.get("system") else ""
            return DocSpec(
                "api",
                lang,
                "api",
                slug=slug,
                status=self._status(args.get("status")),
                limit=self._limit(args) if args.get("limit") else self.settings.feed_limit_default,
            )
        if len(parts) == 2 and parts[0] == "embed":
            return DocSpec("embed", lang, "html", slug=self._slug(parts[1].removesuffix(".html")))
        if len(parts) == 2 and parts[0] == "badge" and parts[1].endswith(".svg"):
            return DocSpec("badge", lang, "svg", slug=self._slug(parts[1].removesuffix(".svg")))
        if parts and parts[0] == "feeds" and len(parts) in {2, 3}:
            name, dot, fmt = parts[-1].rpartition(".")
            if not dot or fmt not in FORMATS:
                raise RequestError(404, "feeds end in .atom, .rss or .json")
            limit = self._limit(args)
            if len(parts) == 2 and name == "all":
                return DocSpec(
                    "feed",
                    lang,
                    fmt,
                    "feeds/all",
                    status=self._status(args.get("status")),
                    limit=limit,
                )
            if len(parts) == 3 and parts[1] == "system":
                slug = self._slug(name)
                return DocSpec(
                    "feed",
                    lang,
                    fmt,
                    f"feeds/system/{slug}",
                    slug=slug,
                    status=self._status(args.get("status")),
                    limit=limit,
                )
            if len(parts) == 3 and parts[1] == "status":
                if name not in {s.value for s in Status}:
                    raise RequestError(
                        404, f"unknown status {name[:40]!r}; valid: current, scheduled, closed"
                    )
                if args.get("status"):
                    raise RequestError(400, "status is already part of this feed's path")
                return DocSpec("feed", lang, fmt, f"feeds/status/{name}", status=None, limit=limit)
        raise RequestError(404, f"no document at /{path.strip('/')[:200]}")

    def canonical_specs(self) -> list[DocSpec]:
        """Every document with default parameters (stored and exported)."""
        specs: list[DocSpec] = [DocSpec("opml", Lang.EN, "opml")]
        for lang in Lang:
            specs += [DocSpec("index", lang), DocSpec("api", lang, "api")]
            feeds = ["feeds/all"] + [f"feeds/status/{s.value}" for s in Status]
            feeds += [f"feeds/system/{s}" for s in self.catalogue.slugs]
            for feed in feeds:
                slug = (
                    feed.removeprefix("feeds/system/") if feed.startswith("feeds/system/") else ""
                )
                specs += [DocSpec("feed", lang, fmt, feed, slug=slug) for fmt in FORMATS]
            for slug in self.catalogue.slugs:
                specs += [
                    DocSpec("embed", lang, "html", slug=slug),
                    DocSpec("badge", lang, "svg", slug=slug),
                ]
        return specs

    # rendering -----------------------------------------------------------------------------

    def select(self, incidents: Sequence[Incident], spec: DocSpec) -> list[Incident]:
        """The incidents of a feed or API query, newest change first, limited."""
        chosen = list(incidents)
        if spec.feed.startswith("feeds/status/"):
            chosen = [i for i in chosen if i.status.value == spec.feed.rsplit("/", 1)[1]]
        if spec.slug:
            chosen = [i for i in chosen if spec.slug in i.systems]
        if spec.status is not None:
            chosen = [i for i in chosen if i.status is spec.status]
        return chosen[: spec.limit]

    def render(
        self,
        spec: DocSpec,
        incidents: Sequence[Incident],
        ctx: PageContext,
        notice: Incident | None = None,
        entries_cache: dict[tuple[str, Lang], Entry] | None = None,
    ) -> Document:
        """Render one document. ``incidents`` must be sorted newest change first."""
        latest = max((i.updated_at for i in incidents), default=_EPOCH)
        if spec.kind == "feed":
            chosen = self.select(incidents, spec)
            cache = {} if entries_cache is None else entries_cache  # one incident, many feeds
            entries = []
            for incident in chosen:
                key = (incident.key, spec.lang)
                if key not in cache:
                    cache[key] = render_entry(incident, self.catalogue, spec.lang)
                entries.append(cache[key])
            carries_notice = spec.feed in {"feeds/all", "feeds/status/current"} and spec.status in {
                None,
                Status.CURRENT,
            }
            if notice is not None and carries_notice:
                entries.insert(0, render_entry(notice, self.catalogue, spec.lang))
            updated = max((e.incident.updated_at for e in entries), default=latest)
            title = feed_title(self.catalogue, spec.feed, spec.lang)
            if spec.status is not None:
                title = f"{title} ({word(spec.lang, spec.status.value)})"
            prefix = "/da" if spec.lang is Lang.DA else ""
            query = f"?status={spec.status.value}" if spec.status else ""
            if spec.limit != self.settings.feed_limit_default:
                query += ("&" if query else "?") + f"limit={spec.limit}"
            meta = FeedMeta(
                id=f"tag:toldfeed,2026:{prefix.strip('/') + ':' if prefix else ''}{spec.feed}"
                + (f"?status={spec.status.value}" if spec.status else ""),
                title=title,
                subtitle=word(spec.lang, "feed_subtitle"),
                self_url=f"{self.base}{prefix}/{spec.feed}.{spec.fmt}{query}",
                home_url=f"{self.base}{prefix}/",
                lang=spec.lang,
                updated_at=updated,
            )
            return Document.of(render_feed(spec.fmt, meta, entries), TYPES[spec.fmt], updated)
        refreshed = ctx.refreshed_at or latest
        if spec.kind == "index":
            return Document.of(
                render_index(incidents, self.catalogue, ctx, spec.lang), TYPES["html"], refreshed
            )
        if spec.kind == "embed":
            body = render_embed(incidents, self.catalogue, ctx, spec.slug, spec.lang)
            return Document.of(body, TYPES["html"], refreshed)
        if spec.kind == "badge":
            return Document.of(
                render_badge(incidents, self.catalogue, spec.slug, spec.lang), TYPES["svg"], latest
            )
        if spec.kind == "opml":
            return Document.of(render_opml(self.catalogue, self.base), TYPES["opml"], _EPOCH)
        chosen = self.select(incidents, spec)
        return Document.of(render_api(chosen, ctx.refreshed_at), TYPES["api"], latest)
