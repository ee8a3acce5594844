"""The one URL map: matches requests and builds every URL (links, self URLs, OPML, export paths).

Both from the table of ``app.site.rules``: building reads it directly, matching uses Werkzeug's
``routing.Map`` (Flask's own ``url_for`` is built on it), compiled by ``app.site.matcher`` at
the first match. Each document kind of ``app.site.documents`` has its rules in
``app.site.rules``, once in English and once under ``/da/``. Query parameters
(``lang``, ``limit``, ``status``, ``system``, ``page``) are checked by ``resolve``; both use the
checks of ``app.site.values``. Whether an incident or a history page
exists depends on the store, not on the map: ``resolve`` asks a ``Holdings`` (the web worker's
library) when one is given, so one map serves a whole process.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from app.catalogue import Catalogue, System
from app.config import Settings
from app.errors import RequestError
from app.model import Lang
from app.site.documents import (
    Doc,
    Feed,
    IncidentPage,
    IncidentsApi,
    Scope,
    SystemPage,
)
from app.site.rules import BY_ENDPOINT, build_path
from app.site.values import (
    Holdings,
    check_incident,
    check_system,
    parse_history_page,
    parse_lang,
    parse_limit,
    parse_status,
)

if TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

_ADAPTERS: dict[tuple[System, ...], MapAdapter] = {}  # compiled matchers, by catalogue


class Urls:
    """Matches request paths to documents and builds every document's URL."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.base = settings.base_url.rstrip("/")
        self._paths: dict[Doc, str] = {}

    # matching ------------------------------------------------------------------------------

    @cached_property
    def _adapter(self) -> MapAdapter:
        """The Werkzeug matcher, compiled from the rules table on the first request (a process
        that only builds links never pays for it), once per process and catalogue: it depends
        on nothing else, and compiling costs some 25 ms."""
        from app.site.matcher import compile_matcher  # werkzeug: loaded by the first match

        systems = self.catalogue.systems
        if systems not in _ADAPTERS:
            _ADAPTERS[systems] = compile_matcher(self.catalogue)
        return _ADAPTERS[systems]

    def match(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """(endpoint, values) of a document path; None when no document lives there.

        Raises RequestError when the path names a document with an invalid value.
        """
        adapter = self._adapter
        from werkzeug.exceptions import NotFound
        from werkzeug.routing import RequestRedirect

        try:
            endpoint, values = adapter.match(path, method="GET")
        except (NotFound, RequestRedirect):
            return None
        return str(endpoint), dict(values)

    def resolve(
        self, path: str, args: Mapping[str, str], holdings: Holdings | None = None
    ) -> Doc | None:
        """The document at ``path`` with query ``args``; None when no document lives there.

        With ``holdings``, an incident page or history page must exist there too. Raises
        RequestError (404 for unknown names in the path, 400 for bad query values).
        """
        found = self.match(path)
        if found is None:
            return None
        endpoint, values = found
        rule = BY_ENDPOINT[endpoint]
        lang = parse_lang(args, Lang(values["lang"])) if rule.localized else Lang.EN
        doc = rule.make(lang, values)
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
            return parse_history_page(doc, args.get("page"), holdings)
        if isinstance(doc, IncidentPage) and holdings is not None:
            check_incident(doc.key, holdings)
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
            built = build_path(doc)
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
