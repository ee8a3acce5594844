"""Each system's state at "now": the rules as a table over a fixed clock, and /api/systems.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.catalogue import load_catalogue
from app.model import Fallback, Incident, Kind, Lang, State, Status, Window
from app.render.status import describe_state, render_systems_api
from app.site.system_state import NextWindow, SystemState, overall_state, system_states
from tests.conftest import ROOT

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
NOW = datetime(2026, 5, 19, 17, 0, tzinfo=UTC)  # 19:00 Danish summer time
H = timedelta(hours=1)


def incident(
    key: str,
    *,
    kind: Kind = Kind.SCHEDULED,
    status: Status = Status.SCHEDULED,
    window: Window | None = None,
    fallback: Fallback | None = None,
    systems: tuple[str, ...] = ("dms-import",),
) -> Incident:
    """An incident record as the merge would give it, with only what the state rules read."""
    return Incident(
        key=key,
        refs=(key,),
        oids=(1,),
        oid=1,
        links={"en": "https://info.skat.dk/data.aspx?oid=1"},
        title={"en": key},
        message_html={},
        message_text={},
        systems=systems,
        unknown_systems=(),
        status=status,
        kind=kind,
        published_at=NOW - 48 * H,
        updated_at=NOW - 24 * H,
        upstream_updated_at=NOW - 24 * H,
        window=window,
        fallback=fallback,
        closed_at=NOW - H if status is Status.CLOSED else None,
    )


def window(start: int, end: int | None, **kw: bool | int) -> Window:
    """A window from ``start`` to ``end`` hours relative to NOW (None: end unknown)."""
    return Window(
        start_at=NOW + start * H,
        end_at=None if end is None else NOW + end * H,
        cancelled=bool(kw.get("cancelled", False)),
        sequence=int(kw.get("sequence", 0)),
    )


DISRUPTION = {"kind": Kind.DISRUPTION, "status": Status.CURRENT}
CLOSED = {"status": Status.CLOSED}

# (case, incidents, expected state, until (hours from NOW), next window key, fallback, open keys)
CASES = [
    ("nothing", [], State.OPERATIONAL, None, None, False, ()),
    (
        "window before",
        [incident("WO1", window=window(2, 5))],
        State.OPERATIONAL,
        None,
        "WO1",
        False,
        ("WO1",),
    ),
    (
        "window during",
        [incident("WO1", window=window(-1, 4))],
        State.MAINTENANCE,
        4,
        None,
        False,
        ("WO1",),
    ),
    (
        "window starts now",
        [incident("WO1", window=window(0, 4))],
        State.MAINTENANCE,
        4,
        None,
        False,
        ("WO1",),
    ),
    (
        "window ends now",
        [incident("WO1", window=window(-3, 0))],
        State.OPERATIONAL,
        None,
        None,
        False,
        ("WO1",),
    ),
    (
        "window after, not yet closed",
        [incident("WO1", window=window(-5, -2))],
        State.OPERATIONAL,
        None,
        None,
        False,
        ("WO1",),
    ),
    (
        "window cancelled",
        [incident("WO1", window=window(-1, 4, cancelled=True))],
        State.OPERATIONAL,
        None,
        None,
        False,
        ("WO1",),
    ),
    (
        "future window cancelled",
        [incident("WO1", window=window(2, 4, cancelled=True))],
        State.OPERATIONAL,
        None,
        None,
        False,
        ("WO1",),
    ),
    (
        "closed early",
        [incident("WO1", window=window(-1, 4), **CLOSED)],
        State.OPERATIONAL,
        None,
        None,
        False,
        (),
    ),
    (
        "end unknown, open",
        [incident("WO1", window=window(-1, None))],
        State.MAINTENANCE,
        None,
        None,
        False,
        ("WO1",),
    ),
    (
        "end unknown, closed",
        [incident("WO1", window=window(-1, None), **CLOSED)],
        State.OPERATIONAL,
        None,
        None,
        False,
        (),
    ),
    (
        "end unknown, not started",
        [incident("WO1", window=window(1, None))],
        State.OPERATIONAL,
        None,
        "WO1",
        False,
        ("WO1",),
    ),
    (
        "disruption",
        [incident("INC1", **DISRUPTION)],
        State.DISRUPTED,
        None,
        None,
        False,
        ("INC1",),
    ),
    (
        "disruption closed",
        [incident("INC1", kind=Kind.DISRUPTION, status=Status.CLOSED)],
        State.OPERATIONAL,
        None,
        None,
        False,
        (),
    ),
    (
        "disruption during a window",
        [incident("WO1", window=window(-1, 4)), incident("INC1", **DISRUPTION)],
        State.DISRUPTED,
        None,
        None,
        False,
        ("INC1", "WO1"),
    ),
    (
        "two windows: the soonest is next",
        [incident("WO2", window=window(30, 33)), incident("WO1", window=window(6, 9))],
        State.OPERATIONAL,
        None,
        "WO1",
        False,
        ("WO1", "WO2"),
    ),
    (
        "next skips a cancelled and a closed window",
        [
            incident("WO1", window=window(1, 2, cancelled=True)),
            incident("WO2", window=window(2, 3), **CLOSED),
            incident("WO3", window=window(5, 6)),
        ],
        State.OPERATIONAL,
        None,
        "WO3",
        False,
        ("WO1", "WO3"),
    ),
    (
        "in one window, another to come",
        [incident("WO1", window=window(-1, 1)), incident("WO2", window=window(24, 26))],
        State.MAINTENANCE,
        1,
        "WO2",
        False,
        ("WO1", "WO2"),
    ),
    (
        "overlapping windows: until the last end",
        [incident("WO1", window=window(-2, 1)), incident("WO2", window=window(-1, 3))],
        State.MAINTENANCE,
        3,
        None,
        False,
        ("WO1", "WO2"),
    ),
    (
        "overlapping windows, one end unknown",
        [incident("WO1", window=window(-2, 1)), incident("WO2", window=window(-1, None))],
        State.MAINTENANCE,
        None,
        None,
        False,
        ("WO1", "WO2"),
    ),
    (
        "fallback allowed while open",
        [incident("INC1", fallback=Fallback(True, NOW - H), **DISRUPTION)],
        State.DISRUPTED,
        None,
        None,
        True,
        ("INC1",),
    ),
    (
        "fallback not allowed",
        [incident("INC1", fallback=Fallback(False, NOW - H), **DISRUPTION)],
        State.DISRUPTED,
        None,
        None,
        False,
        ("INC1",),
    ),
    (
        "fallback allowed, incident closed",
        [incident("INC1", kind=Kind.DISRUPTION, status=Status.CLOSED, fallback=Fallback(True))],
        State.OPERATIONAL,
        None,
        None,
        False,
        (),
    ),
    (
        "another system's window",
        [incident("WO1", window=window(-1, 4), systems=("emcs",))],
        State.OPERATIONAL,
        None,
        None,
        False,
        (),
    ),
]


@pytest.mark.parametrize(
    ("incidents", "state", "until", "next_key", "fallback", "keys"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_state_now(
    incidents: list[Incident],
    state: State,
    until: int | None,
    next_key: str | None,
    fallback: bool,
    keys: tuple[str, ...],
) -> None:
    found = system_states(incidents, CATALOGUE, NOW)["dms-import"]
    assert found.state is state
    assert found.until_at == (None if until is None else NOW + until * H)
    assert (found.next_window.key if found.next_window else None) == next_key
    assert found.fallback_allowed is fallback
    assert found.incidents == keys


def test_next_window_carries_times() -> None:
    found = system_states([incident("WO1", window=window(2, 5))], CATALOGUE, NOW)
    assert found["dms-import"].next_window == NextWindow("WO1", NOW + 2 * H, NOW + 5 * H)


def test_every_catalogue_system_in_order_and_unknown_slugs_ignored() -> None:
    stray = incident("INC1", systems=("dms-import", "no-such-system"), **DISRUPTION)
    states = system_states([stray], CATALOGUE, NOW)
    assert tuple(states) == CATALOGUE.slugs
    assert "no-such-system" not in states
    assert [s.slug for s in states.values() if s.state is State.DISRUPTED] == ["dms-import"]


def test_one_incident_names_several_systems() -> None:
    both = incident("WO1", window=window(-1, 1), systems=("dms-import", "emcs"))
    states = system_states([both], CATALOGUE, NOW)
    assert states["dms-import"].state is states["emcs"].state is State.MAINTENANCE
    assert states["dms-export"].state is State.OPERATIONAL


def test_overall_is_the_worst_state() -> None:
    incidents = [
        incident("WO1", window=window(-1, 1), systems=("emcs",)),
        incident("INC1", systems=("ics2", "dms-import"), **DISRUPTION),
    ]
    overall = overall_state(system_states(incidents, CATALOGUE, NOW))
    assert overall.state is State.DISRUPTED
    assert overall.systems == ("dms-import", "ics2")  # catalogue order
    calm = overall_state(system_states([], CATALOGUE, NOW))
    assert calm.state is State.OPERATIONAL
    assert calm.systems == CATALOGUE.slugs


def test_systems_api_shape_and_stable_bytes() -> None:
    incidents = [
        incident("WO1", window=window(-1, 4), fallback=Fallback(True)),
        incident("WO2", window=window(24, 27)),
    ]
    states = system_states(incidents, CATALOGUE, NOW)
    body = render_systems_api(states, CATALOGUE, NOW)
    assert body == render_systems_api(dict(reversed(states.items())), CATALOGUE, NOW)
    doc = json.loads(body)
    assert doc["generated_at"] == "2026-05-19T17:00:00+00:00"
    assert list(doc["systems"]) == list(CATALOGUE.slugs)
    assert doc["systems"]["dms-import"] == {
        "state": "maintenance",
        "until": "2026-05-19T21:00:00+00:00",
        "next_window": {
            "key": "WO2",
            "start": "2026-05-20T17:00:00+00:00",
            "end": "2026-05-20T20:00:00+00:00",
        },
        "fallback_allowed": True,
        "incidents": ["WO1", "WO2"],
        "overrun": None,
    }
    assert doc["systems"]["emcs"] == {
        "state": "operational",
        "until": None,
        "next_window": None,
        "fallback_allowed": False,
        "incidents": [],
        "overrun": None,
    }


def test_systems_api_fills_missing_systems() -> None:
    doc = json.loads(render_systems_api({}, CATALOGUE, NOW))
    assert {s["state"] for s in doc["systems"].values()} == {"operational"}


def test_systems_api_says_unknown_before_anything_was_read() -> None:
    """Never "operational" beside "readable": false: before the first read no state is known."""
    doc = json.loads(render_systems_api({}, CATALOGUE, None, readable=False))
    assert doc["generated_at"] is None and doc["readable"] is False
    assert {s["state"] for s in doc["systems"].values()} == {"unknown"}


@pytest.mark.parametrize(
    ("end_hours", "status", "cancelled", "overrun"),
    [
        (-0.01, Status.SCHEDULED, False, True),  # just past its planned end, still open
        (0.5, Status.SCHEDULED, False, False),  # not ended yet: maintenance, no overrun
        (-11.9, Status.CURRENT, False, True),
        (-12.1, Status.SCHEDULED, False, False),  # shown for 12 h after the planned end
        (-1, Status.CLOSED, False, False),  # completion reported
        (-1, Status.SCHEDULED, True, False),  # cancelled
    ],
)
def test_a_window_past_its_planned_end_is_an_overrun_until_closed_or_12_hours(
    end_hours: float, status: Status, cancelled: bool, overrun: bool
) -> None:
    """The state rules do not change (operational), but the API, badge and cards say it."""
    from app.render.pages import render_badge

    start = NOW - timedelta(hours=13)
    win = Window(start, NOW + timedelta(hours=end_hours), cancelled=cancelled)
    states = system_states([incident("WO1", window=win, status=status)], CATALOGUE, NOW)
    state = states["dms-import"]
    assert state.state is (
        State.MAINTENANCE
        if end_hours > 0 and status is not Status.CLOSED and not cancelled
        else State.OPERATIONAL
    )
    doc = json.loads(render_systems_api(states, CATALOGUE, NOW))["systems"]["dms-import"]
    badge = render_badge(state, CATALOGUE, Lang.EN, NOW).decode()
    if overrun:
        assert doc["overrun"] == {"key": "WO1", "planned_end": win.end_at.isoformat()}
        assert doc["state"] == "operational"
        assert "end not reported" in badge and "Operational" not in badge
    else:
        assert doc["overrun"] is None and "end not reported" not in badge


@pytest.mark.parametrize(
    ("state", "lang", "now", "text"),
    [
        (SystemState("x", State.DISRUPTED), Lang.EN, None, "disrupted"),
        (SystemState("x", State.DISRUPTED), Lang.DA, None, "driftsforstyrrelse"),
        (SystemState("x", State.OPERATIONAL), Lang.EN, None, "operational"),
        (SystemState("x", State.OPERATIONAL), Lang.DA, None, "i drift"),
        (SystemState("x", State.MAINTENANCE), Lang.EN, None, "maintenance"),
        (SystemState("x", State.MAINTENANCE, NOW + 4 * H), Lang.EN, NOW, "maintenance until 23:00"),
        (
            SystemState("x", State.MAINTENANCE, NOW + 4 * H),
            Lang.DA,
            NOW,
            "servicevindue til kl. 23:00",
        ),
        (
            SystemState("x", State.MAINTENANCE, NOW + 24 * H),
            Lang.EN,
            NOW,
            "maintenance until Wednesday 20 May 2026 19:00",
        ),
        (
            SystemState("x", State.MAINTENANCE, NOW + 24 * H),
            Lang.DA,
            NOW,
            "servicevindue til onsdag 20. maj 2026 kl. 19:00",
        ),
    ],
)
def test_describe_state(state: SystemState, lang: Lang, now: datetime | None, text: str) -> None:
    assert describe_state(state, lang, now) == text
