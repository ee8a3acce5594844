"""The URL rules as data: one table, keyed by document class, read both ways. Pure (no
Werkzeug).

Each ``Rule`` says which document class it serves, its paths (under a language prefix, the
first one is the canonical one that links use), how path values make a document and how a
document gives its path values back. ``app.site.urls`` matches requests with a Werkzeug map
built from this table and builds paths from it directly, so a process that only builds links
(a cron poll) never compiles a matcher. A new document kind is one row here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from app.model import Lang, public_key
from app.site.documents import (
    Badge,
    Calendar,
    Doc,
    Embed,
    Feed,
    Format,
    IncidentPage,
    IncidentsApi,
    IndexPage,
    Opml,
    Scope,
    StatsApi,
    StatuspageApi,
    StatuspagePart,
    SystemPage,
    SystemsApi,
)

PREFIX = {Lang.EN: "", Lang.DA: "/da"}
_PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _nothing(doc: Any) -> dict[str, Any]:
    return {}


def _always(doc: Any) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """The paths of one document class (or of the documents of it that ``serves``)."""

    endpoint: str
    cls: type[Any]
    paths: tuple[str, ...]  # the first is canonical: links are built with it
    make: Callable[[Lang, Mapping[str, Any]], Doc]  # path values → document
    values: Callable[[Any], dict[str, Any]] = _nothing  # document → path values
    serves: Callable[[Any], bool] = _always  # which documents of ``cls`` this rule names
    localized: bool = True  # under /da/ too (else one path for every language)

    def path(self, doc: Doc) -> str:
        """The canonical path of ``doc`` (without its query)."""
        values = self.values(doc)
        built = "".join(
            text if name is None else to_url(converter, values[name])
            for text, converter, name in _pieces(self.paths[0])
        )
        return (PREFIX[doc.lang] if self.localized else "") + built


@functools.cache
def _pieces(path: str) -> tuple[tuple[str, str, str | None], ...]:
    """``path`` as (text, "", None) and (placeholder, converter, value name) pieces: read once
    per process, not at every path built (a publish builds a few hundred)."""
    pieces: list[tuple[str, str, str | None]] = []
    at = 0
    for match in _PLACEHOLDER.finditer(path):
        pieces.append((path[at : match.start()], "", None))
        pieces.append((match.group(0), match.group(1) or "default", match.group(2)))
        at = match.end()
    pieces.append((path[at:], "", None))
    return tuple(pieces)


def to_url(converter: str, value: Any) -> str:
    """A path value as it appears in a URL (an incident's ``oid:<n>`` is ``oid-<n>``: a colon
    in a path is awkward for static files)."""
    text = str(value)
    if converter == "incident":
        text = public_key(text)
    return quote(text, safe="")


def _statuspage_rule(part: StatuspagePart) -> Rule:
    """The rule of one part of the Statuspage-compatible API (``statuspage_summary`` ...)."""
    return Rule(
        f"statuspage_{part.name.lower()}",
        StatuspageApi,
        (f"/api/v2/{part.value}.json",),
        lambda lang, v: StatuspageApi(lang, part),
        serves=lambda d: d.part is part,
    )


RULES: tuple[Rule, ...] = (
    Rule("index", IndexPage, ("/", "/index.html"), lambda lang, v: IndexPage(lang)),
    Rule(
        "feed_all",
        Feed,
        ("/feeds/all.<fmt:fmt>",),
        lambda lang, v: Feed(lang, Format(v["fmt"])),
        lambda d: {"fmt": d.fmt.value},
        lambda d: d.scope is Scope.ALL,
    ),
    Rule(
        "feed_system",
        Feed,
        ("/feeds/system/<system:system>.<fmt:fmt>",),
        lambda lang, v: Feed(lang, Format(v["fmt"]), Scope.SYSTEM, v["system"]),
        lambda d: {"fmt": d.fmt.value, "system": d.value},
        lambda d: d.scope is Scope.SYSTEM,
    ),
    Rule(
        "feed_status",
        Feed,
        ("/feeds/status/<status:status>.<fmt:fmt>",),
        lambda lang, v: Feed(lang, Format(v["fmt"]), Scope.STATUS, v["status"]),
        lambda d: {"fmt": d.fmt.value, "status": d.value},
        lambda d: d.scope is Scope.STATUS,
    ),
    Rule(
        "embed",
        Embed,
        ("/embed/<system:system>", "/embed/<system:system>.html"),
        lambda lang, v: Embed(lang, v["system"]),
        lambda d: {"system": d.system},
    ),
    Rule(
        "badge",
        Badge,
        ("/badge/<system:system>.svg",),
        lambda lang, v: Badge(lang, v["system"]),
        lambda d: {"system": d.system},
    ),
    Rule("api", IncidentsApi, ("/api/incidents.json",), lambda lang, v: IncidentsApi(lang)),
    Rule(
        "system",
        SystemPage,
        ("/systems/<system:system>", "/systems/<system:system>.html"),
        lambda lang, v: SystemPage(lang, v["system"]),
        lambda d: {"system": d.system},
        lambda d: d.page <= 1,
    ),
    Rule(
        "system_page",
        SystemPage,
        (
            "/systems/<system:system>/page/<page:page>",
            "/systems/<system:system>/page/<page:page>.html",
        ),
        lambda lang, v: SystemPage(lang, v["system"], v["page"]),
        lambda d: {"system": d.system, "page": d.page},
        lambda d: d.page > 1,
    ),
    Rule(
        "incident",
        IncidentPage,
        ("/incidents/<incident:key>", "/incidents/<incident:key>.html"),
        lambda lang, v: IncidentPage(lang, v["key"]),
        lambda d: {"key": d.key},
    ),
    Rule(
        "calendar_all",
        Calendar,
        ("/calendar/all.ics",),
        lambda lang, v: Calendar(lang),
        serves=lambda d: not d.system,
    ),
    Rule(
        "calendar_system",
        Calendar,
        ("/calendar/system/<system:system>.ics",),
        lambda lang, v: Calendar(lang, v["system"]),
        lambda d: {"system": d.system},
        lambda d: bool(d.system),
    ),
    Rule(
        "opml", Opml, ("/feeds.opml",), lambda lang, v: Opml(lang), serves=lambda d: not d.systems
    ),
    Rule(
        "opml_systems",
        Opml,
        ("/feeds/systems.opml",),
        lambda lang, v: Opml(lang, systems=True),
        serves=lambda d: d.systems,
    ),
    # the system names in the document's language (/da/api/stats.json: Danish)
    Rule("stats", StatsApi, ("/api/stats.json",), lambda lang, v: StatsApi(lang)),
    # one document for every language: no /da/ form
    Rule(
        "systems", SystemsApi, ("/api/systems.json",), lambda lang, v: SystemsApi(), localized=False
    ),
    *(_statuspage_rule(part) for part in StatuspagePart),
)
BY_ENDPOINT: dict[str, Rule] = {rule.endpoint: rule for rule in RULES}
BY_CLASS: dict[type[Any], tuple[Rule, ...]] = {
    cls: tuple(r for r in RULES if r.cls is cls) for cls in {r.cls for r in RULES}
}


def rule_of(doc: Doc) -> Rule:
    """The rule that names ``doc``."""
    return next(rule for rule in BY_CLASS[type(doc)] if rule.serves(doc))


def query_of(doc: Doc) -> dict[str, Any]:
    """The non-default query parameters of ``doc``."""
    query: dict[str, Any] = {}
    if isinstance(doc, IncidentsApi) and doc.system:
        query["system"] = doc.system
    if isinstance(doc, Feed | IncidentsApi):
        if doc.status is not None:
            query["status"] = doc.status.value
        if doc.limit is not None:
            query["limit"] = doc.limit
    return query


def build_path(doc: Doc) -> str:
    """The URL path of ``doc`` with its query (``/da/feeds/all.atom?limit=10``)."""
    query = query_of(doc)
    path = rule_of(doc).path(doc)
    return f"{path}?{urlencode(query)}" if query else path
