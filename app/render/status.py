"""Systems' states as the /api/systems.json body, and the words for windows, fallback and state.

Pure: records in, bytes or text out. Times in JSON are RFC 3339 in UTC, in the same form as
/api/incidents.json; times in text are Danish local time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from app.catalogue import Catalogue
from app.model import Fallback, Lang, State, Window, public_key
from app.render.i18n import word
from app.render.words import MONTHS_LONG, WEEKDAYS
from app.site.system_state import NextWindow, Overrun, SystemState
from app.upstream.dates import to_local


def _rfc3339(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _overrun(overrun: Overrun | None) -> dict[str, str | None] | None:
    if overrun is None:
        return None
    return {"key": public_key(overrun.key), "planned_end": _rfc3339(overrun.planned_end)}


def _next_window(window: NextWindow | None) -> dict[str, str | None] | None:
    if window is None:
        return None
    return {
        "key": public_key(window.key),
        "start": _rfc3339(window.start_at),
        "end": _rfc3339(window.end_at),
    }


def render_systems_api(
    states: Mapping[str, SystemState],
    catalogue: Catalogue,
    generated_at: datetime | None,
    readable: bool = True,
) -> bytes:
    """The /api/systems.json body: every catalogue system's state, in catalogue order.

    ``readable`` is False while toldfeed cannot read the agency: the states are then the last
    known ones and may be out of date; before anything was ever read (``generated_at`` None)
    no state is known and each says ``unknown``.
    """
    systems: dict[str, object] = {}
    for slug in catalogue.slugs:
        state = states.get(slug) or SystemState(slug=slug, state=State.OPERATIONAL)
        systems[slug] = {
            "state": state.state.value if generated_at is not None else "unknown",
            "until": _rfc3339(state.until_at),
            "next_window": _next_window(state.next_window),
            "fallback_allowed": state.fallback_allowed,
            "incidents": [public_key(k) for k in state.incidents],
            "overrun": _overrun(state.overrun),
        }
    doc = {"generated_at": _rfc3339(generated_at), "readable": readable, "systems": systems}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def _day(local: datetime, lang: Lang) -> str:
    weekday = WEEKDAYS[lang][local.weekday()]
    month = MONTHS_LONG[lang][local.month - 1]
    if lang is Lang.DA:
        return f"{weekday} {local.day}. {month} {local.year}"
    return f"{weekday} {local.day} {month} {local.year}"


def describe_window(window: Window, lang: Lang) -> str:
    """One line for a window in ``lang``, in Danish local time (both dates when it spans days)."""
    start = to_local(window.start_at)
    if window.end_at is None:
        text = word(lang, "window_open", day=_day(start, lang), start=f"{start:%H:%M}")
    else:
        end = to_local(window.end_at)
        if end.date() == start.date():
            text = word(
                lang,
                "window_day",
                day=_day(start, lang),
                start=f"{start:%H:%M}",
                end=f"{end:%H:%M}",
            )
        else:
            text = word(
                lang,
                "window_span",
                start_day=_day(start, lang),
                start=f"{start:%H:%M}",
                end_day=_day(end, lang),
                end=f"{end:%H:%M}",
            )
    return word(lang, "window_cancelled", text=text) if window.cancelled else text


def describe_fallback(fallback: Fallback, lang: Lang) -> str:
    """One line for the fallback procedure: ``Fallback procedure: allowed`` / ``not allowed``."""
    if fallback.allowed:
        return word(lang, "fallback_allowed")
    return word(lang, "fallback_restricted" if fallback.restricted else "fallback_not_allowed")


def describe_state(state: SystemState, lang: Lang, now: datetime | None = None) -> str:
    """A badge text: ``disrupted``, ``maintenance until 23:00``, ``operational``.

    With ``now``, an end on another local day than ``now`` names its day too.
    """
    if state.state is State.MAINTENANCE and state.until_at is not None:
        until = to_local(state.until_at)
        text = f"kl. {until:%H:%M}" if lang is Lang.DA else f"{until:%H:%M}"
        if now is not None and to_local(now).date() != until.date():
            text = f"{_day(until, lang)} {text}"
        return word(lang, "system_maintenance_until", until=text)
    return word(lang, f"system_{state.state.value}")
