"""The /api/stats.json body: per system and month the figures of ``app.site.stats``. Pure.

Times are RFC 3339 in UTC, as in /api/systems.json; durations are hours as numbers rounded to
two decimals. Systems come in catalogue order and months oldest first, so identical input gives
identical bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from app import jsonio
from app.catalogue import Catalogue
from app.model import CloseStats, Figures, Incident, Lang, MonthStats
from app.site.stats import monthly_stats, time_to_close


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _close(stats: CloseStats) -> dict[str, object]:
    return {
        "count": stats.count,
        "median_hours": _hours(stats.median),
        "p90_hours": _hours(stats.p90),
    }


@lru_cache(maxsize=1024)  # every poll asks again for the same past months
def _month(stats: MonthStats) -> dict[str, object]:
    return {
        "month": stats.month.strftime("%Y-%m"),
        "start": _rfc3339(stats.start_at),
        "end": _rfc3339(stats.end_at),
        "disruptions": stats.disruptions,
        "hours_disrupted": _hours(stats.disrupted),
        "windows": stats.windows,
        "hours_in_windows": _hours(stats.in_windows),
    }


def shown_stats(figures: Figures) -> tuple[object, ...]:
    """A system's figures as the document shows them: each month's counts and hours to two
    decimals, the time to close. While an interval is under way the figures move with every
    moment, what the document shows every 36 seconds: its digest holds this."""
    return (tuple(_month(m).items() for m in figures.months), tuple(_close(figures.close).items()))


def render_stats_api(
    catalogue: Catalogue,
    incidents: Iterable[Incident],
    now: datetime,
    months: int = 12,
    lang: Lang = Lang.EN,
) -> bytes:
    """The /api/stats.json body: every catalogue system's name (in ``lang``), months and time
    to close."""
    everything = list(incidents)
    named: dict[str, list[Incident]] = {slug: [] for slug in catalogue.slugs}
    for incident in everything:
        for slug in dict.fromkeys(incident.systems):  # a system named twice counts once
            if slug in named:
                named[slug].append(incident)
    figures = {
        slug: (monthly_stats(found, slug, now, months), time_to_close(found, slug))
        for slug, found in named.items()
    }
    return render_stats_figures(figures, time_to_close(everything, None), now, catalogue, lang)


def render_stats_figures(
    figures: Mapping[str, tuple[Sequence[MonthStats], CloseStats]],
    overall: CloseStats,
    now: datetime,
    catalogue: Catalogue,
    lang: Lang,
) -> bytes:
    """The /api/stats.json body from figures already worked out (slug → months, time to close).

    ``figures`` in catalogue order; ``overall`` is time to close over every system.
    """
    systems = {
        slug: {
            "name": system.name_in(lang) if (system := catalogue.get(slug)) else slug,
            "months": [_month(m) for m in months],
            "time_to_close": _close(close),
        }
        for slug, (months, close) in figures.items()
    }
    doc = {"generated_at": _rfc3339(now), "time_to_close": _close(overall), "systems": systems}
    return jsonio.dumps(doc)
