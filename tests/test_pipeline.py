"""The poll's phases on their own: the detail-page plan (table), the state records' JSON forms
(round trips), and the pipeline's report (its finish time comes from the clock it is given)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.ingest.plan import DetailPlan, Rank, plan_details, rank_link
from app.model import Lang
from app.runtime import Runtime
from app.store.records import (
    Counters,
    HttpState,
    Outcome,
    PollReport,
    SourceHealth,
    SourceReport,
    SourceState,
)
from app.store.records_codec import (
    counters_from_dict,
    counters_to_dict,
    http_state_from_dict,
    http_state_to_dict,
    poll_report_from_dict,
    poll_report_to_dict,
    source_health_from_dict,
    source_health_to_dict,
    source_state_from_dict,
    source_state_to_dict,
)
from app.upstream.result import DetailLink
from tests.conftest import Upstream, polled_at

T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def link(oid: int, updated_minutes: int | None = None, lang: Lang = Lang.EN) -> DetailLink:
    at = T0 + timedelta(minutes=updated_minutes) if updated_minutes is not None else None
    return DetailLink(f"https://info.skat.dk/data.aspx?oid={oid}&x=read&l={lang}", oid, lang, at)


def read(minutes_ago: int, updated_minutes: int | None = None, parsed: bool = True) -> HttpState:
    """The state of a page last read ``minutes_ago`` before T0, showing ``updated_minutes``."""
    at = T0 + timedelta(minutes=updated_minutes) if updated_minutes is not None else None
    return HttpState(
        checked_at=T0 - timedelta(minutes=minutes_ago), parsed=parsed, last_updated_at=at
    )


@pytest.mark.parametrize(
    ("state", "row_updated", "expected"),
    [
        (None, None, Rank.NEVER_READ),  # never read
        (read(5, parsed=False), None, Rank.NEVER_READ),  # read, but it never yielded anything
        (read(5, updated_minutes=0), 10, Rank.CHANGED),  # the row shows a later update
        (read(5, updated_minutes=None), 10, Rank.CHANGED),  # the page showed no time at all
        (read(5, updated_minutes=10), 10, None),  # same update, read recently
        (read(5, updated_minutes=10), 0, None),  # the row is older than the page
        (read(5, updated_minutes=10), None, None),  # the row names no time
        (read(60, updated_minutes=10), 10, Rank.DUE),  # refresh period passed
        (read(59, updated_minutes=10), None, None),  # one minute short of it
    ],
)
def test_rank_of_a_detail_link(
    state: HttpState | None, row_updated: int | None, expected: Rank | None
) -> None:
    assert rank_link(link(1, row_updated), state, T0, HOUR) == expected


def plan(links, http=None, limit=10, allowed=lambda url: True):
    return plan_details(links, http or {}, allowed=allowed, now=T0, refresh=HOUR, limit=limit)


def test_plan_orders_by_rank_then_longest_unread_then_oid() -> None:
    links = [link(1), link(2, 10), link(3), link(4, 10), link(5), link(6)]
    http = {
        links[0].url: read(90, 10),  # due, unread for 90 minutes
        links[1].url: read(5, 0),  # changed
        links[2].url: read(120, 10),  # due, unread for 120 minutes
        links[3].url: read(30, 0),  # changed, unread for longer than oid 2
        links[5].url: read(5, 10),  # nothing to do
    }
    chosen = plan(links, http).links
    assert [ln.oid for ln in chosen] == [5, 4, 2, 3, 1]


def test_plan_reads_a_message_once_per_language_by_its_best_link() -> None:
    rss_link = DetailLink("https://rss.skat.dk/item?oid=7", 7, Lang.EN, None)
    page_link = link(7)
    danish = link(7, lang=Lang.DA)
    http = {rss_link.url: read(5, 10), page_link.url: read(90, 10)}
    chosen = plan([rss_link, page_link, danish], http).links
    assert chosen == (danish, page_link)  # never-read first; the RSS link is not due


def test_plan_is_bounded_and_counts_what_it_defers() -> None:
    links = [link(oid) for oid in range(1, 8)]
    assert plan(links, limit=3) == DetailPlan(tuple(links[:3]), deferred=4)
    assert plan(links, limit=0).links == () and plan(links, limit=0).deferred == 7
    assert plan(links, limit=50).deferred == 0


def test_plan_follows_only_allowed_hosts() -> None:
    links = [link(1), DetailLink("https://evil.example.test/x?oid=2", 2, Lang.EN)]
    chosen = plan(links, allowed=lambda url: "evil" not in url)
    assert [ln.oid for ln in chosen.links] == [1] and chosen.deferred == 0


RECORDS = [
    (HttpState(checked_at=T0), http_state_to_dict, http_state_from_dict),
    (
        HttpState(T0, '"e1"', "Wed, 20 May 2026 07:00:00 GMT", True, T0 - HOUR),
        http_state_to_dict,
        http_state_from_dict,
    ),
    (SourceState(), source_state_to_dict, source_state_from_dict),
    (
        SourceState((link(1, 5), link(2, lang=Lang.DA)), ("https://rss",), 2, "https://rss"),
        source_state_to_dict,
        source_state_from_dict,
    ),
    (SourceHealth(), source_health_to_dict, source_health_from_dict),
    (
        SourceHealth(
            kind="page",
            last_outcome=Outcome.FAILED,
            last_attempt_at=T0,
            last_success_at=T0 - HOUR,
            last_failure_at=T0,
            last_error="HTTP 500",
            consecutive_failures=2,
            failing_since=T0 - HOUR / 2,
            next_attempt_at=T0 + HOUR,
            entries=13,
            warnings=("row 3 unreadable",),
            unknown_systems=("NEW-SYSTEM",),
        ),
        source_health_to_dict,
        source_health_from_dict,
    ),
    (Counters(), counters_to_dict, counters_from_dict),
    (
        Counters(3, 4.5, 1.5, 20, {"https://a": 2, "https://b": 1}),
        counters_to_dict,
        counters_from_dict,
    ),
    (PollReport(started_at=T0), poll_report_to_dict, poll_report_from_dict),
    (
        PollReport(
            started_at=T0,
            finished_at=T0 + timedelta(seconds=3),
            sources=(
                SourceReport("https://a", "page", Outcome.FETCHED, 13, None, ("w",), ("X",)),
                SourceReport(
                    "https://b", "rss", error="HTTP 503", retry_after=120.0, via="https://c"
                ),
                SourceReport("https://d", "page", Outcome.NOT_MODIFIED, max_age=60.0),
            ),
            details_fetched=5,
            details_not_modified=4,
            details_failed=1,
            details_deferred=2,
            new_keys=("INC1",),
            changed_keys=("WO2",),
            removed_keys=("oid:3",),
            detail_errors=("x: timed out",),
        ),
        poll_report_to_dict,
        poll_report_from_dict,
    ),
]


@pytest.mark.parametrize(("record", "to_dict", "from_dict"), RECORDS)
def test_state_records_survive_their_json_form(record, to_dict, from_dict) -> None:
    assert from_dict(to_dict(record)) == record


def test_json_forms_keep_the_shapes_stored_before_the_records_were_typed() -> None:
    assert counters_to_dict(Counters(1, 2.0, 2.0, 3, {"https://a": 4}))["failures:https://a"] == 4
    assert http_state_to_dict(HttpState(T0, last_updated_at=T0))["last_updated"] == T0.isoformat()
    assert source_state_to_dict(SourceState((link(1, 0),)))["links"] == [
        [link(1).url, 1, "en", T0.isoformat()]
    ]
    report = poll_report_to_dict(PollReport(T0, detail_errors=tuple(map(str, range(30)))))
    assert report["ok"] is True and len(report["details"]["errors"]) == 20


def test_the_report_finishes_when_the_clock_says(
    upstream: Upstream, make_settings, tmp_path
) -> None:
    upstream.load("t1")
    settings = make_settings(sources=upstream.sources_toml("t1", tmp_path / "s.toml"))
    now = polled_at("t1")
    with Runtime.open(settings) as runtime:
        report = runtime.poll(now, clock=lambda: now + timedelta(seconds=7))
        assert report.finished_at == now + timedelta(seconds=7)
        assert runtime.store.last_poll() == report
        later = runtime.poll(now + HOUR)  # default clock: the poll's own time plus its duration
        assert later.finished_at is not None
        assert now + HOUR <= later.finished_at < now + HOUR + timedelta(seconds=60)


def test_a_batch_applies_a_key_s_last_operation() -> None:
    from app.store import Batch

    batch = Batch()
    batch.put_bytes("docgz:incidents/x.html", b"page")
    batch.delete("docgz:incidents/x.html")  # deleted after it was written: gone
    assert "docgz:incidents/x.html" not in batch.raw
    batch.delete("docgz:incidents/y.html")
    batch.put_bytes("docgz:incidents/y.html", b"page")  # written after it was deleted: kept
    assert "docgz:incidents/y.html" not in batch.deleted
    assert batch.raw["docgz:incidents/y.html"] == b"page"


def test_one_source_kind_vocabulary_reads_what_was_stored_before_it() -> None:
    """Observations stored before the vocabulary was one said "list" for a list page; the
    sources file says "page"; both are ``SourceKind.PAGE``, and each kind has its reader."""
    from app.ingest.readers import READERS
    from app.model import SourceKind

    assert SourceKind("list") is SourceKind.PAGE is SourceKind("page")
    assert set(READERS) == set(SourceKind)
    assert READERS[SourceKind.RSS].truncated(b"<rss><channel></channel>") is not None
    assert READERS[SourceKind.RSS].truncated(b"<rss></rss>\n") is None
    assert READERS[SourceKind.PAGE].truncated(b"<html><body>x</body></html>\n<!-- -->") is None


def test_the_fetch_threads_parse_one_page_at_a_time(
    upstream: Upstream, make_settings, tmp_path, monkeypatch
) -> None:
    """Parsing is Python, which one thread runs at a time anyway: the fetch threads take turns
    (two contending for the interpreter cost some 10-25 % more CPU), and every page is read."""
    import threading
    import time
    from dataclasses import replace

    from app.ingest import readers

    running, overlaps, parsed = [0], [0], [0]
    lock = threading.Lock()

    def watched(kind: readers.KindReader) -> readers.KindReader:
        def parse(*args, **kwargs):  # type: ignore[no-untyped-def]
            with lock:
                running[0] += 1
                overlaps[0] += running[0] > 1
            time.sleep(0.002)  # the interpreter is free meanwhile: another parse could start
            try:
                return kind.parse(*args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1
                    parsed[0] += 1

        return replace(kind, parse=parse)

    for kind, reader in list(readers.READERS.items()):
        monkeypatch.setitem(readers.READERS, kind, watched(reader))
    upstream.load("t1")
    settings = make_settings(
        sources=upstream.sources_toml("t1", tmp_path / "s.toml"), fetch_workers=4
    )
    with Runtime.open(settings) as runtime:
        report = runtime.poll(polled_at("t1"))
    assert report.ok and report.details_fetched >= 4
    sources = sum(s.outcome is Outcome.FETCHED for s in report.sources)  # the list page, the feed
    assert sources >= 2 and parsed[0] == sources + report.details_fetched
    assert overlaps[0] == 0
