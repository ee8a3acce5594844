"""HTML index, iframe fragment, SVG badge, OPML and the JSON API documents. Pure.

HTML is rendered with Jinja2 (comes with Flask) with autoescaping on; nothing here needs a
request or an application context, so ``toldfeed export`` renders the very same bytes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from app import jsonio
from app.catalogue import Catalogue, System
from app.model import Incident, Lang, State, Status, Window, public_key
from app.render.i18n import local_time, status_word
from app.render.status import describe_state, describe_window
from app.render.words import WORDS
from app.site.documents import Feed, Format, IndexPage, Scope
from app.site.sets import feed_scopes
from app.site.system_state import SystemState
from app.site.urls import Urls
from app.store.codec import incident_to_dict
from app.store.rendered import PageContext

if TYPE_CHECKING:
    from jinja2 import Environment, Template


# compiled templates are kept as bytecode in a per-user temporary directory (Jinja's default,
# created 0700; keyed by each template's source), so a new process (a cron poll, a recycled
# worker) loads them instead of compiling them again
@functools.cache
def templates() -> Environment:
    """The page templates (jinja2 is imported with the first page made: a poll that makes
    none never loads it); compiled templates are kept in a bytecode cache."""
    from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape

    class Pages(Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            """``x.name`` of a dict (the pages' words and rows are dicts) reads its item
            directly: Jinja looks for an attribute first, and the failed look raises an
            AttributeError each time (some 4,000 of them in an all-changed publish)."""
            if type(obj) is dict and attribute in obj:
                return obj[attribute]
            return super().getattr(obj, attribute)

    return Pages(
        loader=PackageLoader("app", "templates"),
        autoescape=select_autoescape(["html"]),
        bytecode_cache=FileSystemBytecodeCache(),
        # the templates change with an upgrade only, which starts new processes: no look at
        # each template file's time at every use (some 270 an all-changed poll)
        auto_reload=False,
    )


def template(name: str) -> Template:
    """The page template ``name`` (``templates/``)."""
    return templates().get_template(name)


CSS = files("app").joinpath("templates/base.css").read_text(encoding="utf-8")
UNKNOWN_COLORS = {"bg": "#eaecef", "fg": "#24292e", "badge": "#5a6169"}
STATE_COLORS = {
    State.DISRUPTED: {"bg": "#fde2e1", "fg": "#8a1c17", "badge": "#c62828"},
    State.MAINTENANCE: {"bg": "#fff0d6", "fg": "#7a4b00", "badge": "#a15c00"},
    State.OPERATIONAL: {"bg": "#e1f5e6", "fg": "#145a2b", "badge": "#1e7e34"},
}
# the CSS class of each state (index page styles)
_STATE_CLASS = {State.DISRUPTED: "current", State.MAINTENANCE: "scheduled", State.OPERATIONAL: "ok"}


def shown_state(state: SystemState) -> State:
    """The state a chip's colour shows: an overrun looks like a window, not like a quiet
    system (its ``state`` stays operational, as the API's rules say)."""
    if state.state is State.OPERATIONAL and state.overrun is not None:
        return State.MAINTENANCE
    return state.state


def state_words(state: SystemState, lang: Lang, now: datetime | None) -> str:
    """The state now in words: "Ongoing disruption", "Maintenance until 23:00", "Operational"."""
    if state.state is State.DISRUPTED:
        return WORDS[lang]["state_current"]
    if state.state is State.OPERATIONAL:
        return WORDS[lang]["state_overrun" if state.overrun else "state_ok"]
    text = describe_state(state, lang, now)
    return text[:1].upper() + text[1:]


def state_details(state: SystemState, lang: Lang, now: datetime | None) -> list[str]:
    """Lines under the state: fallback allowed, the next window."""
    lines = []
    if state.fallback_allowed:
        lines.append(WORDS[lang]["fallback_allowed"])
    if state.next_window is not None:
        nxt = state.next_window
        window = Window(nxt.start_at, nxt.end_at)
        text = describe_window(window, lang)
        lines.append(WORDS[lang]["next_window"].format(window=text[:1].lower() + text[1:]))
    return lines


def feed_urls(urls: Urls, scope: Scope, value: str, lang: Lang) -> list[str]:
    """The Atom, RSS and JSON Feed URLs of one feed scope."""
    return [urls.url(Feed(lang, fmt, scope, value)) for fmt in Format]


def _messages(
    incidents: Sequence[Incident], slug: str, lang: Lang, limit: int
) -> list[dict[str, str]]:
    chosen = [i for i in incidents if slug in i.systems][:limit]
    return [
        {
            "title": i.title_in(lang),
            "link": i.link_in(lang),
            "status": status_word(lang, i.status),
            "updated": local_time(i.updated_at, lang),
        }
        for i in chosen
    ]


def _systems(catalogue: Catalogue) -> list[System]:
    return [s for s in catalogue.systems if not s.legacy] + [
        s for s in catalogue.systems if s.legacy
    ]


def feed_title(catalogue: Catalogue, scope: Scope, value: str, lang: Lang) -> str:
    """The title of one feed scope in ``lang``."""
    w = WORDS[lang]
    if scope is Scope.STATUS:
        return w["status_title"].format(status=status_word(lang, Status(value)))
    if scope is Scope.SYSTEM:
        system = catalogue.get(value)
        return w["system_title"].format(name=system.name_in(lang) if system else value)
    return w["all_title"]


def _feed_titles(catalogue: Catalogue, lang: Lang) -> list[tuple[Scope, str, str]]:
    return [
        (scope, value, feed_title(catalogue, scope, value, lang))
        for scope, value in feed_scopes(catalogue)
    ]


def render_embed(
    incidents: Sequence[Incident],
    state: SystemState,
    catalogue: Catalogue,
    ctx: PageContext,
    slug: str,
    lang: Lang,
    urls: Urls,
    stamp: str | None = None,
) -> bytes:
    """A self-contained fragment for an iframe: inline styles, no script, fine at 300 px.
    ``stamp``: written where the time of the poll goes (``app.render.stamps``)."""
    system = catalogue.get(slug)
    assert system is not None
    w = WORDS[lang]
    # no state is known before the first read or while the agency cannot be read
    blind = ctx.blind_notice.get(lang, "") or ("" if ctx.state_known else w["never_read"])
    html = template("embed.html").render(
        lang=lang.value,
        details=[] if blind else state_details(state, lang, ctx.refreshed_at),
        name=system.name_in(lang),
        # never green while the agency cannot be read: the state shown may be out of date
        state_word=w["state_unknown"] if blind else state_words(state, lang, ctx.refreshed_at),
        colors=UNKNOWN_COLORS if blind else STATE_COLORS[shown_state(state)],
        messages=_messages(incidents, slug, lang, 3),
        no_messages=w["no_messages"],
        blind=blind,
        feed_url=urls.url(Feed(lang, Format.ATOM, Scope.SYSTEM, slug)),
        refreshed_label=w["refreshed"],
        zone=w["danish_time"],
        refreshed=stamp
        if stamp is not None
        else local_time(ctx.refreshed_at, lang)
        if ctx.refreshed_at
        else w["never"],
    )
    return html.encode("utf-8")


def render_badge(
    state: SystemState,
    catalogue: Catalogue,
    lang: Lang,
    now: datetime | None,
    readable: bool = True,
) -> bytes:
    """A shields-style SVG badge: the system's name and its state now (a window's end).

    While toldfeed cannot read the agency (``readable`` False) it says "Unknown" in grey.
    """
    system = catalogue.get(state.slug)
    assert system is not None
    left = system.name_in(lang)
    right = state_words(state, lang, now) if readable else WORDS[lang]["state_unknown"]
    lw, rw = 7 * len(left) + 12, 7 * len(right) + 12
    color = STATE_COLORS[shown_state(state)]["badge"] if readable else UNKNOWN_COLORS["badge"]
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + rw}" height="20" role="img" '
        f'aria-label="{escape(left)}: {escape(right)}"><title>{escape(left)}: {escape(right)}</title>'
        f'<rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{rw}" height="20" fill="{color}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(left)}</text><text x="{lw + 6}" y="14">{escape(right)}</text></g></svg>'
    )
    return svg.encode("utf-8")


def render_opml(catalogue: Catalogue, urls: Urls, lang: Lang, systems: bool = False) -> bytes:
    """Feeds in one language (Atom), for importing into a reader in one go: the status feeds,
    or with ``systems`` one feed per system.

    Only feeds, and by default only feeds that share no entry. An entry keeps one id in every
    feed, and readers such as newsboat keep one copy of an id, under the feed that last carried
    it: imported together, overlapping feeds (``all``, the systems, the statuses) show most of
    their entries under another feed and none under their own. The status feeds split every
    entry into exactly one of them (an entry moves when its status changes, as it should). The
    per-system feeds overlap (a window names DMS Import, Export and Transit at once): their
    OPML is for readers that keep each feed's entries apart. One language per file, for the
    same reason. No calendars: newsboat takes any outline's ``url`` for a feed.
    """
    title = WORDS[lang]["opml_systems_title" if systems else "opml_title"]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"<head><title>{escape(title)}</title></head>",
        "<body>",
    ]
    html_url = urls.url(IndexPage(lang))
    wanted = Scope.SYSTEM if systems else Scope.STATUS
    for scope, value, feed in _feed_titles(catalogue, lang):
        if scope is not wanted:
            continue
        atom = urls.url(Feed(lang, Format.ATOM, scope, value))
        lines.append(
            f'<outline type="rss" text="{escape(feed)}" title="{escape(feed)}" '
            f'xmlUrl="{escape(atom)}" htmlUrl="{escape(html_url)}"/>'
        )
    lines += ["</body>", "</opml>"]
    return "\n".join(lines).encode("utf-8")


def api_incident(incident: Incident) -> dict[str, Any]:
    """An incident as /api/incidents.json and webhooks give it (its key in the public form)."""
    return {**incident_to_dict(incident), "key": public_key(incident.key)}


def api_json(incident: Incident) -> bytes:
    """One incident of /api/incidents.json, encoded (a renderer keeps it per version)."""
    return jsonio.dumps(api_incident(incident))


def render_api(
    encoded: Sequence[bytes], generated_at: datetime | None, stamp: str | None = None
) -> bytes:
    """The incidents with their timelines as JSON, from each one's ``api_json``: the same
    bytes as encoding the whole document at once. ``stamp``: written for ``generated_at``
    (``app.render.stamps``)."""
    if stamp is None:
        stamp = json.dumps(generated_at.isoformat() if generated_at else None)
    head = f'{{"generated_at":{stamp},"count":{len(encoded)},"incidents":['.encode()
    return head + b",".join(encoded) + b"]}"
