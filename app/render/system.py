"""A system's page (state, 90 days, 12 months, time to close) and its history pages. Pure."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from app.catalogue import Catalogue
from app.model import Figures, Incident, Kind, Lang, State
from app.render.chrome import (
    FEED_LABELS,
    FEED_TYPES,
    blind_details,
    other_language,
    page_chrome,
    state_chip,
)
from app.render.i18n import (
    clock_time,
    day_name,
    duration_words,
    hours_number,
    hours_shown,
    month_name,
    word,
)
from app.render.pages import state_details, template
from app.render.status import describe_window
from app.render.subscription import system_form
from app.render.words import WORDS
from app.site.documents import Badge, Calendar, Embed, Feed, IncidentPage, Scope, SystemPage
from app.site.system_state import SystemState
from app.site.urls import Urls
from app.store.rendered import PageContext

_BAR = 6  # strip: one bar every 6 units, 4 wide
_HEIGHTS = {State.DISRUPTED: 40, State.MAINTENANCE: 26, State.OPERATIONAL: 12}


@functools.lru_cache(maxsize=8192)
def _bar(n: int, state: State, day: date, what: str, lang: Lang) -> str:
    """The strip's ``n``-th bar: every system's strip shows the same 90 days, most of them
    quiet, so a publish writes each distinct bar once rather than 90 on each of 28 pages."""
    height = _HEIGHTS[state]
    said = word(lang, f"system_{state.value}")
    title = escape(f"{day_name(day, lang)}: {said} · {what}")
    return (
        f'<rect class="b-{escape(state.value)}" x="{n * _BAR}" y="{40 - height}" width="4" '
        f'height="{height}"><title>{title}</title></rect>\n'
    )


def _strip(figures: Figures, name: str, titles: Mapping[str, str], lang: Lang) -> dict[str, Any]:
    w = WORDS[lang]
    counts = dict.fromkeys(State, 0)
    bars = []
    for n, cell in enumerate(figures.strip):
        counts[cell.state] += 1
        if cell.keys:
            named = [
                f"{'' if key.startswith('oid:') else key} {titles.get(key, '')}".strip()
                for key in cell.keys[:5]
            ]
            more = f" (+{len(cell.keys) - 5})" if len(cell.keys) > 5 else ""
            what = "; ".join(named) + more
        else:
            what = w["no_incident"]
        # written here rather than in the template: 90 bars on each of 28 pages
        bars.append(_bar(n, cell.state, cell.day, what, lang))

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
        "bars": Markup("".join(bars)),
        "label": label,
        "range": f"{day_name(first, lang)} – {day_name(last, lang)}",
    }


def _months(figures: Figures, lang: Lang) -> Markup:
    """The 12 months' table rows, newest first (written here rather than in the template, as
    the strip: five cells a row, 12 rows on each of 28 pages)."""
    rows = []
    for n, m in enumerate(reversed(figures.months)):
        name = month_name(m.month, lang)
        cells = (
            f"{name} ({word(lang, 'so_far')})" if n == 0 else name,
            str(m.disruptions),
            hours_number(m.disrupted, lang),
            str(m.windows),
            hours_number(m.in_windows, lang),
        )
        head, *rest = (escape(cell) for cell in cells)
        rows.append(f'<tr><th scope="row">{head}</th>' + "".join(f"<td>{c}</td>" for c in rest))
    return Markup("".join(f"{row}</tr>\n" for row in rows))


def _links(urls: Urls, lang: Lang, slug: str) -> Markup:
    """The system's feeds, calendar, embed and badge, as the page links them."""
    w = WORDS[lang]
    links = [
        (urls.url(Feed(lang, fmt, Scope.SYSTEM, slug)), FEED_LABELS[fmt], kind)
        for fmt, kind in FEED_TYPES.items()
    ] + [
        (urls.url(Calendar(lang, slug)), w["calendar"], ""),
        (urls.url(Embed(lang, slug)), w["embed"], ""),
        (urls.url(Badge(lang, slug)), w["badge"], "image/svg+xml"),
    ]
    return Markup(
        "".join(
            f'<a href="{escape(url)}"'
            + (f' type="{escape(kind)}"' if kind else "")
            + f">{escape(label)}</a>"
            for url, label, kind in links
        )
    )


def shown_figures(figures: Figures) -> tuple[object, ...]:
    """The figures as the page shows them: the strip, each month's counts and hours to one
    decimal (``_months``), the time to close (made of closed disruptions only: time does not
    move it). While an interval is under way the figures move with every moment, what the page
    shows only every few minutes: its digest holds this."""
    months = tuple(
        (m.month, m.disruptions, hours_shown(m.disrupted), m.windows, hours_shown(m.in_windows))
        for m in figures.months
    )
    return (figures.strip, months, figures.close)


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
    lines: Markup,
    pages: int,
    open_incidents: Sequence[Incident],
    titles: Mapping[str, str],
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Page 1: state now, 90 days, 12 months, time to close, the newest incidents.

    ``lines`` are the newest incidents' lines (``joined_lines``); ``open_incidents`` are the
    system's open ones; ``titles`` names the incidents of the strip by key (in ``doc.lang``).
    """
    lang, slug, now = doc.lang, doc.system, ctx.refreshed_at
    blind = not ctx.state_known  # nothing read yet, or the agency cannot be read now
    system = catalogue.get(slug)
    name = system.name_in(lang) if system else slug
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
    html = template("system.html").render(
        **page_chrome(urls, ctx, lang, SystemPage(other_language(lang), slug), name, True),
        page=1,
        pages=pages,
        name=name,
        state={
            "chip": state_chip(state, lang, now, blind),
            "details": blind_details(state, lang, now)
            if blind
            else state_details(state, lang, now),
            "open": opened,
        },
        strip=_strip(figures, name, titles, lang),
        months=_months(figures, lang),
        close=_close(figures, lang),
        incidents=lines,
        pager_info=_pager(urls, lang, slug, 1, pages),
        links=_links(urls, lang, slug),
        # with self-service subscriptions on: the sign-up form, this system ticked
        mailform=system_form(catalogue, lang, urls, slug) if urls.settings.subscriptions_on else "",
    )
    return html.encode("utf-8")


def joined_lines(lines: Sequence[str]) -> Markup:
    """Incidents' lines (``incident_item``) as a list shows them, one a line: one string for
    the template (a loop over 50 lines costs it more than the page around them)."""
    return Markup("".join(f"{line}\n" for line in lines))


def render_history_page(
    doc: SystemPage,
    lines: Markup,
    pages: int,
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Page 2 on of a system's incidents, ``lines`` their lines (``joined_lines``; no state
    or figures: they do not change with time)."""
    lang, slug = doc.lang, doc.system
    system = catalogue.get(slug)
    name = system.name_in(lang) if system else slug
    heading = word(lang, "history_of", name=name, page=str(doc.page))
    html = template("system.html").render(
        **page_chrome(
            urls, ctx, lang, SystemPage(other_language(lang), slug, doc.page), heading, False
        ),
        page=doc.page,
        pages=pages,
        heading=heading,
        back=word(lang, "back_to_system", name=name),
        system_url=urls.url(SystemPage(lang, slug)),
        incidents=lines,
        pager_info=_pager(urls, lang, slug, doc.page, max(pages, doc.page)),
    )
    return html.encode("utf-8")
