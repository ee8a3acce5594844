"""What the sources' health shows on the pages: the blind notice, the failing sources in
words, and the notice entry of the ``all`` and ``current`` feeds. Pure."""

from __future__ import annotations

from html import escape

from app.model import Incident, Kind, Lang, Status
from app.render.i18n import local_time, word
from app.site.health import HealthState
from app.store.rendered import PageContext

NOTICE_KEY = "toldfeed:upstream-unreadable"


def page_context(
    state: HealthState, base_url: str, upstream_url: str
) -> tuple[PageContext, Incident | None]:
    """The pages' context and, when blind, the notice entry of the all/current feeds."""
    notices: dict[Lang, str] = {}
    if state.unreadable_since is not None:
        notices = {
            lang: word(
                lang,
                "blind",
                since=local_time(state.unreadable_since, lang),
                reason=state.unreadable_reason,
            )
            for lang in Lang
        }
    notes: dict[Lang, str] = {}
    if state.failing:
        # some sources fail, others are read: say which, in words (index page only)
        for lang in Lang:
            notes[lang] = " ".join(
                word(
                    lang,
                    "source_failing",
                    url=f.url,
                    since=local_time(f.since, lang),
                    reason=f.reason,
                )
                for f in state.failing
            )
    context = PageContext(base_url.rstrip("/"), state.refreshed_at, notices, notes)
    return context, _notice(state, upstream_url)


def _notice(state: HealthState, upstream_url: str) -> Incident | None:
    blind = state.blind
    if blind is None:
        return None
    body = {
        lang: word(
            lang,
            "blind_body",
            since=local_time(blind.since, lang),
            reason=blind.reason,
            url=upstream_url,
        )
        for lang in Lang
    }
    return Incident(
        key=NOTICE_KEY,
        refs=(),
        oids=(),
        oid=0,
        links={lang.value: upstream_url for lang in Lang},
        title={lang.value: word(lang, "blind_title") for lang in Lang},
        message_html={lang.value: "<p>" + escape(text) + "</p>" for lang, text in body.items()},
        message_text={lang.value: text for lang, text in body.items()},
        systems=(),
        unknown_systems=(),
        status=Status.CURRENT,
        kind=Kind.DISRUPTION,
        published_at=blind.since,
        updated_at=blind.since,
        upstream_updated_at=blind.since,
    )
