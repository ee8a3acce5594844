"""The rules of the URL map as data: each endpoint's paths and the document its path values
build, and the way back from a document to its endpoint, path values and query. Pure (no
Werkzeug); ``app.site.urls`` builds the ``Map`` from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.model import Lang
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
    SystemPage,
    SystemsApi,
)

# endpoint -> (rule paths under a language prefix, the document built from the path values)
RULES: dict[str, tuple[tuple[str, ...], Callable[[Lang, dict[str, Any]], Doc]]] = {
    "index": (("/", "/index.html"), lambda lang, v: IndexPage(lang)),
    "feed_all": (("/feeds/all.<fmt:fmt>",), lambda lang, v: Feed(lang, Format(v["fmt"]))),
    "feed_system": (
        ("/feeds/system/<system:system>.<fmt:fmt>",),
        lambda lang, v: Feed(lang, Format(v["fmt"]), Scope.SYSTEM, v["system"]),
    ),
    "feed_status": (
        ("/feeds/status/<status:status>.<fmt:fmt>",),
        lambda lang, v: Feed(lang, Format(v["fmt"]), Scope.STATUS, v["status"]),
    ),
    "embed": (
        ("/embed/<system:system>", "/embed/<system:system>.html"),
        lambda lang, v: Embed(lang, v["system"]),
    ),
    "badge": (("/badge/<system:system>.svg",), lambda lang, v: Badge(lang, v["system"])),
    "api": (("/api/incidents.json",), lambda lang, v: IncidentsApi(lang)),
    "system": (
        ("/systems/<system:system>", "/systems/<system:system>.html"),
        lambda lang, v: SystemPage(lang, v["system"]),
    ),
    "system_page": (
        (
            "/systems/<system:system>/page/<page:page>",
            "/systems/<system:system>/page/<page:page>.html",
        ),
        lambda lang, v: SystemPage(lang, v["system"], v["page"]),
    ),
    "incident": (
        ("/incidents/<incident:key>", "/incidents/<incident:key>.html"),
        lambda lang, v: IncidentPage(lang, v["key"]),
    ),
    "calendar_all": (("/calendar/all.ics",), lambda lang, v: Calendar(lang)),
    "calendar_system": (
        ("/calendar/system/<system:system>.ics",),
        lambda lang, v: Calendar(lang, v["system"]),
    ),
    "opml": (("/feeds.opml",), lambda lang, v: Opml(lang)),
}
PREFIX = {Lang.EN: "", Lang.DA: "/da"}


def endpoint_of(doc: Doc) -> tuple[str, dict[str, Any]]:
    """The rule endpoint and path values of ``doc`` (query parameters excluded)."""
    values: dict[str, Any] = {"lang": doc.lang.value}
    match doc:
        case Feed():
            values["fmt"] = doc.fmt.value
            if doc.scope is Scope.ALL:
                return "feed_all", values
            values[doc.scope.value] = doc.value
            return f"feed_{doc.scope.value}", values
        case Embed() | Badge():
            return doc.kind, {**values, "system": doc.system}
        case Opml():
            return "opml", values
        case SystemsApi():
            return "systems", {}
        case StatsApi():
            return "stats", {}
        case SystemPage():
            if doc.page > 1:
                return "system_page", {**values, "system": doc.system, "page": doc.page}
            return "system", {**values, "system": doc.system}
        case IncidentPage():
            return "incident", {**values, "key": doc.key}
        case Calendar():
            if doc.system:
                return "calendar_system", {**values, "system": doc.system}
            return "calendar_all", values
        case IndexPage():
            return "index", values
        case IncidentsApi():
            return "api", values


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
