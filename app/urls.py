"""The one URL map: matches requests and builds every URL (links, self URLs, OPML, export paths).

Built on Werkzeug's ``routing.Map`` (Flask's own ``url_for`` is built on it). Each document
kind of ``app.documents`` has its rules here, once in English and once under ``/da/``; the
converters (``app.url_converters``) check catalogue slugs, statuses and formats and say what is
valid when a value is not. Query parameters (``lang``, ``limit``, ``status``, ``system``, ``page``) are checked by
``resolve``; both use the checks of ``app.url_values``. Whether an incident or a history page
exists depends on the store, not on the map: a ``Holdings`` (the web worker's library) answers
that when one is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import MapAdapter, RequestRedirect, Rule

from app.catalogue import Catalogue
from app.config import Settings
from app.documents import (
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
from app.errors import RequestError
from app.model import Lang
from app.url_converters import CONVERTERS, CatalogueMap
from app.url_values import (
    Holdings,
    check_system,
    parse_history_page,
    parse_lang,
    parse_limit,
    parse_status,
)

# endpoint -> (rule paths under a language prefix, the document built from the path values)
_RULES: dict[str, tuple[tuple[str, ...], Callable[[Lang, dict[str, Any]], Doc]]] = {
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
_PREFIX = {Lang.EN: "", Lang.DA: "/da"}


def _endpoint(doc: Doc) -> tuple[str, dict[str, Any]]:
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


def _query(doc: Doc) -> dict[str, Any]:
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


class Urls:
    """Matches request paths to documents and builds every document's URL."""

    def __init__(
        self, settings: Settings, catalogue: Catalogue, holdings: Holdings | None = None
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.holdings = holdings
        self.base = settings.base_url.rstrip("/")
        rules = [
            Rule("/api/systems.json", endpoint="systems"),
            Rule("/api/stats.json", endpoint="stats"),
        ]
        for lang, prefix in _PREFIX.items():
            for endpoint, (paths, _) in _RULES.items():
                rules += [
                    Rule(prefix + p, endpoint=endpoint, defaults={"lang": lang.value})
                    for p in paths
                ]
        url_map = CatalogueMap(
            rules,
            converters=CONVERTERS,
            strict_slashes=False,  # /da and /da/ alike
            redirect_defaults=False,  # /embed/x.html is the same document as /embed/x, not a redirect
            merge_slashes=False,
        )
        url_map.catalogue = catalogue
        url_map.holdings = holdings
        self._adapter: MapAdapter = url_map.bind("toldfeed.invalid")
        self._paths: dict[Doc, str] = {}

    # matching ------------------------------------------------------------------------------

    def match(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """(endpoint, values) of a document path; None when no document lives there.

        Raises RequestError when the path names a document with an invalid value.
        """
        try:
            endpoint, values = self._adapter.match(path, method="GET")
        except (NotFound, RequestRedirect):
            return None
        return str(endpoint), dict(values)

    def resolve(self, path: str, args: Mapping[str, str]) -> Doc | None:
        """The document at ``path`` with query ``args``; None when no document lives there.

        Raises RequestError (404 for unknown names in the path, 400 for bad query values).
        """
        found = self.match(path)
        if found is None:
            return None
        endpoint, values = found
        if endpoint == "systems":
            return SystemsApi()
        if endpoint == "stats":
            return StatsApi()
        lang = parse_lang(args, Lang(values["lang"]))
        doc = _RULES[endpoint][1](lang, values)
        if isinstance(doc, Feed):
            if doc.scope is Scope.STATUS and args.get("status"):
                raise RequestError(400, "status is already part of this feed's path")
            return Feed(
                doc.lang,
                doc.fmt,
                doc.scope,
                doc.value,
                parse_status(args.get("status")),
                self._limit(args.get("limit")),
            )
        if isinstance(doc, SystemPage):
            return parse_history_page(doc, args.get("page"), self.holdings)
        if isinstance(doc, IncidentsApi):
            system = args.get("system")
            return IncidentsApi(
                lang,
                check_system(self.catalogue, system) if system else "",
                parse_status(args.get("status")),
                self._limit(args.get("limit")),
            )
        return doc

    def _limit(self, value: str | None) -> int | None:
        return parse_limit(value, self.settings.feed_limit_max, self.settings.feed_limit_default)

    # building ------------------------------------------------------------------------------

    def path(self, doc: Doc) -> str:
        """The URL path of ``doc`` with its query (``/da/feeds/all.atom?limit=10``)."""
        built = self._paths.get(doc)
        if built is None:
            endpoint, values = _endpoint(doc)
            built = self._adapter.build(endpoint, {**values, **_query(doc)})
            if len(self._paths) >= 8192:
                # a full publish builds a path per incident page once: start afresh rather
                # than stop caching, so the few hundred paths every poll needs stay cached
                self._paths.clear()
            self._paths[doc] = built
        return built

    def url(self, doc: Doc) -> str:
        """The absolute URL of ``doc`` under the configured base URL."""
        return self.base + self.path(doc)

    def export_path(self, doc: Doc) -> str:
        """Where a canonical document lives in a static export or a bucket.

        The URL path without its leading slash; a directory gets ``index.html`` and a name
        without an extension gets ``.html`` (``/embed/ics2`` is ``embed/ics2.html``), which
        static servers find with ``try_files $uri $uri.html $uri/index.html``.
        """
        path = self.path(doc).lstrip("/")
        if path == "" or path.endswith("/"):
            return path + "index.html"
        if "." not in path.rsplit("/", 1)[-1]:
            return path + ".html"
        return path
