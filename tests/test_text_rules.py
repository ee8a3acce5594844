"""Fixture tables for the upstream's text rules: dates, references, update lines (SPEC 6-8),
and the characters text may not carry (controls, bidi controls) or names may not differ by
(format characters)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.model import Lang
from app.upstream.dates import parse_local
from app.upstream.plausible import implausible
from app.upstream.text import (
    added_lines,
    drop_format,
    extract_updates,
    find_refs,
    match_update,
    normalize,
    strip_controls,
)
from app.upstream.vocab import label_key, parse_status


def u(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # DD-MM-YYYY kl. HH:MM (list last-updated; "kl." on English pages too), summer time
        ("03-04-2026 kl. 11:51", u("2026-04-03T09:51")),
        # winter time is UTC+1
        ("01-03-2026 kl. 14:58", u("2026-03-01T13:58")),
        # DD-MM-YYYY HH:MM:SS (created, version stamps)
        ("01-04-2026 14:37:00", u("2026-04-01T12:37")),
        ("19-05-2026 18:12:40", u("2026-05-19T16:12:40")),
        # DD Mon YYYY HH:MM, English and Danish months, either case
        ("19 maj 2026 21:50", u("2026-05-19T19:50")),
        ("13 May 2026 08:08", u("2026-05-13T06:08")),
        ("26 mar 2026 10:50", u("2026-03-26T09:50")),
        ("01 okt 2025 09:00", u("2025-10-01T07:00")),
        ("01 Oct 2025 09:00", u("2025-10-01T07:00")),
        ("5 Marts 2025 12:00", u("2025-03-05T11:00")),
        # old page format YYYY-MM-DD HH:MM
        ("2024-09-27 22:00", u("2024-09-27T20:00")),
        # DST edges: the last hour before the spring change and the first after
        ("29-03-2026 01:59:00", u("2026-03-29T00:59")),
        ("29-03-2026 03:00:00", u("2026-03-29T01:00")),
        # the autumn hour that happens twice is read as its first (summer-time) occurrence
        ("25-10-2026 02:30:00", u("2026-10-25T00:30")),
        ("25-10-2026 03:30:00", u("2026-10-25T02:30")),
        # non-breaking spaces as captured from the page
        ("03-04-2026\xa0kl.\xa011:51", u("2026-04-03T09:51")),
        # unreadable: never guessed
        ("32-01-2026 10:00:00", None),
        ("Saturday April 5, 2025, 1200-1900", None),
        ("", None),
        ("1800-20150", None),
    ],
)
def test_dates(text: str, expected: datetime | None) -> None:
    assert parse_local(text) == expected


BASE = u("2026-05-19T19:50")  # 21:50 Copenhagen


@pytest.mark.parametrize(
    ("line", "text", "at"),
    [
        (
            "Update 18:12 - The start is postponed.",
            "Update 18:12 - The start is postponed.",
            u("2026-05-19T16:12"),
        ),
        (
            "Update: Marked as resolved 13:56",
            "Update: Marked as resolved 13:56",
            u("2026-05-19T11:56"),
        ),
        ("Update: Please follow further updates", "Update: Please follow further updates", None),
        ("Update 18:12: postponed", "Update 18:12: postponed", u("2026-05-19T16:12")),
        ("Update 18.12: postponed", "Update 18.12: postponed", u("2026-05-19T16:12")),
        (
            "Update at 5/4/2025: window moved",
            "Update at 5/4/2025: window moved",
            u("2025-04-04T22:00"),
        ),
        (
            "Update 5/4-2025 14:30  - back up",
            "Update 5/4-2025 14:30 - back up",
            u("2025-04-05T12:30"),
        ),
        ("Update 2025-06-07: done early", "Update 2025-06-07: done early", u("2025-06-06T22:00")),
        ("Update 22nd Jan: still slow", "Update 22nd Jan: still slow", u("2026-01-21T23:00")),
        (
            "Opdatering 08:40 - Behandlingstiderne er kortere.",
            "Opdatering 08:40 - Behandlingstiderne er kortere.",
            u("2026-05-19T06:40"),
        ),
        (
            "Opdatering: Markeret som løst 13:56",
            "Opdatering: Markeret som løst 13:56",
            u("2026-05-19T11:56"),
        ),
        ("Done.", "Done.", None),
        ("Delayed.", "Delayed.", None),
        (
            "19-05-2026 18:12 The window has started.",
            "19-05-2026 18:12 The window has started.",
            u("2026-05-19T16:12"),
        ),
        # not updates
        ("Tuesday May 19, 2026, 1800-2300", None, None),
        ("2026-03-25 Danish Customs Agency Newsletter – DMS opdateres lørdag", None, None),
        ("Updated version of DMS is installed", None, None),
        ("WO0000001586573", None, None),
    ],
)
def test_update_lines(line: str, text: str | None, at: datetime | None) -> None:
    found = match_update(line, BASE)
    if text is None:
        assert found is None
    else:
        assert found == (text, at)


def test_time_only_update_named_late_belongs_to_the_day_before_an_early_version() -> None:
    base = u("2026-05-19T22:10")  # 00:10 on 20 May, Copenhagen
    assert match_update("Update 23:50 - still running", base) == (
        "Update 23:50 - still running",
        u("2026-05-19T21:50"),
    )


def test_update_on_date_takes_text_from_following_lines() -> None:
    lines = ["Intro", "Update on 20-05-2026", "The window was extended.", "WO0000001586573"]
    (update,) = extract_updates(lines, Lang.EN, BASE)
    assert update.text == "Update on 20-05-2026 The window was extended."
    assert update.at == u("2026-05-19T22:00")


def test_time_only_line_without_any_base_names_no_time() -> None:
    assert match_update("Update 11:50 - resolved", None) == ("Update 11:50 - resolved", None)


@pytest.mark.parametrize(
    ("lines", "primary", "every"),
    [
        (["text", "INC000001814725"], "INC000001814725", ("INC000001814725",)),
        (["text", "WO0000001586573"], "WO0000001586573", ("WO0000001586573",)),
        (["no reference at all"], None, ()),
        # a copy of another message: its own reference is the standalone last one
        (
            ["Copy of WO0000001580114", "text", "WO0000001586573"],
            "WO0000001586573",
            ("WO0000001580114", "WO0000001586573"),
        ),
        # reference inside a sentence when no line holds it alone
        (["See INC000001814725 for details"], "INC000001814725", ("INC000001814725",)),
        # wrong digit counts are not references
        (["INC00000181472", "WO000000158657"], None, ()),
    ],
)
def test_references(lines: list[str], primary: str | None, every: tuple[str, ...]) -> None:
    assert find_refs(lines) == (primary, every)


@pytest.mark.parametrize(
    ("older", "newer", "added"),
    [
        (["a", "b", "c"], ["a", "x", "b", "c"], ["x"]),
        (["a", "b", "WO0000001586573"], ["a", "b", "c", "WO0000001586573"], ["c"]),
        (["a", "b"], ["z", "y", "x"], []),  # a rewrite is not an update trail
        (["a"], ["a", "1", "2", "3", "4"], []),  # nor is a long insertion
        ([], ["a"], []),
    ],
)
def test_added_lines(older: list[str], newer: list[str], added: list[str]) -> None:
    assert added_lines(older, newer) == added


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # C0 and C1 controls (no XML output may carry them)
        ("bell\x07 and\x01 nul\x00", "bell and nul"),
        ("c1\x85\x9f", "c1"),
        # bidi controls: overrides and embeddings, their end, isolates, marks
        ("Slow im\u202eport responses", "Slow import responses"),  # RLO left open
        ("\u202dDMS\u202c \u202aExport\u202c \u202bEMCS\u202c", "DMS Export EMCS"),
        ("\u2066a\u2069 \u2067b\u2069 \u2068c\u2069", "a b c"),
        ("mark\u200e mark\u200f mark\u061c", "mark mark mark"),
        # other format characters are text, kept for display (a zero-width joiner builds emoji)
        (
            "Mani\u00adfest \u200b\U0001f469\u200d\U0001f4bb",
            "Mani\u00adfest \u200b\U0001f469\u200d\U0001f4bb",
        ),
        ("Afsluttet lørdag – “kl. 18”", "Afsluttet lørdag – “kl. 18”"),
    ],
)
def test_strip_controls(text: str, expected: str) -> None:
    assert strip_controls(text) == expected
    assert normalize(text) == " ".join(expected.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DMS Ex\u200bport", "DMS Export"),  # zero-width space
        ("Mani\u00adfest", "Manifest"),  # soft hyphen
        ("DMS\u2060 Im\u200cport\u200d", "DMS Import"),  # word joiner, ZWNJ, ZWJ
        ("\ufeffEMCS\u202e\u2066\u200f", "EMCS"),  # byte-order mark, bidi controls
        ("lørdag – Æble", "lørdag – Æble"),  # letters and punctuation stay
        ("plain ascii", "plain ascii"),
    ],
)
def test_drop_format(text: str, expected: str) -> None:
    assert drop_format(text) == expected


@pytest.mark.parametrize(
    ("text", "key", "status"),
    [
        ("Clo\u00adsed", "closed", "closed"),
        ("Afslut\u200btet", "afsluttet", "closed"),
        ("\ufeffPlanlagt nedlukning", "planlagt nedlukning", "scheduled"),
        ("Sta\u200ftus:", "status", "current"),
    ],
)
def test_labels_and_status_words_ignore_format_characters(text: str, key: str, status: str) -> None:
    assert label_key(text) == key
    assert parse_status(text) == status


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        # format characters inside words are pasted text, not a lying charset's letters
        ("DMS Ex\u200bport, DMS Im\u200bport, Mani\u200bfest, Tran\u200bsit", False),
        ("Slow im\u202eport, ex\u202eport, mani\u202efest, tran\u202esit", False),
        ("Ex\u2067port Im\u200fport Mani\u2060fest NC\u200dTS Tr\ufeffansit", False),
        # what a lying charset does still is refused
        ("lřrdag, sřndag, nřdprocedure", True),
        ("l\u202eřrdag, s\u200břndag, nřdprocedure, kř", True),
    ],
)
def test_format_characters_do_not_make_text_implausible(text: str, refused: bool) -> None:
    assert (implausible(text) is not None) == refused


def test_the_format_characters_are_unicodes_category_cf() -> None:
    import sys
    import unicodedata

    from app.upstream.text import FORMAT_CHARACTERS

    listed = {chr(c) for c in range(sys.maxunicode + 1) if FORMAT_CHARACTERS.fullmatch(chr(c))}
    assert listed == {
        chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"
    }


@pytest.mark.parametrize(
    "marked",
    [
        "Transit \u200b declarations are processed normally.",
        "\u200b Transit declarations are processed normally.",
        "Transit declara\u00adtions are processed normally. \ufeff",
    ],
)
def test_invisible_characters_between_spaces_leave_a_lines_identity(marked: str) -> None:
    from app.upstream.text import added_lines, update_identity

    assert update_identity(marked) == update_identity("Transit declarations are processed normally")
    # and a line of nothing but them is no line that was added
    assert added_lines(["a", "b"], ["\u200b", "a", "b"]) == []
