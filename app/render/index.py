"""The index page: the whole picture, each system now, open incidents, subscribing. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.catalogue import OTHER, Catalogue
from app.model import Incident, Kind, Lang, State
from app.render.chrome import (
    ICONS,
    blind_details,
    ordered_systems,
    other_language,
    page_chrome,
    state_chip,
)
from app.render.entry import system_names, timeline
from app.render.i18n import clock_time, local_time, word
from app.render.pages import state_details, template
from app.render.status import describe_fallback, describe_window
from app.render.subscribe import IndexParts
from app.render.words import WORDS
from app.site.documents import (
    IncidentPage,
    IndexPage,
    SystemPage,
)
from app.site.system_state import (
    SystemState,
    overall_state,
    window_in_progress,
    window_to_come,
)
from app.site.urls import Urls
from app.store.rendered import PageContext
from app.upstream.dates import to_local


def _names(names: Sequence[str], lang: Lang) -> str:
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {word(lang, 'and')} {names[-1]}"


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
    newest_text = newest.text if newest is not None else ""
    if newest_at is not None and f"{to_local(newest_at):%H:%M}" in newest_text[:60]:
        newest_at = None  # "Update 08:40 ..." says its time already: not twice
    return {
        "url": urls.url(IncidentPage(lang, incident.key)),
        "title": incident.title_in(lang),
        "systems": ", ".join(system_names(incident, catalogue, lang)),
        "since": word(lang, "since", time=clock_time(incident.published_at, lang, now)),
        "ref": incident.ref or "",
        "newest": newest_text,
        "newest_at": clock_time(newest_at, lang, now) if newest_at is not None else "",
        "fallback": describe_fallback(incident.fallback, lang) if incident.fallback else "",
    }


RECENTLY_CLOSED = 8  # closed incidents on the index


def window_rank(incident: Incident, now: datetime) -> tuple[int, datetime, str]:
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
    rank = window_rank(incident, now)[0]
    tag = ("window_running", "window_coming", "window_ended", "window_unknown")[rank]
    window = incident.window
    said = word(lang, tag)
    if window is not None and rank == 0:  # when it started
        said = word(lang, "window_started", time=clock_time(window.start_at, lang, now))
    elif window is not None and rank == 2 and window.end_at is not None and not window.cancelled:
        # past its planned end, its incident open: no completion reported
        said = word(lang, "window_not_complete", time=clock_time(window.end_at, lang, now))
    return {
        "when": describe_window(window, lang) if window else word(lang, "window_unknown"),
        "tag": said,
        "cls": "maintenance" if rank == 0 else "closed",
        "url": urls.url(IncidentPage(lang, incident.key)),
        "title": incident.title_in(lang),
        "systems": ", ".join(system_names(incident, catalogue, lang)),
    }


def render_index(
    states: Mapping[str, SystemState],
    open_incidents: Sequence[Incident],
    closed: Sequence[str],
    parts: IndexParts,
    catalogue: Catalogue,
    ctx: PageContext,
    lang: Lang,
    urls: Urls,
    stamp: str | None = None,
) -> bytes:
    """The status page: the whole picture, each system now, open disruptions, windows, recent
    closed incidents, then compact subscribing (every feed autodiscoverable in the head).

    ``closed`` are the lines (``incident_item``) of the recently closed incidents; ``parts``
    are ``index_parts(catalogue, lang, urls)``; ``stamp`` is written where the time
    of the poll goes (``app.render.stamps``).
    """
    now = ctx.refreshed_at
    at = now or max((i.updated_at for i in open_incidents), default=None)
    blind = not ctx.state_known  # nothing read yet, or the agency cannot be read now
    state, text = overall_line(states, open_incidents, catalogue, lang, now)
    overall = {"cls": state.value, "icon": ICONS[state.value], "text": text}
    if blind:
        overall = {
            "cls": "unknown",
            "icon": ICONS["unknown"],
            "text": word(lang, "overall_unknown" if ctx.blind_notice else "overall_never_read"),
        }
    systems = [
        {
            "slug": system.slug,
            "name": system.name_in(lang),
            "url": urls.url(SystemPage(lang, system.slug)),
            "chip": state_chip(states[system.slug], lang, now, blind),
            "details": blind_details(states[system.slug], lang, now)
            if blind
            else state_details(states[system.slug], lang, now),
        }
        for system in ordered_systems(catalogue)
        if not system.legacy and system.slug != OTHER
    ]
    # legacy names and the catch-all are not systems with a health of their own: listed apart,
    # with what is open under them, never with a state chip
    apart = [
        {
            "name": system.name_in(lang),
            "url": urls.url(SystemPage(lang, system.slug)),
            "open": word(lang, "open_count", count=str(len(states[system.slug].incidents)))
            if states[system.slug].incidents
            else WORDS[lang]["nothing_open"],
        }
        for system in ordered_systems(catalogue)
        if system.legacy or system.slug == OTHER
    ]
    disruptions = sorted(
        (i for i in open_incidents if i.kind is Kind.DISRUPTION),
        key=lambda i: (i.published_at, i.key),
        reverse=True,
    )
    planned = [i for i in open_incidents if i.kind is Kind.SCHEDULED]
    if at is not None:
        planned.sort(key=lambda i: window_rank(i, at))
    html = template("index.html").render(
        **page_chrome(
            urls, ctx, lang, IndexPage(other_language(lang)), WORDS[lang]["index_title"], True
        ),
        autodiscovery=parts.autodiscovery,
        subscribe=parts.subscribe,
        overall=overall,
        notes=ctx.source_notes.get(lang, ""),
        refreshed=stamp if stamp is not None else local_time(now, lang) if now else "",
        systems=systems,
        apart=apart,
        known=ctx.state_known,
        disruptions=[_disruption(i, catalogue, lang, urls, now) for i in disruptions],
        windows=[_window_item(i, catalogue, lang, urls, at) for i in planned] if at else [],
        closed=closed,
    )
    return html.encode("utf-8")
