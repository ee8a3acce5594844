"""The index's parts that depend on the URL map and catalogue only, rendered once per language:
every way to subscribe (feeds, calendars, embeds, badges, OPML, the address patterns) and the
autodiscovery links of the page's head."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from app.catalogue import Catalogue
from app.model import Lang, Status
from app.render.chrome import (
    FEED_LABELS,
    FEED_TYPES,
    Html,
    ordered_systems,
    trusted_html,
)
from app.render.i18n import status_word, word
from app.render.pages import feed_title, template
from app.render.words import WORDS
from app.site.documents import (
    Badge,
    Calendar,
    Doc,
    Embed,
    Feed,
    Format,
    Opml,
    Scope,
    SystemPage,
)
from app.site.forms import SUBSCRIBE, form_url
from app.site.urls import Urls


def _subscriptions(catalogue: Catalogue, lang: Lang, urls: Urls) -> list[dict[str, Any]]:
    w = WORDS[lang]

    def feeds(scope: Scope, value: str) -> list[dict[str, str]]:
        return [
            {"url": urls.url(Feed(lang, fmt, scope, value)), "label": FEED_LABELS[fmt], "type": t}
            for fmt, t in FEED_TYPES.items()
        ]

    rows: list[dict[str, Any]] = [
        {
            "title": w["all_feeds"],
            "page": "",
            "links": [
                *feeds(Scope.ALL, ""),
                {"url": urls.url(Calendar(lang)), "label": w["calendar"], "type": ""},
            ],
        }
    ]
    for status in Status:
        rows.append(
            {
                "title": status_word(lang, status),
                "page": "",
                "links": feeds(Scope.STATUS, status.value),
            }
        )
    for system in ordered_systems(catalogue):
        rows.append(
            {
                "title": system.name_in(lang),
                "page": urls.url(SystemPage(lang, system.slug)),
                "links": [
                    *feeds(Scope.SYSTEM, system.slug),
                    {
                        "url": urls.url(Calendar(lang, system.slug)),
                        "label": w["calendar"],
                        "type": "",
                    },
                    {"url": urls.url(Embed(lang, system.slug)), "label": w["embed"], "type": ""},
                    {
                        "url": urls.url(Badge(lang, system.slug)),
                        "label": w["badge"],
                        "type": "image/svg+xml",
                    },
                ],
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class IndexParts:
    """The parts of the index that depend only on the URL map and the catalogue (one language):
    the autodiscovery links and the subscribing section, rendered once and reused."""

    autodiscovery: Html
    subscribe: Html


def _patterns(catalogue: Catalogue, lang: Lang, urls: Urls, most: str) -> list[str]:
    """How the addresses are built, from the URL map itself: each pattern is a real URL with
    a catalogue slug and a format put back as placeholders."""
    slug = ordered_systems(catalogue)[0].slug
    formats = "{" + "|".join(f.value for f in Format) + "}"
    statuses = "{" + "|".join(s.value for s in Status) + "}"

    def pattern(doc: Doc, query: str = "") -> str:
        url = urls.url(doc).replace(f"/{slug}.", "/{system}.")
        url = re.sub(rf"/{re.escape(slug)}$", "/{system}", url)
        url = url.replace(f"/{Status.CURRENT.value}.", f"/{statuses}.")
        return re.sub(rf"\.{Format.ATOM.value}$", "." + formats, url) + query

    return [
        pattern(Feed(lang, Format.ATOM)),
        pattern(
            Feed(lang, Format.ATOM, Scope.SYSTEM, slug), f"?status={statuses}&limit={{1-{most}}}"
        ),
        pattern(Feed(lang, Format.ATOM, Scope.STATUS, Status.CURRENT.value)),
        pattern(Calendar(lang, slug)),
        pattern(Embed(lang, slug)),
        pattern(Badge(lang, slug)),
        pattern(SystemPage(lang, slug)),
    ]


def index_parts(catalogue: Catalogue, lang: Lang, urls: Urls) -> IndexParts:
    """Render the index's static parts for ``lang``."""
    feeds = []
    scopes = [(Scope.ALL, ""), *((Scope.STATUS, s.value) for s in Status)]
    scopes += [(Scope.SYSTEM, s.slug) for s in ordered_systems(catalogue)]
    for scope, value in scopes:
        title = feed_title(catalogue, scope, value, lang)
        for fmt, kind in FEED_TYPES.items():
            feeds.append(
                {"url": urls.url(Feed(lang, fmt, scope, value)), "type": kind, "title": title}
            )
    most = str(urls.settings.feed_limit_max)
    patterns = _patterns(catalogue, lang, urls, most)
    module = template("subscribe.html").module
    subscribe = module.subscribe(  # type: ignore[attr-defined]
        WORDS[lang],
        word(lang, "subscribe_intro", most=most),
        _subscriptions(catalogue, lang, urls),
        urls.url(Opml(lang)),
        urls.url(Opml(lang, systems=True)),
        patterns,
        list(catalogue.slugs),
        # self-service e-mail subscriptions: the form of the running service
        form_url(urls.settings.base_url, SUBSCRIBE, lang=lang)
        if urls.settings.subscriptions_on
        else "",
    )
    return IndexParts(
        trusted_html(module.autodiscovery(feeds)),  # type: ignore[attr-defined]
        trusted_html(subscribe),
    )


class PartsAtHand:
    """The index's parts of each language: made once per process, or adopted as an earlier
    process with the same render key kept them (``app.publish.reuse``); those made here are
    handed to the publisher to keep. Thread-safe: a web worker's threads render too."""

    def __init__(self, catalogue: Catalogue, urls: Urls) -> None:
        self.catalogue = catalogue
        self.urls = urls
        self._parts: dict[Lang, IndexParts] = {}
        self._made: dict[Lang, IndexParts] = {}
        self._lock = threading.Lock()

    def get(self, lang: Lang) -> IndexParts:
        """The parts in ``lang`` (made now if not at hand: some 4 ms)."""
        parts = self._parts.get(lang)
        if parts is None:
            parts = index_parts(self.catalogue, lang, self.urls)
            with self._lock:
                self._parts[lang] = self._made[lang] = parts
        return parts

    def has(self, lang: Lang) -> bool:
        """True when the parts in ``lang`` are at hand (made or adopted)."""
        return lang in self._parts

    def adopt(self, lang: Lang, parts: IndexParts) -> None:
        """Use ``parts`` for ``lang`` (kept under this process's render key)."""
        with self._lock:
            self._parts.setdefault(lang, parts)

    def take_made(self) -> dict[Lang, IndexParts]:
        """The parts made since the last call."""
        with self._lock:
            made, self._made = self._made, {}
        return made
