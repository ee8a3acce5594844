"""One incident as a feed entry: HTML content, a plain-text summary, categories. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from app.catalogue import Catalogue
from app.model import Incident, Lang, Update
from app.render.i18n import local_time, status_word, word
from app.render.status import describe_fallback, describe_window

SUMMARY_MAX = 280


@dataclass(frozen=True, slots=True)
class Entry:
    """Everything a feed format needs for one incident in one language."""

    id: str
    title: str
    link: str
    content_html: str
    summary: str
    categories: tuple[tuple[str, str], ...]  # (term, label)
    incident: Incident
    page: str = ""  # the incident's page on toldfeed (rel="related"); "" for the notice


def entry_id(incident: Incident) -> str:
    """The entry id: stable forever, the same in every feed (from the reference or the oid)."""
    return f"tag:toldfeed,2026:incident/{incident.key.replace(':', '-')}"


def timeline(incident: Incident, lang: Lang) -> list[Update]:
    """Update lines for ``lang``, newest first; the other language's when ``lang`` has none."""
    mine = [u for u in incident.updates if u.lang is lang]
    return mine or list(incident.updates)


def _when(update: Update, lang: Lang) -> str:
    if update.at:
        return f'<time datetime="{update.at.isoformat()}">{local_time(update.at, lang)}</time>'
    if update.seen_at:
        stamp = local_time(update.seen_at, lang)
        return (
            f'<time datetime="{update.seen_at.isoformat()}">{stamp}</time> ({word(lang, "seen")})'
        )
    return ""


def system_names(incident: Incident, catalogue: Catalogue, lang: Lang) -> list[str]:
    """Display names of the incident's systems, unknown upstream names spelled out."""
    names = []
    for slug in incident.systems:
        system = catalogue.get(slug)
        names.append(system.name_in(lang) if system else slug)
    return names + [f"“{n}”" for n in incident.unknown_systems]


def render_entry(incident: Incident, catalogue: Catalogue, lang: Lang, page: str = "") -> Entry:
    """Build the entry for ``incident`` in ``lang``; ``page`` is its page on toldfeed, if any."""
    status = status_word(lang, incident.status)
    systems = system_names(incident, catalogue, lang)
    lines = timeline(incident, lang)
    parts = [
        f"<p><strong>{word(lang, 'status')}:</strong> {escape(status)}</p>",
        f"<p><strong>{word(lang, 'systems')}:</strong> {escape(', '.join(systems))}</p>",
    ]
    facts = []
    if incident.window is not None:
        facts.append(describe_window(incident.window, lang))
    if incident.fallback is not None:
        facts.append(describe_fallback(incident.fallback, lang))
    parts += [f"<p>{escape(fact)}</p>" for fact in facts]
    parts += [f"<h3>{word(lang, 'timeline')}</h3>", "<ul>"]
    for update in lines:
        when = _when(update, lang)
        parts.append(f"<li>{when}{' — ' if when else ''}{escape(update.text)}</li>")
    created = local_time(incident.published_at, lang)
    parts.append(
        f'<li><time datetime="{incident.published_at.isoformat()}">{created}</time> — '
        f"{word(lang, 'created')}</li>"
    )
    parts.append("</ul>")
    message = incident.message_html.get(lang) or next(iter(incident.message_html.values()), "")
    parts += [f"<h3>{word(lang, 'message')}</h3>", message]
    for earlier in incident.earlier_in(lang):  # every message's text, newest first
        when = f" ({local_time(earlier.at, lang)})" if earlier.at else ""
        parts.append(f"<h3>{escape(word(lang, 'earlier_message'))}{escape(when)}</h3>")
        if earlier.title:
            parts.append(f"<p><strong>{escape(earlier.title)}</strong></p>")
        parts.append(earlier.html)  # sanitized when read, like the message itself
    if incident.ref:
        parts.append(f"<p><strong>{word(lang, 'reference')}:</strong> {escape(incident.ref)}</p>")
    link = incident.link_in(lang)
    if link:
        parts.append(f'<p><a href="{escape(link)}">{word(lang, "official")}</a></p>')
    if page:
        parts.append(f'<p><a href="{escape(page)}" rel="related">{word(lang, "related")}</a></p>')
    summary_bits = [status, ", ".join(systems), *facts]
    if lines:
        summary_bits.append(f"{word(lang, 'latest')}: {lines[0].text}")
    if incident.ref:
        summary_bits.append(incident.ref)
    summary = " · ".join(b for b in summary_bits if b)
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1].rstrip() + "…"
    named = [(slug, catalogue.get(slug)) for slug in incident.systems]
    categories = (
        *((slug, system.name_in(lang) if system else slug) for slug, system in named),
        (incident.status.value, status),
    )
    return Entry(
        id=entry_id(incident),
        title=incident.title_in(lang),
        link=link,
        content_html="\n".join(parts),
        summary=summary,
        categories=categories,
        incident=incident,
        page=page,
    )
