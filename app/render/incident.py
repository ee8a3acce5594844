"""An incident's page: everything known about one incident, or a page saying it is gone. Pure."""

from __future__ import annotations

from app.catalogue import Catalogue
from app.model import Incident, Kind
from app.render.chrome import other_language, page_chrome, status_chip, trusted_html
from app.render.entry import timeline
from app.render.i18n import local_time, word
from app.render.pages import template
from app.render.status import describe_fallback, describe_window
from app.render.words import WORDS
from app.site.documents import IncidentPage, SystemPage
from app.site.urls import Urls
from app.store.rendered import PageContext


def render_incident_page(
    doc: IncidentPage,
    incident: Incident | None,
    catalogue: Catalogue,
    ctx: PageContext,
    urls: Urls,
) -> bytes:
    """Everything known about one incident (``None``: a page saying it is gone)."""
    lang = doc.lang
    other = IncidentPage(other_language(lang), doc.key)
    if incident is None:
        title = word(lang, "incident_gone", ref=doc.key)
        html = template("incident.html").render(
            **page_chrome(urls, ctx, lang, other, title, False), gone=True
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
            "html": trusted_html(html),  # sanitised when read (app.upstream.sanitize)
        }
        for code, html in sorted(incident.message_html.items())
        if code != shown and html
    ]
    earlier = [
        {
            "title": m.title,
            "at": local_time(m.at, lang) if m.at else "",
            "lang": m.lang.value,
            "html": trusted_html(m.html),  # sanitised when read (app.upstream.sanitize)
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
    html = template("incident.html").render(
        **page_chrome(urls, ctx, lang, other, incident.title_in(lang), False),
        gone=False,
        status=status_chip(incident, lang),
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
        message=trusted_html(incident.message_html.get(shown, "")),  # sanitised when read
        message_lang=shown,
        other_messages=others,
        earlier=earlier,
    )
    return html.encode("utf-8")
