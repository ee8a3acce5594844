"""The figures of each system's page as last made, with the digest of what they were made from.

A new process (a cron poll, a fresh web worker) that finds the same digest uses them instead
of reading the system's last twelve months of incidents again (``app.site.figures``).

Keys (each spelled here only):

    fig:<system>    {"token": digest, "figures": the strip, months and time to close}
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from app.errors import StoreDamagedError
from app.model import CloseStats, DayCell, Figures, MonthStats, State
from app.store.codec import decode_required_time, encode_time
from app.store.core import Batch, StoreCore

_FIGURES = "fig:"


def _us(value: timedelta | None) -> int | None:
    return None if value is None else value // timedelta(microseconds=1)


def _delta(value: Any) -> timedelta | None:
    return None if value is None else timedelta(microseconds=int(value))


def figures_to_dict(figures: Figures) -> dict[str, Any]:
    """The JSON form of one system's figures."""
    return {
        "strip": [[c.day.isoformat(), c.state.value, list(c.keys)] for c in figures.strip],
        "months": [
            [
                m.month.isoformat(),
                encode_time(m.start_at),
                encode_time(m.end_at),
                m.disruptions,
                _us(m.disrupted),
                m.windows,
                _us(m.in_windows),
            ]
            for m in figures.months
        ],
        "close": [figures.close.count, _us(figures.close.median), _us(figures.close.p90)],
    }


_STATES = {state.value: state for state in State}


@functools.lru_cache(maxsize=512)  # every system's strip shows the same 90 days
def _day(text: str) -> date:
    return date.fromisoformat(text)


# Decoded once per process: most days of most systems' strips are alike (operational, no
# incident), and a past month's row does not change. The records are immutable, so one
# instance serves every strip and every poll (a new process reads every system's figures
# for /api/stats.json: 28 strips of 90 days).
@functools.lru_cache(maxsize=8192)
def _cell(day: str, state: str, keys: tuple[str, ...]) -> DayCell:
    return DayCell(_day(day), _STATES[state], keys)


@functools.lru_cache(maxsize=2048)
def _month(row: tuple[Any, ...]) -> MonthStats:
    month, start, end, disruptions, disrupted, windows, in_windows = row
    return MonthStats(
        date.fromisoformat(month),
        decode_required_time(start),
        decode_required_time(end),
        int(disruptions),
        _delta(disrupted) or timedelta(0),
        int(windows),
        _delta(in_windows) or timedelta(0),
    )


def figures_from_dict(d: dict[str, Any]) -> Figures:
    """Inverse of ``figures_to_dict``."""
    count, median, p90 = d["close"]
    return Figures(
        tuple(_cell(day, state, tuple(keys)) for day, state, keys in d["strip"]),
        tuple(_month(tuple(row)) for row in d["months"]),
        CloseStats(int(count), _delta(median), _delta(p90)),
    )


class FiguresMixin(StoreCore):
    """Each system's figures as last made."""

    def kept_figures(self, system: str, token: str) -> Figures | None:
        """The figures of ``system`` kept with the digest ``token`` of what they were made
        from; None when others are kept (not decoded then), none, or the record cannot be read
        (they are made again: nothing is lost)."""
        try:
            data = self.get(f"{_FIGURES}{system}")
            if not data or data["token"] != token:
                return None
            figures = figures_from_dict(data["figures"])
            return figures if figures.strip else None  # a page shows at least one day
        except (KeyError, TypeError, ValueError, OverflowError, StoreDamagedError):
            return None

    @staticmethod
    def stage_figures(batch: Batch, system: str, token: str, figures: Figures) -> None:
        """Queue ``system``'s figures and the digest of what they were made from."""
        batch.put(f"{_FIGURES}{system}", {"token": token, "figures": figures_to_dict(figures)})
