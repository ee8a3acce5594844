"""An incident's update lines: each line once, dated by the most trusted source. Pure.

Lines come from the parsers (detail pages' own history, pattern-matched lines) and from
comparing the texts successive polls saw of the same list row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from app.merge.readings import EPOCH, SOURCE_PRIORITY
from app.model import Lang, Observation, SourceKind, Update
from app.upstream.text import added_lines, update_identity


def _poll_additions(observations: Sequence[Observation]) -> list[Update]:
    """Lines a message gained between the versions successive polls saw of the same list.

    Detail pages carry their own history (compared in the parser); list rows do not, so their
    texts over time are compared here: what a later text adds (and still shows) is an update,
    unless the change reads as a rewrite. Pattern-matched update lines merge with these.
    """
    # each text: its upstream time and when it was first read (texts under one upstream time,
    # a message edited in place, follow each other in the order they were read)
    texts: dict[tuple[int, Lang], dict[str, tuple[datetime, datetime]]] = {}
    # what the row shows now: its reading with the newest upstream time, then the last read
    current: dict[tuple[int, Lang], tuple[datetime, datetime, str]] = {}
    for obs in observations:
        if obs.source_kind is SourceKind.PAGE and obs.message_text and obs.last_updated_at:
            versions = texts.setdefault((obs.oid, obs.lang), {})
            was = versions.get(obs.message_text)
            now = (obs.last_updated_at, obs.observed_at)
            versions[obs.message_text] = min(was, now) if was else now
            shown = (obs.last_updated_at, obs.last_seen_at or obs.observed_at, obs.message_text)
            current[(obs.oid, obs.lang)] = max(current.get((obs.oid, obs.lang), shown), shown)
    found: list[Update] = []
    for (oid, lang), versions in texts.items():
        ordered = sorted(versions.items(), key=lambda item: (item[1], item[0]))
        latest = {update_identity(line) for line in current[(oid, lang)][2].split("\n")}
        for (older, (before, _)), (newer, (at, read)) in itertools.pairwise(ordered):
            for line in added_lines(older.split("\n"), newer.split("\n")):
                if update_identity(line) in latest:
                    # under the same upstream time: first seen when it was read
                    seen = read if at == before else at
                    found.append(Update(text=line, lang=lang, at=None, seen_at=seen))
    return found


def merge_updates(observations: Sequence[Observation]) -> tuple[Update, ...]:
    """Each update line once; its time from the most trusted source that names one."""
    best: dict[tuple[Lang, str], tuple[tuple[int, float, str], Update]] = {}
    seen: dict[tuple[Lang, str], datetime] = {}
    # additions found by comparing versions name no time: they never outrank a dated line
    additions = [(SourceKind.RSS, u) for u in _poll_additions(observations)]
    for kind, update in [
        *((o.source_kind, u) for o in observations for u in o.updates),
        *additions,
    ]:
        key = (update.lang, update_identity(update.text))
        if update.seen_at and (key not in seen or update.seen_at < seen[key]):
            seen[key] = update.seen_at
        strength = (
            SOURCE_PRIORITY[kind] if update.at else -1,
            -(update.at or EPOCH).timestamp(),
            update.text,
        )
        if key not in best or strength > best[key][0]:
            best[key] = (strength, update)
    merged = [replace(u, seen_at=seen.get(key)) for key, (_, u) in best.items()]
    merged.sort(key=lambda u: (u.sort_at or EPOCH, u.lang, update_identity(u.text)), reverse=True)
    return tuple(merged)
