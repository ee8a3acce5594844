"""What an incident shows beside its text: earlier messages, its window, its fallback. Pure.

Each is derived from the incident's observations: the best text of every other message that
shares the reference, and from every text and update line the incident ever carried, the
planned times of a service window and the latest statement about the fallback procedure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.merge.readings import EPOCH, Ranking, change_time
from app.model import Fallback, Kind, Lang, Message, Observation, Update, Window
from app.upstream.links import link_problem
from app.upstream.text import update_identity
from app.upstream.windows import derive_fallback, derive_window


def earlier_messages(
    by_oid: dict[int, list[Observation]],
    latest_oid: int,
    rank: Ranking,
) -> tuple[Message, ...]:
    """The best text of every other message sharing the reference, per language, newest first."""
    found: list[Message] = []
    for oid, observations in by_oid.items():
        if oid == latest_oid:
            continue
        for lang in Lang:
            ranked = sorted(
                (o for o in observations if o.lang is lang and o.message_html),
                key=rank,
                reverse=True,
            )
            if ranked:
                best = ranked[0]
                link = next(
                    (o.link for o in ranked if o.link and link_problem(o.link, None) is None), ""
                )
                at = best.last_updated_at or best.created_at
                found.append(Message(oid, lang, best.title, best.message_html, link, at))
    found.sort(key=lambda m: (m.at or EPOCH, m.oid, m.lang), reverse=True)
    return tuple(found)


def message_texts(observations: Sequence[Observation]) -> list[tuple[datetime, str, list[str]]]:
    """Every text of the incident's messages as (upstream time, title, lines), oldest first."""
    texts: set[tuple[datetime, str, tuple[str, ...]]] = set()
    for obs in observations:
        if obs.message_text or obs.title:
            texts.add((change_time(obs), obs.title, tuple(obs.message_text.split("\n"))))
        for version in obs.versions:
            texts.add((version.at, "", tuple(version.text.split("\n"))))
    return [(at, title, list(lines)) for at, title, lines in sorted(texts)]


def incident_window(
    kind: Kind, texts: list[tuple[datetime, str, list[str]]], updates: Sequence[Update]
) -> Window | None:
    """The planned times of a service window (disruptions have none)."""
    return derive_window(texts, updates) if kind is Kind.SCHEDULED else None


def incident_fallback(
    texts: list[tuple[datetime, str, list[str]]], updates: Sequence[Update]
) -> Fallback | None:
    """The latest statement about the fallback procedure.

    A line is dated by the first text that carried it (an update line by its own time), so
    an old statement repeated in every later version never outranks a newer one.
    """
    first_seen: dict[str, tuple[datetime, str]] = {}
    for at, _, lines in texts:
        for line in lines:
            key = update_identity(line)
            if key and (key not in first_seen or at < first_seen[key][0]):
                first_seen[key] = (at, line)
    for update in updates:
        if update.sort_at is not None:
            first_seen[update_identity(update.text)] = (update.sort_at, update.text)
    return derive_fallback(sorted(first_seen.values()))
