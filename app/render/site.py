"""The status pages as HTML: the index, a system's page, a history page, an incident's page. Pure.

Records in, bytes out, through Jinja2 templates with autoescaping (``app/templates``). No page
carries JavaScript; every state is shown as a word and a symbol beside its colour. A system page
and an incident page show no "refreshed at" time, so that their bytes change only when what
they show changes (the index carries it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from app.catalogue import Catalogue, System
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
from app.model import Incident, Kind, Lang, Status
from app.render.entry import system_names, timeline
from app.render.i18n import (
    WORDS,
    clock_time,
    day_name,
    duration_words,
    hours_number,
    local_time,
    month_name,
    status_word,
    word,
)
from app.render.pages import CSS, ENV, PageContext, feed_title, state_details, state_words
from app.render.status import describe_fallback, describe_window
from app.state import State, SystemState, overall_state, window_in_progress, window_to_come
from app.stats import Figures
from app.urls import Urls

_ICONS = {"disrupted": "✕", "maintenance": "◆", "operational": "✓", "closed": "✓"}
_FEED_TYPES = {
    Format.ATOM: "application/atom+xml",
    Format.RSS: "application/rss+xml",
    Format.JSON: "application/feed+json",
}
_LABELS = {Format.ATOM: "Atom", Format.RSS: "RSS", Format.JSON: "JSON Feed"}
_BAR = 6  # strip: one bar every 6 units, 4 wide
_HEIGHTS = {State.DISRUPTED: 40, State.MAINTENANCE: 26, State.OPERATIONAL: 12}


def _chip(cls: str, text: str) -> dict[str, str]:
    return {"cls": cls, "icon": _ICONS[cls], "word": text}


def _state_chip(state: SystemState, lang: Lang, now: datetime | None) -> dict[str, str]:
    return _chip(state.state.value, state_words(state, lang, now))


def _status_chip(incident: Incident, lang: Lang) -> dict[str, str]:
    if incident.status is Status.CLOSED:
        cls = "closed"
    elif incident.kind is Kind.DISRUPTION:
        cls = "disrupted"
    else:
        cls = "maintenance"
    return _chip(cls, status_word(lang, incident.status))


def _ordered(catalogue: Catalogue) -> list[System]:
    return [s for s in catalogue.systems if not s.legacy] + [
        s for s in catalogue.systems if s.legacy
    ]


def _names(names: Sequence[str], lang: Lang) -> str:
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {word(lang, 'and')} {names[-1]}"


def _chrome(
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
        "stats_url": urls.url(StatsApi()),
        "blind": ctx.blind_notice.get(lang, "") if blind else "",
    }


def _other(lang: Lang) -> Lang:
    return Lang.EN if lang is Lang.DA else Lang.DA


def incident_item(
    incident: Incident, catalogue: Catalogue, lang: Lang, urls: Urls, with_systems: bool = True
) -> dict[str, Any]:
    """One incident as a line of a list: status, title, systems, when."""
    if incident.status is Status.CLOSED:
        closed = incident.closed_at or incident.updated_at
        when = f"{word(lang, 'closed_at')} {local_time(closed, lang)}"
    else:
        when = f"{word(lang, 'published')} {local_time(incident.published_at, lang)}"
    return {
        "chip": _status_chip(incident, lang),
        "url": urls.url(IncidentPage(lang, incident.key)),
        "title": incident.title_in(lang),
        "systems": ", ".join(system_names(incident, catalogue, lang)) if with_systems else "",
        "when": when,
        "ref": incident.ref or "",
    }


# the index ---------------------------------------------------------------------------------


def overall_line(
    states: Mapping[str, SystemState],
    open_incidents: Sequence[Incident],
    catalogue: Catalogue,
    lang: Lang,
    now: datetime | None,
) -> tuple[State, str]:
    """The whole picture in one line: "DMS Transit (NCTS): ongoing disruption since 08:40"."""
    overall = overall_state(states)
    names = []
    for slug in overall.systems:
        system = catalogue.get(slug)
        names.append(system.name_in(lang) if system else slug)
    if overall.state is State.DISRUPTED:
        named = set(overall.systems)
        starts = [
            i.published_at
            for i in open_incidents
            if i.kind is Kind.DISRUPTION and named & set(i.systems)
        ]
        since = clock_time(min(starts), lang, now) if starts else ""
        return overall.state, word(
            lang, "overall_disrupted", names=_names(names, lang), since=since
        )
    if overall.state is State.MAINTENANCE:
        ends = [states[slug].until_at for slug in overall.systems]
        if any(end is None for end in ends):
            return overall.state, word(lang, "overall_maintenance_open", names=_names(names, lang))
        until = clock_time(max(e for e in ends if e is not None), lang, now)
        return overall.state, word(
            lang, "overall_maintenance", names=_names(names, lang), until=until
        )
    return overall.state, word(lang, "overall_ok")


def _disruption(
    incident: Incident, catalogue: Catalogue, lang: Lang, urls: Urls, now: datetime | None
) -> dict[str, Any]:
    lines = timeline(incident, lang)
    newest = lines[0] if lines else None
    newest_at = newest.sort_at if newest is not None else None
    return {
        "url": urls.url(IncidentPage(lang, incident.key)),
        "title": incident.title_in(lang),
        "systems": ", ".join(system_names(incident, catalogue, lang)),
        "since": word(lang, "since", time=clock_time(incident.published_at, lang, now)),
        "ref": incident.ref or "",
        "newest": newest.text if newest is not None else "",
        "newest_at": clock_time(newest_at, lang, now) if newest_at is not None else "",
        "fallback": describe_fallback(incident.fallback, lang) if incident.fallback else "",
    }


def _window_rank(incident: Incident, now: datetime) -> tuple[int, datetime, str]:
    window = incident.window
    if window is None:
        return (3, incident.published_at, incident.key)
    if window_in_progress(incident, now):
        return (0, window.start_at, incident.key)
    if window_to_come(incident, now) or window.cancelled:
        return (1, window.start_at, incident.key)
    return (2, window.start_at, incident.key)


def _window_item(
    incident: Incident, catalogue: Catalogue, lang: Lang, urls: Urls, now: datetime
) -> dict[str, Any]:
    rank = _window_rank(incident, now)[0]
    tag = ("window_running", "window_coming", "window_ended", "window_unknown")[rank]
    window = incident.window
    return {
        "when": describe_window(window, lang) if window else word(lang, "window_unknown"),
        "tag": word(lang, tag),
        "cls": "maintenance" if rank == 0 else "closed",
        "url": urls.url(IncidentPage(lang, incident.key)),
        "title": incident.title_in(lang),
        "systems": ", ".join(system_names(incident, catalogue, lang)),
    }


def _subscriptions(catalogue: Catalogue, lang: Lang, urls: Urls) -> list[dict[str, Any]]:
    w = WORDS[lang]

    def feeds(scope: Scope, value: str) -> list[dict[str, str]]:
        return [
            {"url": urls.url(Feed(lang, fmt, scope, value)), "label": _LABELS[fmt], "type": t}
            for fmt, t in _FEED_TYPES.items()
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
    for system in _ordered(catalogue):
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

    autodiscovery: Markup
    subscribe: Markup


def index_parts(catalogue: Catalogue, lang: Lang, urls: Urls) -> IndexParts:
    """Render the index's static parts for ``lang``."""
    feeds = []
    scopes = [(Scope.ALL, ""), *((Scope.STATUS, s.value) for s in Status)]
    scopes += [(Scope.SYSTEM, s.slug) for s in _ordered(catalogue)]
    for scope, value in scopes:
        title = feed_title(catalogue, scope, value, lang)
        for fmt, kind in _FEED_TYPES.items():
            feeds.append(
                {"url": urls.url(Feed(lang, fmt, scope, value)), "type": kind, "title": title}
            )
    prefix = urls.base + ("/da" if lang is Lang.DA else "")
    patterns = [
        f"{prefix}/feeds/all.{{atom|rss|json}}",
        f"{prefix}/feeds/system/{{system}}.{{atom|rss|json}}"
        "?status={current|scheduled|closed}&limit={1-500}",
        f"{prefix}/feeds/status/{{current|scheduled|closed}}.{{atom|rss|json}}",
        f"{prefix}/calendar/system/{{system}}.ics",
        f"{prefix}/embed/{{system}}",
        f"{prefix}/badge/{{system}}.svg",
        f"{prefix}/systems/{{system}}",
    ]
    module = ENV.get_template("subscribe.html").module
    subscribe = module.subscribe(  # type: ignore[attr-defined]
        WORDS[lang],
        _subscriptions(catalogue, lang, urls),
        urls.url(Opml(lang)),
        patterns,
        list(catalogue.slugs),
    )
    return IndexParts(
        Markup(module.autodiscovery(feeds)),  # type: ignore[attr-defined]
        Markup(subscribe),
    )


def render_index(
    states: Mapping[str, SystemState],
    open_incidents: Sequence[Incident],
    closed: Sequence[Incident],
    parts: IndexParts,
    catalogue: Catalogue,
    ctx: PageContext,
    lang: Lang,
    urls: Urls,
) -> bytes:
    """The status page: the whole picture, each system now, open disruptions, windows, recent
    closed incidents, then compact subscribing (every feed autodiscoverable in the head).

    ``parts`` are ``index_parts(catalogue, lang, urls)``.
    """
    now = ctx.refreshed_at
    at = now or max((i.updated_at for i in open_incidents), default=None)
    state, text = overall_line(states, open_incidents, catalogue, lang, now)
    systems = [
        {
            "slug": system.slug,
            "name": system.name_in(lang),
            "url": urls.url(SystemPage(lang, system.slug)),
            "chip": _state_chip(states[system.slug], lang, now),
            "details": state_details(states[system.slug], lang, now),
        }
        for system in _ordered(catalogue)
    ]
    disruptions = sorted(
        (i for i in open_incidents if i.kind is Kind.DISRUPTION),
        key=lambda i: (i.published_at, i.key),
        reverse=True,
    )
    planned = [i for i in open_incidents if i.kind is Kind.SCHEDULED]
    if at is not None:
        planned.sort(key=lambda i: _window_rank(i, at))
    html = ENV.get_template("index.html").render(
        **_chrome(urls, ctx, lang, IndexPage(_other(lang)), WORDS[lang]["index_title"], True),
        autodiscovery=parts.autodiscovery,
        subscribe=parts.subscribe,
        overall={"cls": state.value, "icon": _ICONS[state.value], "text": text},
        notes=ctx.source_notes.get(lang, ""),
        refreshed=local_time(now, lang) if now else "",
        systems=systems,
        disruptions=[_disruption(i, catalogue, lang, urls, now) for i in disruptions],
        windows=[_window_item(i, catalogue, lang, urls, at) for i in planned] if at else [],
        closed=[incident_item(i, catalogue, lang, urls) for i in closed],
    )
    return html.encode("utf-8")


# a system's page ---------------------------------------------------------------------------


def _strip(figures: Figures, name: str, titles: Mapping[str, str], lang: Lang) -> dict[str, Any]:
    w = WORDS[lang]
    counts = dict.fromkeys(State, 0)
    bars = []
    for n, cell in enumerate(figures.strip):
        counts[cell.state] += 1
        day = day_name(cell.day, lang)
        if cell.keys:
            named = [
                f"{'' if key.startswith('oid:') else key} {titles.get(key, '')}".strip()
                for key in cell.keys[:5]
            ]
            more = f" (+{len(cell.keys) - 5})" if len(cell.keys) > 5 else ""
            what = "; ".join(named) + more
        else:
            what = w["no_incident"]
        bars.append(
            {
                "x": n * _BAR,
                "h": _HEIGHTS[cell.state],
                "state": cell.state.value,
                "title": f"{day}: {word(lang, f'system_{cell.state.value}')} · {what}",
            }
        )

    def days(count: int) -> str:
        return w["day_one"] if count == 1 else word(lang, "days", count=str(count))

    label = word(
        lang,
        "strip_label",
        name=name,
        disrupted=days(counts[State.DISRUPTED]),
        maintenance=days(counts[State.MAINTENANCE]),
        operational=days(counts[State.OPERATIONAL]),
    )
    first, last = figures.strip[0].day, figures.strip[-1].day
    return {
        "width": len(bars) * _BAR - 2,
        "bars": bars,
        "label": label,
        "range": f"{day_name(first, lang)} – {day_name(last, lang)}",
    }


def _months(figures: Figures, lang: Lang) -> list[dict[str, str]]:
    rows = []
    for n, m in enumerate(reversed(figures.months)):
        name = month_name(m.month, lang)
        rows.append(
            {
                "name": f"{name} ({word(lang, 'so_far')})" if n == 0 else name,
                "disruptions": str(m.disruptions),
                "disrupted": hours_number(m.disrupted, lang),
                "windows": str(m.windows),
                "in_windows": hours_number(m.in_windows, lang),
            }
        )
    return rows


def _close(figures: Figures, lang: Lang) -> str:
    close = figures.close
    if close.count == 0 or close.median is None or close.p90 is None:
        return word(lang, "close_none")
    return word(
        lang,
        "close_figures",
        median=duration_words(close.median, lang),
        p90=duration_words(close.p90, lang),
        count=str(close.count),
    )


def _pager(urls: Urls, lang: Lang, slug: str, page: int, pages: int) -> dict[str, Any]:
    return {
        "pages": pages,
        "label": word(lang, "page_of", page=str(page), pages=str(pages)),
        "newer": urls.url(SystemPage(lang, slug, page - 1)) if page > 1 else "",
        "older": urls.url(SystemPage(lang, slug, page + 1)) if page < pages else "",
    }


def render_system_page(
    doc: SystemPage,
    state: SystemState,
    figures: Figures,
    incidents: Sequence[Incident],
    pages: int,
    open_incidents: Sequence[Incident],
    titles: Mapping[str, str],
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Page 1: state now, 90 days, 12 months, time to close, the newest incidents.

    ``open_incidents`` are the system's open ones; ``titles`` names the incidents of the strip
    by key (in ``doc.lang``).
    """
    lang, slug, now = doc.lang, doc.system, ctx.refreshed_at
    system = catalogue.get(slug)
    name = system.name_in(lang) if system else slug
    w = WORDS[lang]
    opened = [
        {
            "url": urls.url(IncidentPage(lang, i.key)),
            "title": i.title_in(lang),
            "since": word(lang, "since", time=clock_time(i.published_at, lang, now))
            if i.kind is Kind.DISRUPTION
            else describe_window(i.window, lang)
            if i.window
            else "",
        }
        for i in open_incidents
    ]
    links = [
        {"url": urls.url(Feed(lang, fmt, Scope.SYSTEM, slug)), "label": _LABELS[fmt], "type": t}
        for fmt, t in _FEED_TYPES.items()
    ] + [
        {"url": urls.url(Calendar(lang, slug)), "label": w["calendar"], "type": ""},
        {"url": urls.url(Embed(lang, slug)), "label": w["embed"], "type": ""},
        {"url": urls.url(Badge(lang, slug)), "label": w["badge"], "type": "image/svg+xml"},
    ]
    html = ENV.get_template("system.html").render(
        **_chrome(urls, ctx, lang, SystemPage(_other(lang), slug), name, True),
        page=1,
        pages=pages,
        name=name,
        state={
            "chip": _state_chip(state, lang, now),
            "details": state_details(state, lang, now),
            "open": opened,
        },
        strip=_strip(figures, name, titles, lang),
        months=_months(figures, lang),
        close=_close(figures, lang),
        incidents=[incident_item(i, catalogue, lang, urls) for i in incidents],
        pager_info=_pager(urls, lang, slug, 1, pages),
        links=links,
    )
    return html.encode("utf-8")


def render_history_page(
    doc: SystemPage,
    incidents: Sequence[Incident],
    pages: int,
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Page 2 on of a system's incidents (no state or figures: they do not change with time)."""
    lang, slug = doc.lang, doc.system
    system = catalogue.get(slug)
    name = system.name_in(lang) if system else slug
    heading = word(lang, "history_of", name=name, page=str(doc.page))
    html = ENV.get_template("system.html").render(
        **_chrome(urls, ctx, lang, SystemPage(_other(lang), slug, doc.page), heading, False),
        page=doc.page,
        pages=pages,
        heading=heading,
        back=word(lang, "back_to_system", name=name),
        system_url=urls.url(SystemPage(lang, slug)),
        incidents=[incident_item(i, catalogue, lang, urls) for i in incidents],
        pager_info=_pager(urls, lang, slug, doc.page, max(pages, doc.page)),
    )
    return html.encode("utf-8")


# an incident's page ------------------------------------------------------------------------


def render_incident_page(
    doc: IncidentPage,
    incident: Incident | None,
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Everything known about one incident (``None``: a page saying it is gone)."""
    lang = doc.lang
    other = IncidentPage(_other(lang), doc.key)
    if incident is None:
        title = word(lang, "incident_gone", ref=doc.key)
        html = ENV.get_template("incident.html").render(
            **_chrome(urls, ctx, lang, other, title, False), gone=True
        )
        return html.encode("utf-8")
    systems = [
        {
            "name": system.name_in(lang) if (system := catalogue.get(slug)) else slug,
            "url": urls.url(SystemPage(lang, slug)) if system else "",
        }
        for slug in incident.systems
    ] + [{"name": f"“{name}”", "url": ""} for name in incident.unknown_systems]
    lines = [
        {
            "at": local_time(u.sort_at, lang) if u.sort_at else "",
            "iso": u.sort_at.isoformat() if u.sort_at else "",
            "seen": u.at is None and u.seen_at is not None,
            "text": u.text,
        }
        for u in timeline(incident, lang)
    ]
    codes: list[str] = sorted(incident.message_html)
    shown = lang.value if lang.value in incident.message_html else (codes[0] if codes else "")
    others = [
        {
            "lang": code,
            "label": word(lang, "message_other", language=WORDS[lang][f"lang_{code}"]),
            "html": Markup(html),  # sanitised when read (app.upstream.sanitize)
        }
        for code, html in sorted(incident.message_html.items())
        if code != shown and html
    ]
    earlier = [
        {
            "title": m.title,
            "at": local_time(m.at, lang) if m.at else "",
            "lang": m.lang.value,
            "html": Markup(m.html),  # sanitised when read (app.upstream.sanitize)
            "link": m.link,
        }
        for m in incident.earlier_in(lang)
    ]
    links = [
        {"url": url, "lang": code, "label": WORDS[lang][f"lang_{code}"].capitalize()}
        for code, url in sorted(incident.links.items(), key=lambda item: item[0] != lang.value)
        if url
    ]
    kind = "disruption" if incident.kind is Kind.DISRUPTION else "service_window"
    html = ENV.get_template("incident.html").render(
        **_chrome(urls, ctx, lang, other, incident.title_in(lang), False),
        gone=False,
        status=_status_chip(incident, lang),
        kind=WORDS[lang][kind],
        systems=systems,
        window=describe_window(incident.window, lang).split(": ", 1)[-1] if incident.window else "",
        fallback=describe_fallback(incident.fallback, lang).split(": ", 1)[-1]
        if incident.fallback
        else "",
        published=local_time(incident.published_at, lang),
        published_iso=incident.published_at.isoformat(),
        updated=local_time(incident.updated_at, lang),
        closed=local_time(incident.closed_at, lang) if incident.closed_at else "",
        refs=", ".join(incident.refs),
        oids=str(len(incident.oids)),
        links=links,
        timeline=lines,
        messages_note=word(lang, "messages_note", count=str(len(incident.oids)))
        if len(incident.oids) > 1
        else "",
        message=Markup(incident.message_html.get(shown, "")),  # sanitised when read
        message_lang=shown,
        other_messages=others,
        earlier=earlier,
    )
    return html.encode("utf-8")
