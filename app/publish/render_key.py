"""The render key: everything stored documents depend on besides the store's content.

It holds the digest of the code that renders them, found by construction
(``app.store.provenance``: the ``render``, ``site`` and ``publish`` packages and every module
they import, and the templates). After an upgrade or a configuration change that moves it,
everything is rendered again, once, under the poll lock.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zoneinfo
from functools import cache
from pathlib import Path

from app.catalogue import Catalogue
from app.config import VERSION, Settings
from app.store.provenance import Sources, closure_digest, import_closure

RENDER_SCHEMA = 3  # bump when stored documents must be rebuilt for a reason the digest misses
# the libraries that write documents' bytes, and the time zone their local times are in
_WRITERS = ("feedgen", "lxml", "jinja2", "markupsafe", "icalendar", "orjson")
_ZONE = "Europe/Copenhagen"
_RENDERING_PACKAGES = ("render", "site", "publish")
_RENDERING_DATA = ("templates",)


def shaping_sources(root: Path | None = None) -> Sources:
    """The code and templates that shape documents, by path inside the package (``root``)."""
    return import_closure(_RENDERING_PACKAGES, _RENDERING_DATA, root)


@cache
def code_digest() -> str:
    """A digest of the code and templates that shape documents (changes with any upgrade)."""
    return closure_digest(_RENDERING_PACKAGES, _RENDERING_DATA)


@cache
def installed() -> str:
    """``libraries_installed`` for the libraries and zone toldfeed uses (once per process)."""
    return libraries_installed(_WRITERS, _ZONE)


def libraries_installed(names: tuple[str, ...], zone_name: str) -> str:
    """When the libraries that write documents' bytes, and the time zone data, were last
    installed (the modification times of the folders that hold them, found without importing
    them): an upgrade of either alone renders every document again, once, as an upgrade of
    toldfeed does (kept feed entries and unchanged documents would otherwise mix their old
    bytes with the new ones)."""
    stamps = set()
    for name in names:
        spec = importlib.util.find_spec(name)
        places = spec.submodule_search_locations if spec is not None else None
        for folder in map(os.path.dirname, places or ()):
            stamps.add(f"{folder}:{os.stat(folder).st_mtime_ns}")
    for base in zoneinfo.TZPATH:
        if os.path.exists(zone := os.path.join(base, zone_name)):
            stamps.add(f"{zone}:{os.stat(zone).st_mtime_ns}")
            break
    return ";".join(sorted(stamps))


def render_key(settings: Settings, catalogue: Catalogue, code: str) -> str:
    """Everything stored documents depend on besides the store's content (``code``: the
    rendering code's digest). The poll interval is not in it: only the calendars show it (their
    refresh hint), and the publisher renders those again when it moves."""
    parts = [
        VERSION,
        str(RENDER_SCHEMA),
        code,
        settings.base_url.rstrip("/"),
        repr(catalogue.systems),
        str(settings.feed_limit_default),
        str(settings.feed_limit_max),
        settings.websub_hub,  # feeds name the hub
        settings.subscriptions,  # system pages and the index show the e-mail form
        installed(),
    ]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
