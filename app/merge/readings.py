"""The observation set: each content once, which reading is current, how readings rank. Pure.

An observation's content is kept once, first seen at its earliest ``observed_at`` and last seen
at its latest reading; a reading is *current* when it is the latest of its slot (message, source
kind, language). These are the building blocks of the merge (``app.merge``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import TypeAlias

from app.model import Lang, Observation, SourceKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOURCE_PRIORITY = {SourceKind.RSS: 0, SourceKind.PAGE: 1, SourceKind.DETAIL: 2}
# the sort key of a reading: later upstream time, current, later observed, stronger source, text
RankKey: TypeAlias = tuple[datetime, bool, datetime, int, str, str]
Ranking: TypeAlias = Callable[[Observation], RankKey]


# every field of an observation but when it was observed: its content
_CONTENT = tuple(
    f.name for f in fields(Observation) if f.name not in {"observed_at", "last_seen_at"}
)


_REMEMBERED_TEXT = 32_000  # messages up to this long have their fingerprint remembered


def _fingerprint(obs: Observation) -> str:
    content = tuple(getattr(obs, name) for name in _CONTENT)
    return hashlib.blake2b(repr(content).encode(), digest_size=12).hexdigest()


# a merge asks again for the same observations; a bounded memory: a few hundred, none long
_remembered = functools.lru_cache(maxsize=512)(_fingerprint)


def fingerprint(obs: Observation) -> str:
    """Identity of an observation's content (everything but when it was observed)."""
    long = len(obs.message_html) + len(obs.message_text) > _REMEMBERED_TEXT
    return _fingerprint(obs) if long else _remembered(obs)


def last_seen(obs: Observation) -> datetime:
    """When toldfeed last read this content."""
    return obs.last_seen_at or obs.observed_at


def add_observations(
    existing: Iterable[Observation], new: Iterable[Observation]
) -> list[Observation]:
    """Union of two observation sets: each content once, first seen at its earliest
    ``observed_at`` and last seen at its latest reading."""
    kept: dict[str, Observation] = {}
    latest: dict[str, datetime] = {}
    for obs in (*existing, *new):
        fp = fingerprint(obs)
        old = kept.get(fp)
        if old is None or obs.observed_at < old.observed_at:
            kept[fp] = obs
        if fp not in latest or last_seen(obs) > latest[fp]:
            latest[fp] = last_seen(obs)
    merged: list[Observation] = []
    for fp in sorted(kept):
        obs = kept[fp]
        seen = latest[fp] if latest[fp] > obs.observed_at else None
        merged.append(obs if obs.last_seen_at == seen else replace(obs, last_seen_at=seen))
    return merged


Slot = tuple[int, SourceKind, Lang]  # a message's page: its oid, the kind of page, the language


def reading_slot(obs: Observation) -> Slot:
    """What a fresh reading supersedes: earlier readings of the same message, kind, language."""
    return (obs.oid, obs.source_kind, obs.lang)


def current_readings(observations: Iterable[Observation]) -> list[Observation]:
    """The observations that are the latest reading of their slot."""
    pool = list(observations)
    newest: dict[tuple[int, SourceKind, Lang], datetime] = {}
    for obs in pool:
        slot = reading_slot(obs)
        if slot not in newest or last_seen(obs) > newest[slot]:
            newest[slot] = last_seen(obs)
    return [o for o in pool if last_seen(o) == newest[reading_slot(o)]]


def change_time(obs: Observation) -> datetime:
    """When the upstream state this observation shows came to be, as far as is known."""
    return obs.last_updated_at or obs.observed_at


def ranking(
    observations: Iterable[Observation],
) -> Ranking:
    """The sort key of ``observations``: later upstream time, then the current reading first."""
    current = {id(o) for o in current_readings(observations)}  # of these very objects

    def rank(obs: Observation) -> tuple[datetime, bool, datetime, int, str, str]:
        # the title and text close ties deterministically without hashing the whole record
        return (
            obs.last_updated_at or EPOCH,
            id(obs) in current,
            obs.observed_at,
            SOURCE_PRIORITY[obs.source_kind],
            obs.title,
            obs.message_text,
        )

    return rank
