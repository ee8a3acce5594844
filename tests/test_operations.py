"""Running unattended: poll coordination, backoff rules, budget, metrics, logs, demo, discovery."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from werkzeug import Request, Response

from app import create_app
from app.config import Settings
from app.ingest import PollReport, SourceReport
from app.runtime import Runtime
from app.service import Service
from app.site.health import blindness, due, update_health
from app.store.locks import PollLock
from tests.conftest import Upstream, polled_at

T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
URL = "https://info.skat.dk/data.aspx?lang=us&oid=2367397"


def _report(outcome: str, **kw) -> PollReport:
    return PollReport(
        started_at=T0, sources=[SourceReport(url=URL, kind="page", outcome=outcome, **kw)]
    )


def test_backoff_doubles_per_failure_up_to_the_cap_and_resets_on_success() -> None:
    settings = Settings(poll_seconds=300, max_backoff_seconds=3600)
    health: dict = {}
    waits = []
    for n in range(6):
        now = T0 + timedelta(hours=n)
        health = update_health(health, _report("failed", error="HTTP 500"), settings, now)
        nxt = health[URL].next_attempt_at
        waits.append((nxt - now).total_seconds() if nxt else 0)
    assert waits == [0, 600, 1200, 2400, 3600, 3600]
    assert not due(health[URL], T0 + timedelta(hours=5, minutes=30)) and due(
        health[URL], T0 + timedelta(hours=7)
    )
    health = update_health(health, _report("fetched", entries=3), settings, T0 + timedelta(hours=8))
    assert health[URL].consecutive_failures == 0 and health[URL].failing_since is None


def test_retry_after_and_max_age_are_honoured() -> None:
    settings = Settings(poll_seconds=300)
    health = update_health({}, _report("failed", error="HTTP 503", retry_after=900), settings, T0)
    assert health[URL].next_attempt_at == T0 + timedelta(seconds=900)
    health = update_health({}, _report("fetched", max_age=600), settings, T0)
    assert not due(health[URL], T0 + timedelta(seconds=599)) and due(
        health[URL], T0 + timedelta(seconds=600)
    )


def test_blindness_starts_after_the_configured_time() -> None:
    settings = Settings(blind_after_seconds=1800)
    health = update_health({}, _report("fetched"), settings, T0)
    health = update_health(
        health, _report("failed", error="timed out"), settings, T0 + timedelta(minutes=5)
    )
    assert blindness(health, settings, T0 + timedelta(minutes=29)) is None
    blind = blindness(health, settings, T0 + timedelta(minutes=31))
    assert blind is not None and blind.since == T0 and blind.reason == "timed out"


def test_processes_on_one_data_dir_poll_at_most_once_per_interval(
    filled, upstream: Upstream
) -> None:
    upstream.load("t3")
    with Runtime.open(filled) as a, Runtime.open(filled) as b:
        first, second = Service(a), Service(b)
        assert first.poll_once() is not None
        assert second.poll_once() is None  # within the interval: the other process just polled
        lock = PollLock(filled.data_dir / "poll.lock")
        assert lock.acquire()
        try:
            assert second.poll_once(force=True) is None  # someone holds the lock: skip, never wait
        finally:
            lock.release()
        later = Service(
            b, clock=lambda: datetime.now(UTC) + timedelta(seconds=filled.poll_seconds + 1)
        )
        assert later.poll_once() is not None


@pytest.mark.slow
def test_a_hung_upstream_cannot_stall_a_poll_past_its_budget(filled, upstream: Upstream) -> None:
    def hung(request: Request) -> Response:
        time.sleep(3)
        return Response("late")

    upstream.load("t3")
    upstream.overrides["/data.aspx?lang=us&oid=2367397"] = hung
    settings = replace(
        filled, timeout_seconds=0.4, retries=10, backoff_seconds=0.2, poll_budget_seconds=1.5
    )
    started = time.monotonic()
    with Runtime.open(settings) as runtime:
        report = Service(runtime).poll_once(force=True)
    assert time.monotonic() - started < 6
    assert report is not None
    failed = [s for s in report.sources if s.outcome == "failed"]
    assert [s.error for s in failed] == ["timed out"]


def test_metrics_report_polls_failures_and_requests(filled, upstream: Upstream) -> None:
    app = create_app(filled, poll=False)
    client = app.test_client()
    etag = client.get("/feeds/all.atom").headers["ETag"]
    client.get("/feeds/all.atom", headers={"If-None-Match": etag})
    text = client.get("/metrics").get_data(as_text=True)
    assert "toldfeed_polls_total 3.0" in text
    assert "toldfeed_incidents_stored 14.0" in text
    assert 'toldfeed_requests_total{kind="feeds",status="304"} 1.0' in text
    assert 'toldfeed_requests_total{kind="feeds",status="200"} 1.0' in text
    assert (
        "toldfeed_upstream_not_modified_total" in text
        and "toldfeed_poll_duration_seconds_total" in text
    )
    assert "toldfeed_source_failures_total" in text


def test_failures_are_logged_one_line_with_url_and_reason(
    filled, upstream: Upstream, caplog
) -> None:
    upstream.load("t3")
    upstream.overrides["/rss.aspx?oid=2367397"] = lambda r: Response("", status=500)
    with caplog.at_level(logging.INFO), Runtime.open(replace(filled, retries=0)) as runtime:
        Service(runtime).poll_once(force=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "toldfeed.service"]
    assert any(
        m.startswith("source failed url=http://localhost:") and "reason=HTTP 500" in m
        for m in lines
    )
    assert all("\n" not in m for m in lines)


def test_rss_is_autodiscovered_when_the_configured_url_fails(
    upstream: Upstream, make_settings, tmp_path
) -> None:
    upstream.load("t1")
    sources = upstream.sources_toml("t1", tmp_path / "s.toml")
    sources.write_text(sources.read_text().replace("rss.aspx?oid=2367397", "rss.aspx?oid=404404"))
    with Runtime.open(make_settings(sources=sources)) as runtime:
        report = runtime.poll(polled_at("t1"))
    rss = next(s for s in report.sources if s.kind == "rss")
    assert rss.outcome == "fetched" and rss.via == upstream.url(
        "https://rss.skat.dk/rss.aspx?oid=2367397"
    )


def test_detail_pages_are_bounded_and_only_on_allowed_hosts(
    upstream: Upstream, make_settings, tmp_path
) -> None:
    upstream.load("t1")
    page = "/data.aspx?lang=us&oid=2367397"
    upstream.documents[page] = upstream.documents[page].replace(
        b'href="http://127.0.0.1', b'href="http://evil.example.test', 1
    )
    settings = make_settings(
        sources=upstream.sources_toml("t1", tmp_path / "s.toml"), max_details_per_poll=4
    )
    with Runtime.open(settings) as runtime:
        report = runtime.poll(polled_at("t1"))
    assert report.details_fetched == 4 and report.details_deferred > 0
    assert not any("evil" in key for key, _ in upstream.log)


@pytest.mark.slow
def test_demo_store_is_filled_from_the_bundled_samples(tmp_path) -> None:
    from app.cli.serve import build_app

    app = build_app(Settings.from_env({}, data_dir=tmp_path, poll_on_serve=False), demo=True)
    feed = feedparser.parse(app.test_client().get("/feeds/all.atom").data)
    assert len(feed.entries) == 14
    assert (tmp_path / "demo").is_dir()
