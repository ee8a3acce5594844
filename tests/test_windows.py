"""Service-window times and the fallback state (SPEC.md section 9): tables of real and
plausible wordings with the UTC instants they name, and every bundled sample read."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.catalogue import load_catalogue
from app.model import Fallback, Lang, Observation, Update, Window
from app.upstream.dates import exact_local
from app.upstream.detail import parse_detail_page
from app.upstream.listpage import parse_list_page
from app.upstream.rss import parse_rss
from app.upstream.window_times import planned_times
from app.upstream.windows import derive_fallback, derive_window
from tests.conftest import ROOT, SAMPLES

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
NOW = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (title, first lines, start UTC, end UTC)
READ = [
    # --- English, the forms of SPEC.md section 9 ---
    (
        "PRD-servicewindow DMS Tuesday May 19, 2026",
        ["Tuesday May 19, 2026, 1800-2300"],
        "2026-05-19T16:00",
        "2026-05-19T21:00",
    ),
    ("Tuesday May 19, 2026, 1800-2300", [], "2026-05-19T16:00", "2026-05-19T21:00"),
    # times only in the text, which repeats the title
    (
        "PRD-servicewindow Gateways Wednesday May 20, 2026",
        ["PRD-servicewindow Gateways Wednesday May 20, 2026, 1200-1300"],
        "2026-05-20T10:00",
        "2026-05-20T11:00",
    ),
    ("Wednesday, 18 May, 2022, 1800-2130", [], "2022-05-18T16:00", "2022-05-18T19:30"),
    # a Danish month name on an English page; still winter time on March 25, 2023
    ("Saturday Marts 25, 2023, 1515-2000", [], "2023-03-25T14:15", "2023-03-25T19:00"),
    ("Saturday January 31, 2026, 0800-2359", [], "2026-01-31T07:00", "2026-01-31T22:59"),
    ("Wednesday May 6, 2026, 0001-0400", [], "2026-05-05T22:01", "2026-05-06T02:00"),
    ("Saturday April 5, 2025, 1200-1900", [], "2025-04-05T10:00", "2025-04-05T17:00"),
    # no weekday in the title
    (
        "PRD-servicewindow NemLog-In (MitID) May 6, 2026",
        ["Wednesday May 6, 2026, 0001-0400"],
        "2026-05-05T22:01",
        "2026-05-06T02:00",
    ),
    # times with dots, the date from the title
    (
        "PRD-servicewindow Saturday April 5, 2025",
        ["08.00-20.00"],
        "2025-04-05T06:00",
        "2025-04-05T18:00",
    ),
    # over midnight: the end before the start is the next day
    ("Tuesday May 19, 2026, 2200-0200", [], "2026-05-19T20:00", "2026-05-20T00:00"),
    ("Tuesday May 19, 2026, 1800-2400", [], "2026-05-19T16:00", "2026-05-19T22:00"),
    # over several days, the first date in the title or in the same line
    (
        "PRD-servicewindow Friday June 6, 2025",
        ["2100 – Saturday June 7, 2025, 2200"],
        "2025-06-06T19:00",
        "2025-06-07T20:00",
    ),
    (
        "Friday June 6, 2025, 2100 – Saturday June 7, 2025, 2200",
        [],
        "2025-06-06T19:00",
        "2025-06-07T20:00",
    ),
    # en dash, spaced hyphen, "to", colons, ordinals, "from", the time before the date
    ("Tuesday May 19, 2026, 1800–2300", [], "2026-05-19T16:00", "2026-05-19T21:00"),
    ("Tuesday May 19th, 2026, 1800 - 2300", [], "2026-05-19T16:00", "2026-05-19T21:00"),
    ("Tuesday May 19, 2026 from 18:00 to 23:00", [], "2026-05-19T16:00", "2026-05-19T21:00"),
    ("Service window 1800-2300 Tuesday May 19, 2026", [], "2026-05-19T16:00", "2026-05-19T21:00"),
    # update and reference lines are not the first line of the message
    (
        "PRD-servicewindow DMS Tuesday May 19, 2026",
        [
            "Update 21:46 - The service window has ended and DMS is available again.",
            "19-05-2026 21:46 The service window has been completed.",
            "Tuesday May 19, 2026, 1800-2300",
        ],
        "2026-05-19T16:00",
        "2026-05-19T21:00",
    ),
    # a later line with another date is no second window
    (
        "PRD-servicewindow DMS Saturday April 18, 2026",
        [
            "Saturday April 18, 2026, 0800-1800",
            "DMS Import/DMS Export/DMS Forsendelse",
            "2026-03-25 Danish Customs Agency Newsletter – DMS opdateres lørdag den 18. april 2026",
        ],
        "2026-04-18T06:00",
        "2026-04-18T16:00",
    ),
    # --- Danish ---
    ("lørdag den 26. februar 2022 klokken 1515-2100", [], "2022-02-26T14:15", "2022-02-26T20:00"),
    (
        "fredag 27. september 2024 klokken 2200 – lørdag 28. september 2024 klokken 2200",
        [],
        "2024-09-27T20:00",
        "2024-09-28T20:00",
    ),
    (
        "PRD-servicevindue tirsdag 28. april 2026",
        ["PRD-servicevindue tirsdag 28. april 2026 klokken 1700-2200"],
        "2026-04-28T15:00",
        "2026-04-28T20:00",
    ),
    (
        "PRD-servicevindue NemLog-In (MitID) 6. maj 2026",
        ["onsdag 6. maj 2026 klokken 0001-0400"],
        "2026-05-05T22:01",
        "2026-05-06T02:00",
    ),
    (
        "Servicevindue tirsdag den 19. maj 2026 kl. 18.00 til kl. 23.00",
        [],
        "2026-05-19T16:00",
        "2026-05-19T21:00",
    ),
    (
        "PRD-servicevindue lørdag 16. maj 2026",
        ["kl. 14.00-20.00"],
        "2026-05-16T12:00",
        "2026-05-16T18:00",
    ),
    # --- daylight saving time (last Sunday of March and of October) ---
    ("Sunday March 29, 2026, 0100-0400", [], "2026-03-29T00:00", "2026-03-29T02:00"),
    (
        "Saturday March 28, 2026, 2200 - Sunday March 29, 2026, 0600",
        [],
        "2026-03-28T21:00",
        "2026-03-29T04:00",
    ),
    ("søndag 30. marts 2025 klokken 0000-0600", [], "2025-03-29T23:00", "2025-03-30T04:00"),
    ("Saturday October 24, 2026, 2200-0600", [], "2026-10-24T20:00", "2026-10-25T05:00"),
    (
        "lørdag 25. oktober 2025 klokken 2300 – søndag 26. oktober 2025 klokken 0300",
        [],
        "2025-10-25T21:00",
        "2025-10-26T02:00",
    ),
]


@pytest.mark.parametrize(("title", "lines", "start", "end"), READ)
def test_planned_times(title: str, lines: list[str], start: str, end: str) -> None:
    assert planned_times(title, lines) == (u(start), u(end))


@pytest.mark.parametrize(
    ("title", "lines"),
    [
        # 02:30 never happens on March 29, 2026; 02:00-03:00 happens twice on October 25
        ("Sunday March 29, 2026, 0230-0500", []),
        ("Sunday October 25, 2026, 0200-0400", []),
        ("søndag 25. oktober 2026 klokken 0000-0230", []),
        # two different windows in the first lines
        (
            "PRD-servicewindow DMS Tuesday May 19, 2026",
            ["1800-2300", "Wednesday May 20, 2026, 1800-2300"],
        ),
    ],
)
def test_a_time_that_names_no_single_instant_gives_no_window(title: str, lines: list[str]) -> None:
    assert planned_times(title, lines) is None


def test_times_said_in_utc_are_read_as_utc() -> None:
    found = planned_times("PRD-servicewindow DMS Tuesday May 19, 2026 1800-2300 UTC", [])
    assert found == (u("2026-05-19T18:00"), u("2026-05-19T23:00"))
    found = planned_times("Service window Tuesday May 19, 2026", ["18:00-23:00 (GMT)"])
    assert found == (u("2026-05-19T18:00"), u("2026-05-19T23:00"))


def test_the_same_window_said_twice_in_the_first_lines_is_read() -> None:
    found = planned_times(
        "PRD-servicewindow DMS Tuesday May 19, 2026",
        ["1800-2300", "Tuesday May 19, 2026, 1800-2300", "Next update at 21:00"],
    )
    assert found == (u("2026-05-19T16:00"), u("2026-05-19T21:00"))


EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DA_DAYS = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DA_MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
]


@settings(max_examples=400, deadline=None)
@given(
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.integers(0, 1439),
    st.integers(0, 1439),
    st.booleans(),
)
@example(date(2020, 3, 29), 0, 120, False)  # ends in the spring gap (found by a CI run)
@example(date(2026, 10, 25), 150, 300, True)  # starts in the autumn hour that repeats
@example(date(2026, 10, 25), 0, 240, False)  # over the repeat, both ends exact
def test_any_day_and_times_in_either_language(
    day: date, start_min: int, end_min: int, danish: bool
) -> None:
    (h1, m1), (h2, m2) = divmod(start_min, 60), divmod(end_min, 60)
    if danish:
        month = DA_MONTHS[day.month - 1]
        text = f"{DA_DAYS[day.weekday()]} {day.day}. {month} {day.year} klokken "
    else:
        text = f"{EN_DAYS[day.weekday()]} {EN_MONTHS[day.month - 1]} {day.day}, {day.year}, "
    found = planned_times(f"{text}{h1:02}{m1:02}-{h2:02}{m2:02}", [])
    start = exact_local(day, h1, m1)
    end = exact_local(day + timedelta(days=int(end_min < start_min)), h2, m2)
    if start is None or end is None:  # in the spring gap or the autumn hour that repeats
        assert found is None
        return
    # equal clock times: no window
    assert found == ((start, end) if start_min != end_min and start < end else None)


# (title, first lines): no time rather than a wrong one
REFUSED = [
    ("Tuesday May 19, 2026, 1800-20150", []),  # the typo of SPEC.md section 6
    ("PRD-servicewindow DMS Tuesday May 19, 2026", ["Tuesday May 19, 2026, 1800-20150"]),
    ("Tuesday May 19, 2026, 1800-2360", []),
    ("Tuesday May 19, 2026, 1800-2430", []),
    ("Monday February 30, 2026, 1800-2000", []),  # no such date
    ("mandag 30. februar 2026 klokken 1800-2000", []),
    ("Monday May 19, 2026, 1800-2300", []),  # May 19, 2026 is a Tuesday: one is a typo
    ("onsdag 19. maj 2026 klokken 1800-2300", []),
    ("PRD-servicewindow DMS Monday May 19, 2026", ["1800-2300"]),
    # two different windows
    ("Tuesday May 19, 2026, 1800-2300 and Wednesday May 20, 2026, 1800-2300", []),
    ("Tuesday May 19, 2026, 1800-2300", ["Tuesday May 19, 2026, 1800-2200"]),
    ("PRD-servicewindow DMS Tuesday May 19, 2026", ["Wednesday May 20, 2026, 1800-2300"]),
    # times without a date, or with two dates to choose from
    ("PRD-servicewindow DMS", ["1800-2300"]),
    ("Service windows Tuesday May 19, 2026 and Wednesday May 20, 2026", ["1800-2300"]),
    # a date without a year does not date a window (and must not borrow the title's)
    ("PRD-servicewindow DMS Tuesday May 19, 2026", ["Wednesday May 20 1800-2300"]),
    # a window over days needs an earlier start date than the end's
    ("PRD-servicewindow", ["2100 – Saturday June 7, 2025, 2200"]),
    ("PRD-servicewindow Saturday June 7, 2025", ["2100 – Saturday June 7, 2025, 2200"]),
    ("Tuesday May 19, 2026, 1800-1800", []),  # no length, or a whole day?
    # a date but no times, a time but no range
    ("PRD-servicewindow DMS Tuesday May 19, 2026", ["DMS Import/DMS Export/DMS Forsendelse"]),
    ("PRD-servicewindow DMS Tuesday May 19, 2026", ["The window starts at 1800."]),
    # the times are not among the first lines
    (
        "PRD-servicewindow DMS Tuesday May 19, 2026",
        ["DMS Import", "File access:", "Online access:", "Tuesday May 19, 2026, 1800-2300"],
    ),
    # a disruption
    (
        "Login / MitID issues",
        ["There are reports regarding login using MitID", "Update: Marked as resolved 13:56"],
    ),
    ("", []),
]


@pytest.mark.parametrize(("title", "lines"), REFUSED)
def test_planned_times_refuses(title: str, lines: list[str]) -> None:
    assert planned_times(title, lines) is None


# --- derive_window -----------------------------------------------------------------------------

TITLE = "PRD-servicewindow DMS Tuesday May 19, 2026"
PLAN = (u("2026-05-12T12:28"), TITLE, ["Tuesday May 19, 2026, 1800-2300", "DMS Import"])
START, END = u("2026-05-19T16:00"), u("2026-05-19T21:00")


def upd(text: str, at: str | None, lang: Lang = Lang.EN) -> Update:
    return Update(text=text, lang=lang, at=u(at) if at else None)


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        ([], Window(START, END)),
        # extended: the clock time on the end's day
        (
            [
                upd("Delayed.", "2026-05-19T20:55"),
                upd("The service window is extended to 2359.", "2026-05-19T20:56"),
            ],
            Window(START, u("2026-05-19T21:59"), sequence=1),
        ),
        (
            [
                upd(
                    "Opdatering 22:50 - Servicevinduet er forlænget til kl. 23.30",
                    "2026-05-19T20:50",
                    Lang.DA,
                )
            ],
            Window(START, u("2026-05-19T21:30"), sequence=1),
        ),
        # ... and the next day when that is before the start
        (
            [upd("Update 22:50 - The service window is extended to 0100.", "2026-05-19T20:50")],
            Window(START, u("2026-05-19T23:00"), sequence=1),
        ),
        (
            [
                upd(
                    "Update 22:50 - The service window is extended by 30 minutes.",
                    "2026-05-19T20:50",
                )
            ],
            Window(START, u("2026-05-19T21:30"), sequence=1),
        ),
        (
            [upd("The service window is extended by 1 hour and 30 minutes.", "2026-05-19T20:50")],
            Window(START, u("2026-05-19T22:30"), sequence=1),
        ),
        # digits of another script (full-width, as pasted from some editors) count the same
        (
            [upd("The service window is extended by \uff13\uff10 minutes.", "2026-05-19T20:50")],
            Window(START, u("2026-05-19T21:30"), sequence=1),
        ),
        (
            [
                upd(
                    "Servicevinduet er forlænget med 1 time og 15 minutter.",
                    "2026-05-19T20:50",
                    Lang.DA,
                )
            ],
            Window(START, u("2026-05-19T22:15"), sequence=1),
        ),
        # extended to a time on a day it names
        (
            [
                upd(
                    "The service window is extended to 2000 on Wednesday May 20, 2026.",
                    "2026-05-19T20:50",
                )
            ],
            Window(START, u("2026-05-20T18:00"), sequence=1),
        ),
        # the start postponed (the sample's wording, both languages)
        (
            [
                upd(
                    "Update 18:12 - The start of the service window is postponed to 18:30. The expected "
                    "end time is unchanged.",
                    "2026-05-19T16:12",
                )
            ],
            Window(u("2026-05-19T16:30"), END, sequence=1),
        ),
        (
            [
                upd(
                    "Opdatering 18:12 - Servicevinduet starter først kl. 18:30. Det forventede "
                    "sluttidspunkt er uændret.",
                    "2026-05-19T16:12",
                    Lang.DA,
                )
            ],
            Window(u("2026-05-19T16:30"), END, sequence=1),
        ),
        # postponed and extended: two moves
        (
            [
                upd("Update 18:12 - The start is postponed to 18:30.", "2026-05-19T16:12"),
                upd("Update 22:40 - The service window is extended to 2330.", "2026-05-19T20:40"),
            ],
            Window(u("2026-05-19T16:30"), u("2026-05-19T21:30"), sequence=2),
        ),
        # moved to another day by a line naming the whole window
        (
            [
                upd(
                    "Update: The service window is postponed to Tuesday May 26, 2026, 1800-2300.",
                    "2026-05-18T08:00",
                )
            ],
            Window(u("2026-05-26T16:00"), u("2026-05-26T21:00"), sequence=1),
        ),
        # cancelled
        (
            [upd("Update: The service window is cancelled.", "2026-05-18T08:00")],
            Window(START, END, cancelled=True),
        ),
        (
            [upd("Opdatering: Servicevinduet er aflyst.", "2026-05-18T08:00", Lang.DA)],
            Window(START, END, cancelled=True),
        ),
        ([upd("Servicevinduet er annulleret", None, Lang.DA)], Window(START, END, cancelled=True)),
        ([upd("The service window is not cancelled.", "2026-05-18T08:00")], Window(START, END)),
        # completion lines are no new windows and change nothing, a date-time line included
        (
            [
                upd("19-05-2026 21:46 The service window has been completed", "2026-05-19T19:46"),
                upd("Update: Marked as performed 21:50", "2026-05-19T19:50"),
                upd(
                    "Update 21:46 - The service window has ended and DMS is available again.",
                    "2026-05-19T19:46",
                ),
                upd(
                    "Opdatering 21:46 - Servicevinduet er afsluttet kl. 21:46",
                    "2026-05-19T19:46",
                    Lang.DA,
                ),
            ],
            Window(START, END),
        ),
        # "from ... to ...": the second time is the new one
        (
            [upd("Update: The start is postponed from 18:00 to 18:30.", "2026-05-19T15:50")],
            Window(u("2026-05-19T16:30"), END, sequence=1),
        ),
        (
            [upd("The service window is extended from 23:00 to 23:59.", "2026-05-19T20:50")],
            Window(START, u("2026-05-19T21:59"), sequence=1),
        ),
        # an end with its own date
        (
            [upd("Extended to Wednesday May 20, 2026, 0200.", "2026-05-19T20:50")],
            Window(START, u("2026-05-20T00:00"), sequence=1),
        ),
        # cancelled here, but moved: the new window is on
        (
            [
                upd(
                    "Update: cancelled and moved to Tuesday May 26, 2026, 1800-2300.",
                    "2026-05-18T08:00",
                )
            ],
            Window(u("2026-05-26T16:00"), u("2026-05-26T21:00"), sequence=1),
        ),
        # a line that names no new time moves nothing
        (
            [
                upd("The service window is extended.", "2026-05-19T20:50"),
                upd("The window is extended. Next update at 21:00.", "2026-05-19T20:51"),
            ],
            Window(START, END),
        ),
    ],
)
def test_derive_window(updates: list[Update], expected: Window) -> None:
    assert derive_window([PLAN], updates) == expected


def test_updates_in_any_order_give_one_window() -> None:
    updates = [
        upd("Update 18:12 - The start is postponed to 18:30.", "2026-05-19T16:12"),
        upd("Update 22:40 - The service window is extended to 2330.", "2026-05-19T20:40"),
        upd("Update 23:20 - The service window is extended to 2345.", "2026-05-19T21:20"),
        upd("The service window has been completed", "2026-05-19T21:45"),
    ]
    results = {derive_window([PLAN], list(p)) for p in itertools.permutations(updates)}
    assert results == {Window(u("2026-05-19T16:30"), u("2026-05-19T21:45"), sequence=3)}


def test_a_new_version_reschedules_and_counts() -> None:
    moved = (
        u("2026-05-14T09:00"),
        "PRD-servicewindow DMS Tuesday May 26, 2026",
        ["Tuesday May 26, 2026, 1800-2300"],
    )
    assert derive_window([PLAN, moved], []) == Window(
        u("2026-05-26T16:00"), u("2026-05-26T21:00"), sequence=1
    )
    # an extension after the reschedule moves the new window
    extended = [upd("The service window is extended to 2330.", "2026-05-26T20:50")]
    assert derive_window([PLAN, moved], extended) == Window(
        u("2026-05-26T16:00"), u("2026-05-26T21:30"), sequence=2
    )
    # a cancelled window that gets new times is on again
    cancelled = [upd("The service window is cancelled.", "2026-05-13T09:00")]
    assert derive_window([PLAN, moved], cancelled) == Window(
        u("2026-05-26T16:00"), u("2026-05-26T21:00"), sequence=1
    )
    # ... but not one whose new title cancels it
    off = (
        u("2026-05-15T09:00"),
        "AFLYST: PRD-servicevindue DMS tirsdag 26. maj 2026",
        ["tirsdag 26. maj 2026 klokken 1800-2300"],
    )
    assert derive_window([PLAN, moved, off], []) == Window(
        u("2026-05-26T16:00"), u("2026-05-26T21:00"), cancelled=True, sequence=1
    )


def test_an_unchanged_later_version_does_not_undo_an_extension() -> None:
    extension = upd("Update 22:40 - The service window is extended to 2330.", "2026-05-19T20:40")
    later = (u("2026-05-19T20:41"), TITLE, [extension.text, *PLAN[2]])
    assert derive_window([PLAN, later], [extension]) == Window(
        START, u("2026-05-19T21:30"), sequence=1
    )


def test_updates_older_than_the_only_version_still_apply() -> None:
    # the caller may pass the latest version only; its lines were said before it
    latest = (u("2026-05-19T19:50"), TITLE, PLAN[2])
    early = [upd("Update 18:12 - The start is postponed to 18:30.", "2026-05-19T16:12")]
    assert derive_window([latest], early) == Window(u("2026-05-19T16:30"), END, sequence=1)


def test_a_window_named_only_by_a_later_line() -> None:
    versions = [(u("2026-05-12T12:28"), "PRD-servicewindow DMS", ["DMS Import"])]
    moved = [upd("Update: The window is moved to Tuesday May 26, 2026, 1800-2300.", None)]
    assert derive_window(versions, moved) == Window(u("2026-05-26T16:00"), u("2026-05-26T21:00"))


def test_no_window_without_planned_times() -> None:
    versions = [(u("2026-04-01T12:37"), "Responsetimes DMS", ["Intermittent delays."])]
    assert derive_window(versions, [upd("Update 11:50 - resolved", "2026-04-03T09:50")]) is None
    assert derive_window([], []) is None


# --- derive_fallback ---------------------------------------------------------------------------

ALLOW_EN = "The use of fallback procedures is allowed, if necessary."
WITHDRAW_EN = (
    "Update 11:50 - the intermittent delays should be resolved, fallback procedure is no "
    "longer allowed."
)
RESTRICT_EN = (
    "You may only use the emergency procedure during the service window if absolutely "
    "necessary. For example, in the case of perishable goods. You must contact the relevant "
    "customs office if you need to use the emergency procedure."
)
T1, T2 = u("2026-04-01T12:37"), u("2026-04-03T09:50")


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([(T1, ALLOW_EN)], Fallback(True, T1)),
        ([(T1, ALLOW_EN), (T2, WITHDRAW_EN)], Fallback(False, T2)),
        ([(T2, WITHDRAW_EN), (T1, ALLOW_EN)], Fallback(False, T2)),  # the latest, not the last
        ([(T1, RESTRICT_EN)], Fallback(False, T1, restricted=True)),  # no permission
        ([(T1, "The fallback procedure is not allowed.")], Fallback(False, T1)),
        # a permission for some goods or cases only is a restriction, not a permission
        (
            [(T1, "The fallback procedure is only allowed for perishable goods.")],
            Fallback(False, T1, restricted=True),
        ),
        (
            [(T1, "Fallback is allowed only for live animals and perishable goods.")],
            Fallback(False, T1, restricted=True),
        ),
        (
            [(T1, "The emergency procedure may only be used for perishable goods.")],
            Fallback(False, T1, restricted=True),
        ),
        (
            [(T1, "Nødproceduren er kun tilladt for letfordærvelige varer.")],
            Fallback(False, T1, restricted=True),
        ),
        (
            [(T1, "Nødproceduren anvendes kun ved letfordærvelige varer.")],
            Fallback(False, T1, restricted=True),
        ),
        ([(T1, "Fallback procedures may be used until further notice.")], Fallback(True, T1)),
        # Danish
        ([(T1, "Nødproceduren må anvendes.")], Fallback(True, T1)),
        ([(T1, "Fallbackproceduren er tilladt.")], Fallback(True, T1)),
        (
            [(T1, "Det er tilladt at bruge nødprocedurerne, hvis det er nødvendigt.")],
            Fallback(True, T1),
        ),
        (
            [
                (
                    T1,
                    "Opdatering 11:50 - de periodevise forsinkelser forventes at være løst, og "
                    "nødprocedurerne må ikke længere bruges.",
                )
            ],
            Fallback(False, T1),
        ),
        (
            [
                (
                    T1,
                    "Nødproceduren må kun anvendes under servicevinduet, hvis det er absolut "
                    "nødvendigt.",
                )
            ],
            Fallback(False, T1, restricted=True),
        ),
        (
            [
                (
                    T1,
                    "Nødproceduren må kun bruges under servicevinduet, hvis det er strengt "
                    "nødvendigt, fx ved letfordærvelige varer.",
                )
            ],
            Fallback(False, T1, restricted=True),
        ),
        ([(T1, "Nødproceduren må ikke anvendes.")], Fallback(False, T1)),
        ([(T1, "Fallbackproceduren er ikke længere tilladt.")], Fallback(False, T1)),
        # the latest statement wins; text without a time is the oldest
        ([(T1, WITHDRAW_EN), (T2, "Fallback procedures are allowed again.")], Fallback(True, T2)),
        ([(T1, WITHDRAW_EN), (None, ALLOW_EN)], Fallback(False, T1)),
        ([(None, ALLOW_EN)], Fallback(True, None)),
        # a permission repeated in a later version was given when first said
        ([(T1, ALLOW_EN), (T2, ALLOW_EN)], Fallback(True, T1)),
        # at one instant, "not allowed" is the safer reading
        ([(T1, ALLOW_EN), (T1, WITHDRAW_EN)], Fallback(False, T1)),
        ([(T1, WITHDRAW_EN), (T1, ALLOW_EN)], Fallback(False, T1)),
        # nothing said about it, or no verdict
        ([(T1, "DMS is unavailable."), (T2, "Update: Marked as resolved 13:56")], None),
        ([(T1, "You must contact the customs office to use the emergency procedure.")], None),
        ([(T1, "Declarations are allowed again.")], None),
        ([], None),
    ],
)
def test_derive_fallback(
    statements: list[tuple[datetime | None, str]], expected: Fallback | None
) -> None:
    assert derive_fallback(statements) == expected


# --- every bundled sample ----------------------------------------------------------------------

# the scheduled messages of the samples, read by eye: oid -> (start, end) in UTC
SAMPLE_WINDOWS = {
    2461022: ("2026-04-18T06:00", "2026-04-18T16:00"),  # Saturday April 18, 2026, 0800-1800
    2461088: ("2026-04-28T15:00", "2026-04-28T20:00"),  # ... 1700-2200, in the title line
    2461117: ("2026-05-05T22:01", "2026-05-06T02:00"),  # Wednesday May 6, 2026, 0001-0400
    2461140: ("2026-05-12T06:00", "2026-05-12T08:30"),  # Tuesday May 12, 2026, 0800-1030
    2461141: ("2026-05-13T07:00", "2026-05-13T10:00"),  # onsdag 13. maj 2026 klokken 0900-1200
    2461163: ("2026-05-16T12:00", "2026-05-16T18:00"),  # lørdag 16. maj 2026 klokken 1400-2000
    2461170: ("2026-05-19T16:00", "2026-05-19T21:00"),  # Tuesday May 19, 2026, 1800-2300
    2461178: ("2026-05-20T10:00", "2026-05-20T11:00"),  # Gateways ... 1200-1300
    2461205: ("2026-05-30T06:00", "2026-05-30T16:00"),  # Saturday May 30, 2026, 0800-1800
}


@functools.cache
def sample_observations() -> list[tuple[str, Observation]]:
    """(sample file, observation) of every sample, parsed on first use."""
    found: list[tuple[str, Observation]] = []
    for path in sorted(SAMPLES.glob("**/*.html")) + sorted(SAMPLES.glob("**/*.xml")):
        lang = Lang.DA if ".da." in path.name else Lang.EN
        query = "" if lang == Lang.DA else "&lang=us"
        if path.parent.name == "detail":
            oid, parse = path.name.split(".")[0], parse_detail_page
            url = f"https://info.skat.dk/data.aspx?oid={oid}{query}"
        elif path.suffix == ".xml":
            url, parse = "https://rss.skat.dk/rss.aspx?oid=2367397", parse_rss
        else:
            url = f"https://info.skat.dk/data.aspx?oid=2367397{query}"
            parse = parse_list_page
        result = parse(
            path.read_bytes(), {}, url=url, lang=lang, catalogue=CATALOGUE, observed_at=NOW
        )
        found += [(str(path.relative_to(SAMPLES)), o) for o in result.observations]
    return found


def test_every_sample_is_read_and_the_scheduled_ones_give_their_times() -> None:
    assert len(sample_observations()) > 50
    checked = 0
    for name, obs in sample_observations():
        found = planned_times(obs.title, obs.message_text.split("\n"))
        if obs.oid in SAMPLE_WINDOWS and obs.message_text:
            start, end = SAMPLE_WINDOWS[obs.oid]
            assert found == (u(start), u(end)), (name, obs.oid)
            checked += 1
        else:
            # disruptions, and summary rows whose title names a day but no times
            assert found is None, (name, obs.oid, obs.title)
    assert checked > 25


@pytest.mark.parametrize("file", ["2461170.en.v3.html", "2461170.da.v3.html"])
def test_the_postponed_sample_window(file: str) -> None:
    obs = next(o for name, o in sample_observations() if Path(name).name == file)
    versions = [(v.at, obs.title, v.text.split("\n")) for v in obs.versions]
    assert obs.last_updated_at is not None
    versions.append((obs.last_updated_at, obs.title, obs.message_text.split("\n")))
    assert derive_window(versions, obs.updates) == Window(
        u("2026-05-19T16:30"), u("2026-05-19T21:00"), sequence=1
    )


@pytest.mark.parametrize("file", ["2460960.en.v2.html", "2460960.da.v2.html"])
def test_the_withdrawn_fallback_sample(file: str) -> None:
    obs = next(o for name, o in sample_observations() if Path(name).name == file)
    updates = {x.text for x in obs.updates}
    body = [(None, line) for line in obs.message_text.split("\n") if line not in updates]
    timeline = [(x.sort_at, x.text) for x in obs.updates]
    assert derive_fallback(body + timeline) == Fallback(False, u("2026-04-03T09:50"))


def test_a_date_that_ends_a_sentence_keeps_its_year() -> None:
    found = planned_times("Service window", ["On Tuesday May 19, 2026.", "From 1800-2300"])
    assert found == (u("2026-05-19T16:00"), u("2026-05-19T21:00"))


def test_a_window_in_utc_is_extended_in_utc() -> None:
    plan = (u("2026-05-12T12:28"), "PRD-servicewindow DMS Tuesday May 19, 2026 1800-2300 UTC", [])
    extended = upd("The service window is extended to 2359 UTC.", "2026-05-19T22:50")
    window = derive_window([plan], [extended])
    assert window == Window(u("2026-05-19T18:00"), u("2026-05-19T23:59"), sequence=1)


def test_utc_named_only_after_the_window_does_not_change_its_time() -> None:
    found = planned_times(
        "Service window Tuesday May 19, 2026",
        ["18:00-23:00 local time", "The status page shows its times in UTC."],
    )
    assert found == (u("2026-05-19T16:00"), u("2026-05-19T21:00"))


@pytest.mark.parametrize(
    ("title", "lines", "update", "end"),
    [
        # a window said in UTC: an end without a zone is UTC too
        (
            "Service window Tuesday May 19, 2026 1800-2300 UTC",
            [],
            "extended to 2359.",
            "2026-05-19T23:59",
        ),
        # the zone right after the time decides, not a UTC further on
        (
            TITLE,
            ["Tuesday May 19, 2026, 1800-2300"],
            "extended to 2359 CEST (2159 UTC).",
            "2026-05-19T21:59",
        ),
        (TITLE, ["Tuesday May 19, 2026, 1800-2300"], "extended to 2359 UTC.", "2026-05-19T23:59"),
    ],
)
def test_the_zone_of_an_extension(title: str, lines: list[str], update: str, end: str) -> None:
    plan = (u("2026-05-12T12:28"), title, lines)
    window = derive_window([plan], [upd(f"The service window is {update}", "2026-05-19T20:50")])
    assert window is not None and window.end_at == u(end)


def test_a_window_rescheduled_in_utc() -> None:
    moved = upd(
        "The service window is rescheduled to Wednesday May 20, 2026 1800-2300 UTC.",
        "2026-05-18T08:00",
    )
    assert derive_window([PLAN], [moved]) == Window(
        u("2026-05-20T18:00"), u("2026-05-20T23:00"), sequence=1
    )


_DATE_WORDS = [
    "monday", "tirsdag", "may", "maj", "den", "the", "of", "2026", "19", "3.", "1st", "٣",
    ",", " ", "-", "kl.", "x", "\u00a0", "december", "dec.", "søndag", "juni", "on",
    "april", "aug", "fredag", "lørdag", "november", "onsdag", "oktober", "wednesday", "feb",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@example(words=["den", "٣", "maj", "2026"])  # a day in another script's digits
@example(words=["tirsdag", "den", "19", "maj"])
@example(words=["april", "19", "2026"])
@example(words=["fredag", "19", "november", "2026"])
@example(words=["lørdag", "19", "august", "2026"])
@example(words=["wednesday", "19", "oktober"])
@example(words=["onsdag", "den", "19", "feb", "2026"])
@given(words=st.lists(st.sampled_from(_DATE_WORDS), max_size=14))
def test_a_date_is_looked_for_only_where_one_can_begin(words: list[str]) -> None:
    """``date_at`` tries its patterns only at a weekday's or month's first letter, a "den" or
    a digit: at every position of every text it finds what the patterns alone find."""
    from app.upstream import clock_tokens

    def patterns_alone(text: str, pos: int) -> tuple[int, int] | None:
        found = [
            m for r in (clock_tokens._DATE_MD, clock_tokens._DATE_DM) if (m := r.match(text, pos))
        ]
        found = [m for m in found if m.re is clock_tokens._DATE_MD or m["y"] or m["wd"]]
        best = max(found, key=lambda m: m.end(), default=None)
        return best.span() if best else None

    text = " ".join(words)
    for pos in range(len(text) + 1):
        match = clock_tokens.date_at(text, pos)
        assert (match.span() if match else None) == patterns_alone(text, pos)
