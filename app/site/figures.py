"""Per system, the figures of its page (strip, months, time to close), from the stored heads.

``SystemFigures`` reads, per system, only the heads of the incidents reaching into the months
shown and the sorted times to close (``app.site.archive.Holdings``), and reuses the figures it
made while nothing they depend on changed. ``token`` says what they depend on without making
them, so a publish that finds the same token renders nothing. The figures themselves are
computed by ``app.site.stats``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple, Protocol

from app.model import CloseStats, Figures, Head, Kind, Status, SystemContents
from app.site.stats import daily_strip, history_start, monthly_stats
from app.upstream.dates import to_local


class FigureSource(Protocol):
    """What the figures read of the store (``app.store.heads``)."""

    def system_contents(self, system: str) -> SystemContents: ...
    def heads_reaching(self, system: str, since: datetime) -> list[Head]: ...
    def close_figures(self, system: str | None = None) -> CloseStats: ...
    def kept_figures(self, system: str, token: str) -> Figures | None: ...


def _moving(contents: SystemContents, now: datetime) -> bool:
    """True while time alone can change the figures: an incident is open, or reaches past now."""
    latest = contents.latest_reach
    return contents.opened > 0 or (latest is not None and latest > now)


def _interval_end(head: Head) -> datetime | None:
    """When a closed incident's disruption ended; None while it is open (it runs up to now)."""
    if head.status is not Status.CLOSED:
        return None
    return head.closed_at or head.updated_at


def next_change(heads: Iterable[Head], now: datetime) -> datetime | None:
    """The first instant from ``now`` on at which time alone changes figures made from
    ``heads``: ``now`` itself while an interval is under way (its hours grow), else the next
    start of a disruption or window to come; None when none will (``app.site.stats`` cuts every
    interval at now and leaves out what has not begun)."""
    moments: list[datetime] = []
    for head in heads:
        starts: list[tuple[datetime, datetime | None]] = []
        if head.kind is Kind.DISRUPTION:
            starts.append((head.published_at, _interval_end(head)))
        window = head.window
        if window is not None and not window.cancelled:
            starts.append((window.start_at, window.end_at or _interval_end(head)))
        for start, end in starts:
            if start > now:
                moments.append(start)
            elif end is None or end > now:
                return now  # under way
    return min(moments, default=None)


class FiguresToken(NamedTuple):
    """What a system's figures at a moment depend on (``SystemFigures.token``)."""

    contents: SystemContents  # its incidents' versions
    day: date  # the local day
    under_way: bool  # an interval is under way: the figures move with every moment
    moment: datetime | None  # the next moment time changes them (``now`` while under way)


class SystemFigures:
    """The figures of each system, made from the stored heads and kept while current: in
    memory, and in the store (what a new process finds there is used while its token holds)."""

    def __init__(self, source: FigureSource, salt: str | None = None) -> None:
        """``salt``: what else the figures depend on (the running code: the render key); the
        figures kept in the store are used only with one (a figure kept by other code is
        made again)."""
        self._source = source
        self._salt = salt
        self._figures: dict[str, tuple[str, Figures]] = {}
        self.made: dict[str, tuple[str, Figures]] = {}  # made here, not stored yet

    def token(self, slug: str, now: datetime, contents: SystemContents) -> FiguresToken:
        """What the figures of ``slug`` at ``now`` depend on: its incidents' versions
        (``contents``), the local day, and the next moment time changes them
        (``next_change``: ``now`` itself while an interval is under way), read from the few
        incidents reaching past ``now``."""
        moment = None
        if _moving(contents, now):
            moment = next_change(self._source.heads_reaching(slug, now), now)
        # "under way at T" and "changes next at T" are different figures at T
        return FiguresToken(contents, to_local(now).date(), moment == now, moment)

    def figures(self, slug: str, now: datetime, contents: SystemContents) -> Figures:
        """The strip, months and time to close of ``slug`` at ``now``: made from the
        incidents reaching into the months shown, unless figures with the same token are kept."""
        said = repr((self._salt, self.token(slug, now, contents)))
        token = hashlib.blake2b(said.encode(), digest_size=12).hexdigest()
        kept = self._figures.get(slug)
        if kept is not None and kept[0] == token:
            return kept[1]
        stored = self._source.kept_figures(slug, token) if self._salt is not None else None
        if stored is not None:
            self._figures[slug] = (token, stored)
            return stored
        recent = self._source.heads_reaching(slug, history_start(now))
        figures = Figures(
            tuple(daily_strip(recent, slug, now)),
            tuple(monthly_stats(recent, slug, now)),
            self._source.close_figures(slug),
        )
        self._figures[slug] = self.made[slug] = (token, figures)
        return figures

    def close_overall(self) -> CloseStats:
        """Time to close over every closed disruption (any system)."""
        return self._source.close_figures(None)
