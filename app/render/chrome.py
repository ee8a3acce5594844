"""What every status page shares: the frame, the chips, an incident as a line of a list. Pure.

The status pages (``app.render.index``, ``app.render.system``, ``app.render.incident``) are
rendered through Jinja2 templates with autoescaping (``app/templates``). No page carries
JavaScript; every state is shown as a word and a symbol beside its colour. A system page and an
incident page show no "refreshed at" time, so that their bytes change only when what they show
changes (the index carries it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from markupsafe import Markup, escape

from app.catalogue import Catalogue, System
from app.model import Incident, Kind, Lang, Status
from app.render.entry import system_names
from app.render.i18n import local_time, status_word, word
from app.render.pages import CSS, shown_state, state_words
from app.render.words import WORDS
from app.site.documents import (
    Doc,
    Format,
    IncidentPage,
    IncidentsApi,
    IndexPage,
    Opml,
    StatsApi,
    SystemsApi,
)
from app.site.system_state import SystemState
from app.site.urls import Urls
from app.store.rendered import PageContext

ICONS = {"disrupted": "✕", "maintenance": "◆", "operational": "✓", "closed": "✓", "unknown": "?"}
FEED_TYPES = {
    Format.ATOM: "application/atom+xml",
    Format.RSS: "application/rss+xml",
    Format.JSON: "application/feed+json",
}
FEED_LABELS = {Format.ATOM: "Atom", Format.RSS: "RSS", Format.JSON: "JSON Feed"}
Html: TypeAlias = Markup  # HTML that autoescaping leaves as it is


def trusted_html(html: str) -> Html:
    """Mark HTML as safe to insert: sanitised when read, or rendered by our own templates."""
    return Markup(html)


def chip(cls: str, text: str) -> dict[str, str]:
    """A state shown as a class, a symbol and a word (never colour alone)."""
    return {"cls": cls, "icon": ICONS[cls], "word": text}


def state_chip(
    state: SystemState, lang: Lang, now: datetime | None, blind: bool = False
) -> dict[str, str]:
    """The chip of a system's state now; while toldfeed cannot read the agency (``blind``)
    "Unknown" (never green on old news; ``blind_details`` says the last known state)."""
    if blind:
        return chip("unknown", WORDS[lang]["state_unknown"])
    return chip(shown_state(state).value, state_words(state, lang, now))


def blind_details(state: SystemState, lang: Lang, now: datetime | None) -> list[str]:
    """What a system's line says under "Unknown": the last known state, in words (nothing is
    known before the first read)."""
    if now is None:
        return [WORDS[lang]["never_read"]]
    return [word(lang, "last_known", last=state_words(state, lang, now))]


def status_chip(incident: Incident, lang: Lang) -> dict[str, str]:
    """The chip of an incident's status (open disruption, open window, closed)."""
    if incident.status is Status.CLOSED:
        cls = "closed"
    elif incident.kind is Kind.DISRUPTION:
        cls = "disrupted"
    else:
        cls = "maintenance"
    return chip(cls, status_word(lang, incident.status))


def ordered_systems(catalogue: Catalogue) -> list[System]:
    """The catalogue's systems as pages list them: current ones first, legacy ones last."""
    return [s for s in catalogue.systems if not s.legacy] + [
        s for s in catalogue.systems if s.legacy
    ]


def page_chrome(
    urls: Urls, ctx: PageContext, lang: Lang, other: Doc, title: str, blind: bool
) -> dict[str, Any]:
    """What every page's frame shows: language, navigation, footer links."""
    return {
        "lang": lang.value,
        "w": WORDS[lang],
        "css": CSS,
        "title": title,
        "base": ctx.base_url,
        "home_url": urls.url(IndexPage(lang)),
        "other_lang": other.lang.value,
        "other_lang_url": urls.url(other),
        "opml_url": urls.url(Opml(lang)),
        "api_url": urls.url(IncidentsApi(lang)),
        "systems_url": urls.url(SystemsApi()),
        "stats_url": urls.url(StatsApi(lang)),
        "blind": ctx.blind_notice.get(lang, "") if blind else "",
    }


def other_language(lang: Lang) -> Lang:
    """The language a page's language switch leads to."""
    return Lang.EN if lang is Lang.DA else Lang.DA


def incident_item(
    incident: Incident, catalogue: Catalogue, lang: Lang, urls: Urls, with_systems: bool = True
) -> Markup:
    """One incident as a line of a list (``<li>``): status, title, systems, when.

    Written here rather than as a template macro: a system with 10,000 incidents has 200
    history pages of 50 lines, all rendered again when a new incident shifts them.
    """
    if incident.status is Status.CLOSED:
        closed = incident.closed_at or incident.updated_at
        when = f"{word(lang, 'closed_at')} {local_time(closed, lang)}"
    else:
        when = f"{word(lang, 'published')} {local_time(incident.published_at, lang)}"
    badge = status_chip(incident, lang)
    systems = ", ".join(system_names(incident, catalogue, lang)) if with_systems else ""
    ref = incident.ref or ""
    return Markup(
        f'<li><span class="chip s-{escape(badge["cls"])}"><span aria-hidden="true">'
        f"{escape(badge['icon'])}</span> {escape(badge['word'])}</span> "
        f'<a href="{escape(urls.url(IncidentPage(lang, incident.key)))}">'
        f"{escape(incident.title_in(lang))}</a>\n"
        f'<div class="meta">{escape(systems)}{" · " if systems else ""}{escape(when)}'
        f"{' · ' + escape(ref) if ref else ''}</div></li>"
    )
