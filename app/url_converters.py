"""The path converters of the URL map (``app.urls``): catalogue slugs, statuses, formats,
incident keys and history page numbers, each checked by ``app.url_values`` so that a wrong
value gets a 404 or 400 that says what is valid.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, Map

from app.catalogue import Catalogue
from app.url_values import (
    Holdings,
    check_format,
    check_incident,
    check_page,
    check_status,
    check_system,
)


class CatalogueMap(Map):
    """A Map that knows the catalogue and the holdings, for the converters."""

    catalogue: Catalogue
    holdings: Holdings | None


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
        """Check the form (and, with holdings, that the incident exists)."""
        return check_incident(value, self.map.holdings)  # type: ignore[attr-defined]

    def to_url(self, value: str) -> str:
        """``oid:<n>`` as ``oid-<n>`` (a colon in a path is awkward for static files)."""
        return value.replace(":", "-", 1)


class PageConverter(BaseConverter):
    """A history page number from 2 on (page 1 is the system page itself)."""

    regex = r"[^/.]+"

    def to_python(self, value: str) -> int:
        """Check the number."""
        return check_page(value)

    def to_url(self, value: Any) -> str:
        """The number as digits."""
        return str(value)


CONVERTERS: dict[str, type[BaseConverter]] = {
    "system": SystemConverter,
    "status": StatusConverter,
    "fmt": FormatConverter,
    "incident": IncidentConverter,
    "page": PageConverter,
}
