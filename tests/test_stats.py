"""History as figures: tables over a fixed clock for the strip, the months and time to close.

Times in the tables are Danish local wall-clock times (``at``), as a reader of the status page
sees them; the functions take and give UTC. 2026's clocks change on Sunday 29 March (a 23-hour
day) and Sunday 25 October (a 25-hour day).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from app.catalogue import load_catalogue
from app.model import CloseStats, Incident, Kind, State, Status, Window
from app.render.stats import render_stats_api
from app.site.stats import daily_strip, monthly_stats, time_to_close
from app.upstream.dates import local_to_utc
from tests.conftest import ROOT

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
SLUG = "dms-import"
H = timedelta(hours=1)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """A Danish local time as UTC."""
    return local_to_utc(datetime(year, month, day, hour, minute))


def disruption(
    key: str,
    start: datetime,
    end: datetime | None = None,
    systems: tuple[str, ...] = (SLUG,),
) -> Incident:
    """A disruption published at ``start``, closed at ``end`` (None: still open)."""
    return _incident(key, Kind.DISRUPTION, start, end, None, systems)


def window(
    key: str,
    start: datetime,
    end: datetime | None,
    cancelled: bool = False,
    closed_at: datetime | None = None,
    systems: tuple[str, ...] = (SLUG,),
) -> Incident:
    """A service window's incident, announced a week before it starts."""
    planned = Window(start_at=start, end_at=end, cancelled=cancelled)
    return _incident(key, Kind.SCHEDULED, start - 7 * 24 * H, closed_at, planned, systems)


def _incident(
    key: str,
    kind: Kind,
    published_at: datetime,
    closed_at: datetime | None,
    planned: Window | None,
    systems: tuple[str, ...],
) -> Incident:
    open_status = Status.CURRENT if kind is Kind.DISRUPTION else Status.SCHEDULED
    return Incident(
        key=key,
        refs=(key,),
        oids=(1,),
        oid=1,
        links={},
        title={"en": key},
        message_html={},
        message_text={},
        systems=systems,
        unknown_systems=(),
        status=open_status if closed_at is None else Status.CLOSED,
        kind=kind,
        published_at=published_at,
        updated_at=closed_at or published_at,
        upstream_updated_at=closed_at or published_at,
        window=planned,
        closed_at=closed_at,
    )


DOWN, PLAN, UP = State.DISRUPTED, State.MAINTENANCE, State.OPERATIONAL

# incidents, now, the strip's last days: (day, state, keys), oldest first
STRIP = {
    "open disruption counted up to now": (
        [disruption("A", at(5, 18, 22))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), UP, ()),
            (date(2026, 5, 18), DOWN, ("A",)),
            (date(2026, 5, 19), DOWN, ("A",)),
        ],
    ),
    "closed disruption on one day": (
        [disruption("A", at(5, 18, 10), at(5, 18, 11))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), UP, ()),
            (date(2026, 5, 18), DOWN, ("A",)),
            (date(2026, 5, 19), UP, ()),
        ],
    ),
    "closed at midnight does not touch the next day": (
        [disruption("A", at(5, 17, 20), at(5, 18))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), DOWN, ("A",)),
            (date(2026, 5, 18), UP, ()),
            (date(2026, 5, 19), UP, ()),
        ],
    ),
    "closed the moment it was published": (
        [disruption("A", at(5, 18, 9), at(5, 18, 9))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), UP, ()),
            (date(2026, 5, 18), DOWN, ("A",)),
            (date(2026, 5, 19), UP, ()),
        ],
    ),
    "window over midnight touches both days": (
        [window("W", at(5, 17, 23), at(5, 18, 1), closed_at=at(5, 18, 1))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), PLAN, ("W",)),
            (date(2026, 5, 18), PLAN, ("W",)),
            (date(2026, 5, 19), UP, ()),
        ],
    ),
    "disruption beats window, both keys": (
        [window("W", at(5, 18, 2), at(5, 18, 4)), disruption("A", at(5, 18, 3), at(5, 18, 5))],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), UP, ()),
            (date(2026, 5, 18), DOWN, ("A", "W")),
            (date(2026, 5, 19), UP, ()),
        ],
    ),
    "cancelled window ignored": (
        [window("W", at(5, 18, 2), at(5, 18, 4), cancelled=True)],
        at(5, 19, 10),
        [(date(2026, 5, 17), UP, ()), (date(2026, 5, 18), UP, ()), (date(2026, 5, 19), UP, ())],
    ),
    "window later today not yet": (
        [window("W", at(5, 19, 22), at(5, 19, 23))],
        at(5, 19, 10),
        [(date(2026, 5, 17), UP, ()), (date(2026, 5, 18), UP, ()), (date(2026, 5, 19), UP, ())],
    ),
    "window in progress, without end, counted up to now": (
        [window("W", at(5, 18, 22), None)],
        at(5, 19, 10),
        [
            (date(2026, 5, 17), UP, ()),
            (date(2026, 5, 18), PLAN, ("W",)),
            (date(2026, 5, 19), PLAN, ("W",)),
        ],
    ),
    "other systems ignored": (
        [
            disruption("A", at(5, 18, 10), at(5, 18, 11), systems=("emcs",)),
            window("W", at(5, 17, 2), at(5, 17, 4), systems=("ics2", "tfe")),
        ],
        at(5, 19, 10),
        [(date(2026, 5, 17), UP, ()), (date(2026, 5, 18), UP, ()), (date(2026, 5, 19), UP, ())],
    ),
    "23-hour day: 00:30 after the spring change is the next day": (
        # 22:30 UTC on 29 March is 00:30 on 30 March in summer time (23:30 in winter time)
        [disruption("A", datetime(2026, 3, 29, 22, 30, tzinfo=UTC), at(3, 30, 2))],
        at(3, 31, 10),
        [
            (date(2026, 3, 29), UP, ()),
            (date(2026, 3, 30), DOWN, ("A",)),
            (date(2026, 3, 31), UP, ()),
        ],
    ),
    "25-hour day: 23:30 after the autumn change is the same day": (
        # 22:30 UTC on 25 October is 23:30 the same day in winter time (00:30 in summer time)
        [disruption("A", datetime(2026, 10, 25, 22, 30, tzinfo=UTC), at(10, 25, 23, 45))],
        at(10, 27, 10),
        [
            (date(2026, 10, 25), DOWN, ("A",)),
            (date(2026, 10, 26), UP, ()),
            (date(2026, 10, 27), UP, ()),
        ],
    ),
}


@pytest.mark.parametrize(("incidents", "now", "expected"), STRIP.values(), ids=STRIP.keys())
def test_daily_strip(
    incidents: list[Incident], now: datetime, expected: list[tuple[date, State, tuple[str, ...]]]
) -> None:
    cells = daily_strip(incidents, SLUG, now, days=3)
    assert [(c.day, c.state, c.keys) for c in cells] == expected


def test_daily_strip_is_ninety_days_ending_today() -> None:
    now = at(5, 19, 0, 30)  # 22:30 UTC the day before: the local date is what counts
    cells = daily_strip([], SLUG, now)
    assert len(cells) == 90
    assert (cells[0].day, cells[-1].day) == (date(2026, 2, 19), date(2026, 5, 19))
    assert {c.state for c in cells} == {State.OPERATIONAL}


# incidents, now, months, the months oldest first: (YYYY-MM, disruptions, hours disrupted,
# windows, hours in windows)
MONTHS = {
    "open disruption counted up to now": (
        [disruption("A", at(5, 19, 8))],
        at(5, 19, 10, 30),
        2,
        [("2026-04", 0, 0, 0, 0), ("2026-05", 1, 2.5, 0, 0)],
    ),
    "open across a month boundary counts in both": (
        [disruption("A", at(4, 30, 22))],
        at(5, 1, 2),
        2,
        [("2026-04", 1, 2, 0, 0), ("2026-05", 1, 2, 0, 0)],
    ),
    "open since before the first month": (
        [disruption("A", at(1, 15))],
        at(3, 1, 12),
        2,
        [("2026-02", 1, 28 * 24, 0, 0), ("2026-03", 1, 12, 0, 0)],
    ),
    "closed after now is cut at now": (
        [disruption("A", at(5, 19, 8), at(5, 19, 20))],
        at(5, 19, 10),
        1,
        [("2026-05", 1, 2, 0, 0)],
    ),
    "window over midnight split at the month boundary": (
        [window("W", at(3, 31, 22), at(4, 1, 3), closed_at=at(4, 1, 3))],
        at(4, 2, 12),
        2,
        [("2026-03", 0, 0, 1, 2), ("2026-04", 0, 0, 1, 3)],
    ),
    "window without end lasts until its incident closes": (
        [window("W", at(4, 10, 22), None, closed_at=at(4, 11, 1))],
        at(4, 20),
        1,
        [("2026-04", 0, 0, 1, 3)],
    ),
    "months without incidents, across a year": (
        [],
        at(1, 5, year=2026),
        3,
        [("2025-11", 0, 0, 0, 0), ("2025-12", 0, 0, 0, 0), ("2026-01", 0, 0, 0, 0)],
    ),
    "overlapping disruptions counted once in hours": (
        [disruption("A", at(5, 3, 10), at(5, 3, 12)), disruption("B", at(5, 3, 11), at(5, 3, 13))],
        at(5, 19),
        1,
        [("2026-05", 2, 3, 0, 0)],
    ),
    "nested disruption adds no hours": (
        [disruption("A", at(5, 3, 10), at(5, 3, 14)), disruption("B", at(5, 3, 11), at(5, 3, 12))],
        at(5, 19),
        1,
        [("2026-05", 2, 4, 0, 0)],
    ),
    "overlapping windows counted once in hours": (
        [window("V", at(5, 3, 1), at(5, 3, 3)), window("W", at(5, 3, 2), at(5, 3, 5))],
        at(5, 19),
        1,
        [("2026-05", 0, 0, 2, 4)],
    ),
    "cancelled window ignored": (
        [window("W", at(5, 3, 1), at(5, 3, 3), cancelled=True)],
        at(5, 19),
        1,
        [("2026-05", 0, 0, 0, 0)],
    ),
    "window still to come counts nowhere yet": (
        [window("W", at(5, 25, 1), at(5, 25, 3))],
        at(5, 19),
        1,
        [("2026-05", 0, 0, 0, 0)],
    ),
    "other systems ignored": (
        [
            disruption("A", at(5, 3, 10), at(5, 3, 12), systems=("emcs",)),
            window("W", at(5, 3, 1), at(5, 3, 3), systems=("tfe",)),
        ],
        at(5, 19),
        1,
        [("2026-05", 0, 0, 0, 0)],
    ),
    "the whole 23-hour day of the spring change": (
        [disruption("A", at(3, 29), at(3, 30))],
        at(4, 2),
        2,
        [("2026-03", 1, 23, 0, 0), ("2026-04", 0, 0, 0, 0)],
    ),
    "the whole 25-hour day of the autumn change": (
        [disruption("A", at(10, 25), at(10, 26))],
        at(11, 2),
        2,
        [("2026-10", 1, 25, 0, 0), ("2026-11", 0, 0, 0, 0)],
    ),
    "March is 743 hours long, October 745": (
        [disruption("A", at(3, 1), at(4, 1)), disruption("B", at(10, 1), at(11, 1))],
        at(11, 2),
        9,
        [
            ("2026-03", 1, 743, 0, 0),
            *((f"2026-{m:02d}", 0, 0, 0, 0) for m in range(4, 10)),
            ("2026-10", 1, 745, 0, 0),
            ("2026-11", 0, 0, 0, 0),
        ],
    ),
}


@pytest.mark.parametrize(
    ("incidents", "now", "months", "expected"), MONTHS.values(), ids=MONTHS.keys()
)
def test_monthly_stats(
    incidents: list[Incident],
    now: datetime,
    months: int,
    expected: list[tuple[str, int, float, int, float]],
) -> None:
    found = monthly_stats(incidents, SLUG, now, months)
    got = [
        (m.month.strftime("%Y-%m"), m.disruptions, m.disrupted / H, m.windows, m.in_windows / H)
        for m in found
    ]
    assert got == expected


def test_months_start_at_local_midnight() -> None:
    march, april = monthly_stats([], SLUG, at(4, 2), 2)
    assert (march.start_at, march.end_at) == (
        datetime(2026, 2, 28, 23, tzinfo=UTC),  # winter time: UTC+1
        datetime(2026, 3, 31, 22, tzinfo=UTC),  # summer time: UTC+2
    )
    assert april.start_at == march.end_at


def closed(key: str, hours: float, systems: tuple[str, ...] = (SLUG,)) -> Incident:
    """A disruption closed ``hours`` after it was published."""
    return disruption(key, at(5, 1), at(5, 1) + hours * H, systems)


# incidents, slug, (count, median hours, 90th percentile hours): nearest rank
CLOSE = {
    "none": ([], SLUG, (0, None, None)),
    "one": ([closed("A", 1)], SLUG, (1, 1, 1)),
    "two: the lower is the median": ([closed("A", 2), closed("B", 1)], SLUG, (2, 1, 2)),
    "three, unsorted": ([closed("A", 5), closed("B", 1), closed("C", 3)], SLUG, (3, 3, 5)),
    "ten": ([closed(f"K{n}", n) for n in range(1, 11)], SLUG, (10, 5, 9)),
    "eleven": ([closed(f"K{n}", n) for n in range(1, 12)], SLUG, (11, 6, 10)),
    "twenty: p90 is the 18th": ([closed(f"K{n}", n) for n in range(1, 21)], SLUG, (20, 10, 18)),
    "open disruptions and windows ignored": (
        [
            closed("A", 2),
            disruption("B", at(5, 1)),
            window("W", at(5, 2), at(5, 2, 5), closed_at=at(5, 2, 5)),
        ],
        SLUG,
        (1, 2, 2),
    ),
    "other systems ignored": ([closed("A", 2), closed("B", 9, ("emcs",))], SLUG, (1, 2, 2)),
    "every system when slug is None": (
        [closed("A", 2), closed("B", 9, ("emcs",)), closed("C", 4, ("tfe", SLUG))],
        None,
        (3, 4, 9),
    ),
}


@pytest.mark.parametrize(("incidents", "slug", "expected"), CLOSE.values(), ids=CLOSE.keys())
def test_time_to_close(
    incidents: list[Incident], slug: str | None, expected: tuple[int, float | None, float | None]
) -> None:
    count, median, p90 = expected
    assert time_to_close(incidents, slug) == CloseStats(
        count,
        None if median is None else median * H,
        None if p90 is None else p90 * H,
    )


NOW = at(5, 19, 10)
SAMPLE = [
    disruption("INC1", at(5, 3, 10), at(5, 3, 11, 20)),  # 1 h 20 min: 1.33 hours
    disruption("INC2", at(5, 19, 9), systems=(SLUG, "emcs")),  # open: 1 hour up to now
    window("WO1", at(4, 30, 23), at(5, 1, 2), closed_at=at(5, 1, 2)),
    disruption("INC3", at(4, 1), at(4, 2), systems=("not-in-catalogue",)),
]


def test_stats_api_figures() -> None:
    doc = json.loads(render_stats_api(CATALOGUE, SAMPLE, NOW))
    assert doc["generated_at"] == "2026-05-19T08:00:00+00:00"
    assert list(doc["systems"]) == list(CATALOGUE.slugs)
    months = doc["systems"][SLUG]["months"]
    assert [m["month"] for m in months] == [f"2025-{m:02d}" for m in range(6, 13)] + [
        f"2026-{m:02d}" for m in range(1, 6)
    ]
    assert months[-2] == {
        "month": "2026-04",
        "start": "2026-03-31T22:00:00+00:00",
        "end": "2026-04-30T22:00:00+00:00",
        "disruptions": 0,
        "hours_disrupted": 0.0,
        "windows": 1,
        "hours_in_windows": 1.0,
    }
    assert months[-1] | {"start": None, "end": None} == {
        "month": "2026-05",
        "start": None,
        "end": None,
        "disruptions": 2,
        "hours_disrupted": 2.33,
        "windows": 1,
        "hours_in_windows": 2.0,
    }
    assert doc["systems"][SLUG]["time_to_close"] == {
        "count": 1,
        "median_hours": 1.33,
        "p90_hours": 1.33,
    }
    assert doc["systems"]["emcs"]["months"][-1]["hours_disrupted"] == 1.0
    assert doc["systems"]["tfe"]["time_to_close"] == {
        "count": 0,
        "median_hours": None,
        "p90_hours": None,
    }
    assert doc["time_to_close"]["count"] == 2  # every system, the unknown one too


def test_stats_api_bytes_are_stable() -> None:
    shuffled = SAMPLE[::-1]
    assert render_stats_api(CATALOGUE, SAMPLE, NOW) == render_stats_api(CATALOGUE, shuffled, NOW)


def ten_thousand(seed: int = 9) -> list[Incident]:
    """Disruptions and windows spread over 400 days, naming one to three systems each."""
    chooser = random.Random(seed)
    slugs = CATALOGUE.slugs
    incidents = []
    for n in range(10_000):
        start = NOW - timedelta(minutes=chooser.randrange(400 * 24 * 60))
        systems = tuple(chooser.sample(slugs, chooser.randint(1, 3)))
        if n % 3:
            length = timedelta(minutes=chooser.randrange(12 * 60))
            incidents.append(disruption(f"INC{n}", start, min(start + length, NOW), systems))
        else:
            incidents.append(window(f"WO{n}", start, start + 4 * H, systems=systems))
    return incidents


def test_ten_thousand_incidents_give_the_same_figures_in_any_order() -> None:
    """At scale, the figures depend on the incidents, not on the order they come in (the
    time it takes is a benchmark: bench/stats_bench.py)."""
    incidents = ten_thousand()
    shuffled = incidents[:]
    random.Random(1).shuffle(shuffled)
    assert render_stats_api(CATALOGUE, incidents, NOW) == render_stats_api(CATALOGUE, shuffled, NOW)
    for slug in CATALOGUE.slugs[:4]:
        strip = daily_strip(incidents, slug, NOW)
        assert strip == daily_strip(shuffled, slug, NOW)
        assert len(strip) == 90 and any(day.state is State.DISRUPTED for day in strip)


def test_the_figures_token_moves_whenever_time_changes_the_figures(tmp_path) -> None:
    """A stored system page is rendered again only when its figures' token moves: so two
    moments with the same token must give the same figures, whatever the incidents do."""
    from tests.archives import archive_of

    incidents = [
        disruption("INC1", at(5, 2, 9), at(5, 2, 11)),  # closed before the moments
        disruption("INC2", at(5, 4, 10)),  # opens during them, stays open
        window("WO1", at(5, 3, 22), at(5, 4, 2)),  # starts and ends during them
        window("WO2", at(5, 5, 8), at(5, 5, 9)),  # still to come
        window("WO3", at(5, 3, 23), at(5, 4, 1), cancelled=True),
        window("WO4", at(5, 3, 12), None, closed_at=at(5, 3, 15)),  # no end: until closed
    ]
    archive = archive_of(tmp_path, incidents)
    moments = [at(5, 3, 10) + k * 20 * timedelta(minutes=1) for k in range(6 * 24 * 3)]
    seen: dict[object, object] = {}
    changes = 0
    previous = None
    for now in moments:
        token = archive.figures_token(SLUG, now)
        figures = archive.figures(SLUG, now)
        if token in seen:
            assert seen[token] == figures, now  # the same token, the same figures
        seen[token] = figures
        changes += token != previous
        previous = token
    # quiet stretches share a token (nothing re-rendered), but not every moment does
    assert 10 < changes < len(moments)


def test_figures_kept_in_the_store_serve_a_new_process_while_their_token_holds(tmp_path) -> None:
    """A cron poll is a new process: it reads a system's last months of incidents again only
    when what its figures depend on moved."""
    from app.site.archive import Archive
    from app.store import Batch, Store
    from app.store.figures import figures_to_dict
    from tests.archives import archive_of, put

    incidents = [
        disruption("INC1", at(5, 2, 9), at(5, 2, 11)),
        window("WO1", at(5, 3, 22), at(5, 4, 2), closed_at=at(5, 4, 2)),
    ]
    store = archive_of(tmp_path, incidents).holdings
    assert isinstance(store, Store)
    first = Archive(store, "the running code")  # its render key: figures kept for it
    assert isinstance(store, Store)
    now = at(5, 10, 12)  # every interval has ended: time alone changes nothing today
    made = first.figures(SLUG, now)
    batch = Batch()
    for slug, (token, figures) in first.made_figures().items():
        Store.stage_figures(batch, slug, token, figures)
    store.commit(batch)
    assert first.made_figures() == {}  # handed over once

    read: list[str] = []

    class Counting(Store):
        def heads_reaching(self, system: str, since: datetime) -> list:  # type: ignore[type-arg]
            read.append(system)
            return super().heads_reaching(system, since)

    def cold(code: str = "the running code") -> Archive:  # a new process on the same store
        return Archive(Counting(tmp_path), code)

    assert cold().figures(SLUG, now) == made and read == []  # kept, as made (the JSON form)
    assert cold("an upgrade").figures(SLUG, now) == made and read == [SLUG]  # made again
    read.clear()
    assert cold().figures(SLUG, now + 3 * H) == made and read == []  # the same day
    later = cold().figures(SLUG, now + 24 * H)  # another day: the strip moved
    assert read == [SLUG] and later != made
    read.clear()
    put(store, [disruption("INC2", at(5, 9, 9), at(5, 9, 10))])  # a new incident
    again = cold().figures(SLUG, now)
    assert read == [SLUG] and again.close.count == made.close.count + 1

    # a damaged record under the token that holds is made again, never an error
    fresh = cold()
    fresh.figures(SLUG, now)
    ((token, figures),) = fresh.made_figures().values()
    good = figures_to_dict(figures)
    for damaged in (
        {**good, "close": [1, 10**23, 1]},  # a duration no timedelta holds
        {**good, "months": [[*good["months"][0][:3], float("inf"), *good["months"][0][4:]]]},
        {**good, "strip": []},  # a page shows at least one day
        {**good, "strip": [[good["strip"][0][0], "operational", [["a list"]]]]},
        {**good, "months": [good["months"][0][:5]]},
    ):
        batch = Batch()
        batch.put(f"fig:{SLUG}", {"token": token, "figures": damaged})
        store.commit(batch)
        read.clear()
        assert cold().figures(SLUG, now) == again and read == [SLUG], damaged


def test_time_to_close_read_from_the_index_is_the_nearest_rank_of_every_duration(
    tmp_path,
) -> None:
    from tests.archives import archive_of

    rng = random.Random(7)
    incidents = []
    for n in range(1, 60):
        start = at(4, 1) + n * 7 * H
        systems = (SLUG,) if n % 3 else ("emcs", SLUG)
        closed = start + timedelta(minutes=rng.randrange(0, 3000))
        incidents.append(disruption(f"INC{n}", start, closed if n % 11 else None, systems))
    archive = archive_of(tmp_path, incidents)
    now = at(6, 1)
    assert archive.figures(SLUG, now).close == time_to_close(incidents, SLUG)
    assert archive.figures("emcs", now).close == time_to_close(incidents, "emcs")
    assert archive.close_overall() == time_to_close(incidents, None)
    assert archive.figures("ics2", now).close == CloseStats(0)
