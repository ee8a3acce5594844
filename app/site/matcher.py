"""Werkzeug's matcher for the rules of ``app.site.rules`` (the only importer of werkzeug's
routing): the converters check catalogue slugs, statuses and formats and say what is valid
when a value is not. ``app.site.urls`` imports this module when it first matches a path, so a
process that only builds links (a cron poll) never loads werkzeug.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule

from app.catalogue import Catalogue
from app.model import Lang
from app.site.rules import PREFIX, RULES
from app.site.values import check_format, check_incident, check_page, check_status, check_system


class CatalogueMap(Map):
    """A Map that knows the catalogue, for the converters."""

    catalogue: Catalogue


class SystemConverter(BaseConverter):
    """A catalogue slug; anything else is a 404 that lists the valid ones."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> str:
        """Check the slug against the catalogue."""
        return check_system(self.map.catalogue, value)  # type: ignore[attr-defined]


class StatusConverter(BaseConverter):
    """A status in a path (``/feeds/status/<status>.atom``)."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> str:
        """Check the status word."""
        return check_status(value)


class FormatConverter(BaseConverter):
    """A feed format extension."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> str:
        """Check the extension."""
        return check_format(value)


class IncidentConverter(BaseConverter):
    """An incident key: ``INC…``/``WO…`` as they are, ``oid:<n>`` spelled ``oid-<n>``."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> str:
        """Check the form (whether it is stored is for ``Urls.resolve``)."""
        return check_incident(value, None)


class PageConverter(BaseConverter):
    """A history page number from 2 on (page 1 is the system page itself)."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> int:
        """Check the number."""
        return check_page(value)


CONVERTERS: dict[str, type[BaseConverter]] = {
    "system": SystemConverter,
    "status": StatusConverter,
    "fmt": FormatConverter,
    "incident": IncidentConverter,
    "page": PageConverter,
}


def compile_matcher(catalogue: Catalogue) -> MapAdapter:
    """The matcher of every rule, in English and under ``/da/`` (some 25 ms)."""
    rules = []
    for rule in RULES:
        for lang, prefix in PREFIX.items() if rule.localized else [(Lang.EN, "")]:
            rules += [
                Rule(prefix + p, endpoint=rule.endpoint, defaults={"lang": lang.value})
                for p in rule.paths
            ]
    url_map = CatalogueMap(
        rules,
        converters=CONVERTERS,
        strict_slashes=False,  # /da and /da/ alike
        redirect_defaults=False,  # /embed/x.html is the same document as /embed/x, not a redirect
        merge_slashes=False,
    )
    url_map.catalogue = catalogue
    return url_map.bind("toldfeed.invalid")
