"""Which detail pages a poll reads. Pure: links and remembered HTTP state in, a plan out.

A detail page is read when it was never read successfully (rank 0), when a list row or RSS
item shows a later last-updated time than the page showed when it was last read (rank 1), or
when it was not read for ``refresh`` (rank 2); lower ranks first, then the longest unread,
at most ``limit`` a poll. The rest is deferred: still due, it comes first in a later poll.
Each message is read once per language, whichever list or feed links it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from app.model import Lang
from app.store.records import HttpState
from app.upstream.result import DetailLink

_NEVER = datetime.min.replace(tzinfo=UTC)


class Rank(IntEnum):
    """Why a detail page is read; the lower, the sooner."""

    NEVER_READ = 0
    CHANGED = 1
    DUE = 2


@dataclass(frozen=True, slots=True)
class DetailPlan:
    """The detail pages to read this poll, in order, and how many were left for later."""

    links: tuple[DetailLink, ...] = ()
    deferred: int = 0


def rank_link(
    link: DetailLink, state: HttpState | None, now: datetime, refresh: timedelta
) -> Rank | None:
    """Why ``link`` should be read now, or None when it need not be."""
    if state is None or not state.parsed:
        return Rank.NEVER_READ
    if link.last_updated_at and (
        state.last_updated_at is None or link.last_updated_at > state.last_updated_at
    ):
        return Rank.CHANGED
    if now - state.checked_at >= refresh:
        return Rank.DUE
    return None


def plan_details(
    links: Iterable[DetailLink],
    http: Mapping[str, HttpState],
    *,
    allowed: Callable[[str], bool],
    now: datetime,
    refresh: timedelta,
    limit: int,
) -> DetailPlan:
    """Choose the detail pages to read: ranked, one per message and language, ``limit`` at most."""
    chosen: dict[tuple[int, Lang], tuple[Rank, datetime, DetailLink]] = {}
    for link in links:
        if not allowed(link.url):
            continue
        state = http.get(link.url)
        rank = rank_link(link, state, now, refresh)
        if rank is None:
            continue
        candidate = (rank, state.checked_at if state else _NEVER, link)
        key = (link.oid, link.lang)
        if key not in chosen or candidate[:2] < chosen[key][:2]:
            chosen[key] = candidate
    ordered = sorted(chosen.values(), key=lambda c: (c[0], c[1], c[2].oid))
    return DetailPlan(
        links=tuple(c[2] for c in ordered[: max(0, limit)]),
        deferred=max(0, len(ordered) - max(0, limit)),
    )
