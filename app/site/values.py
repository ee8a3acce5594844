"""The values a URL may carry, checked: path names and query parameters. Pure.

Each check returns the value in its typed form or raises a ``RequestError`` whose message says
what is valid (404 for an unknown name in a path, 400 for a bad query value). The converters of
the URL map (``app.site.urls``) and its ``resolve`` call these; whether an incident or a history
page exists is asked of a ``Holdings`` (the web worker's library) when one is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from app.catalogue import Catalogue
from app.errors import RequestError
from app.model import Lang, Status
from app.site.documents import Format, SystemPage

_STATUSES = ", ".join(s.value for s in Status)
_INCIDENT_KEY = re.compile(r"^(INC\d{12}|WO\d{13}|oid[-:]\d{1,12})$")
_KEY_HINT = (
    "incidents are named by their reference (INC + 12 digits, WO + 13 digits) or oid-<number>; "
    "/api/incidents.json lists them"
)


class Holdings(Protocol):
    """What exists besides the catalogue: incidents and history pages (asked per new URL)."""

    def has_incident(self, key: str) -> bool:
        """True when an incident with ``key`` is stored."""
        ...

    def history_pages(self, slug: str) -> int:
        """How many history pages the system has (1 when it has 50 incidents or fewer)."""
        ...


# names in a path ---------------------------------------------------------------------------


def check_system(catalogue: Catalogue, slug: str) -> str:
    """``slug`` if the catalogue has it, else a 404 RequestError listing the valid ones."""
    if catalogue.get(slug) is None:
        valid = ", ".join(catalogue.slugs)
        raise RequestError(404, f"unknown system {slug[:60]!r}; valid systems: {valid}")
    return slug


def check_status(value: str) -> str:
    """A status word in a path (``/feeds/status/<status>.atom``)."""
    if value not in {s.value for s in Status}:
        raise RequestError(404, f"unknown status {value[:40]!r}; valid: {_STATUSES}")
    return value


def check_format(value: str) -> str:
    """A feed format extension."""
    if value not in {f.value for f in Format}:
        raise RequestError(404, "feeds end in .atom, .rss or .json")
    return value


def check_incident(value: str, holdings: Holdings | None) -> str:
    """The incident key a path names (``oid-<n>``, or the API's ``oid:<n>``, is ``oid:<n>``);
    with holdings, a stored one."""
    if not _INCIDENT_KEY.match(value):
        raise RequestError(404, f"unknown incident {value[:40]!r}; {_KEY_HINT}")
    key = "oid:" + value[4:] if value.startswith("oid") else value
    if holdings is not None and not holdings.has_incident(key):
        shown = value.replace(":", "-", 1)  # the form of page URLs
        raise RequestError(404, f"no incident {shown!r} is stored; {_KEY_HINT}")
    return key


def check_page(value: str) -> int:
    """A history page number in a path, from 2 on (page 1 is the system page itself)."""
    # ASCII digits only: str.isdigit() holds for "²" too, which int() refuses
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or int(value) < 2:
        raise RequestError(
            404,
            f"page must be a whole number from 2 on (page 1 is /systems/<system>), not {value[:20]!r}",
        )
    return int(value)


# query parameters --------------------------------------------------------------------------


def parse_lang(args: Mapping[str, str], default: Lang) -> Lang:
    """``?lang=``, or ``default`` without it."""
    value = args.get("lang")
    if not value:
        return default
    if value not in {"en", "da"}:
        raise RequestError(400, f"lang must be 'en' or 'da', not {value[:40]!r}")
    return Lang(value)


def parse_limit(value: str | None, top: int, default: int) -> int | None:
    """``?limit=`` from 1 to ``top``; None without it or when it is ``default``."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= top:
        raise RequestError(400, f"limit must be a whole number from 1 to {top}, not {value[:40]!r}")
    number = int(value)
    return None if number == default else number


def parse_status(value: str | None) -> Status | None:
    """``?status=``, or None without it."""
    if not value:
        return None
    try:
        return Status(value)
    except ValueError:
        raise RequestError(400, f"status must be one of {_STATUSES}, not {value[:40]!r}") from None


def parse_history_page(doc: SystemPage, value: str | None, holdings: Holdings | None) -> SystemPage:
    """``doc`` at the page of ``?page=`` (an alias of ``/page/N``), checked against holdings."""
    page = doc.page
    if value:
        if doc.page > 1:
            raise RequestError(400, "the page is already part of this page's path")
        if not (value.isascii() and value.isdigit()) or len(value) > 6 or int(value) < 1:
            raise RequestError(400, f"page must be a whole number from 1 on, not {value[:20]!r}")
        page = int(value)
    if page > 1 and holdings is not None:
        pages = holdings.history_pages(doc.system)
        if page > pages:
            raise RequestError(
                404, f"{doc.system} has {pages} page{'s' if pages > 1 else ''} of incidents"
            )
    return SystemPage(doc.lang, doc.system, page)
