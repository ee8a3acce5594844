"""Faults survived: each leaves every stored incident and served feed intact, is reported in
/healthz, and recovers on the next good poll (real local HTTP server, real store)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from werkzeug import Request, Response

from app import create_app
from app.runtime import Runtime
from app.service import Service
from tests.conftest import SAMPLES, Upstream, polled_at, settings_for, store_of, utc

OVERVIEW = "/data.aspx?lang=us&oid=2367397"
DANISH = "/data.aspx?oid=2367397"
RSS = "/rss.aspx?oid=2367397"


def snapshot_of(settings) -> dict:
    with store_of(settings) as store:
        return {i.key: i for i in store.iter_incidents()}


def served(settings) -> tuple[int, list[str]]:
    app = create_app(settings, poll=False)
    client = app.test_client()
    parsed = feedparser.parse(client.get("/feeds/all.atom").data)
    assert not parsed.bozo
    health = client.get("/healthz")
    app.extensions["toldfeed"].runtime.close()
    return health.status_code, [e.id for e in parsed.entries]


def notice_updated(settings) -> str:
    """When /feeds/all.atom says the blind notice was updated."""
    app = create_app(settings, poll=False)
    parsed = feedparser.parse(app.test_client().get("/feeds/all.atom").data)
    app.extensions["toldfeed"].runtime.close()
    return next(e.updated for e in parsed.entries if e.id.endswith("upstream-unreadable"))


def poll(settings, minutes: float) -> None:
    with Runtime.open(settings) as runtime:
        Service(runtime, clock=lambda: polled_at("t3") + timedelta(minutes=minutes)).poll_once(
            force=True
        )


def health_of(settings, url_part: str) -> dict:
    with store_of(settings) as store:
        health = store.get("health:sources")
    return next(record for url, record in health.items() if url.endswith(url_part))


def _slow(request: Request) -> Response:
    time.sleep(1.5)
    return Response("late")


def _big(request: Request) -> Response:
    return Response(b"<html>" + b"x" * (10 * 1024 * 1024) + b"</html>", content_type="text/html")


def _truncated(upstream: Upstream):
    body = upstream.documents[OVERVIEW]
    return lambda request: Response(body[: len(body) // 2], content_type="text/html")


def _layout_changed(request: Request) -> Response:
    return Response(
        "<html><body><h1>New design</h1><p>Coming soon</p></body></html>", content_type="text/html"
    )


FAULTS = {
    "timeout": (OVERVIEW, lambda up: _slow, "timed out"),
    "500": (OVERVIEW, lambda up: lambda r: Response("boom", status=500), "HTTP 500"),
    "503 with Retry-After": (
        OVERVIEW,
        lambda up: lambda r: Response("", status=503, headers={"Retry-After": "120"}),
        "HTTP 503",
    ),
    "429 with Retry-After": (
        OVERVIEW,
        lambda up: lambda r: Response("", status=429, headers={"Retry-After": "1"}),
        "HTTP 429",
    ),
    "truncated HTML": (OVERVIEW, _truncated, "truncated page"),
    "table gone": (OVERVIEW, lambda up: _layout_changed, "no message rows found"),
    "RSS not XML": (
        RSS,
        lambda up: (
            lambda r: Response("<html><body>maintenance</body></html>", content_type="text/html")
        ),
        "not a complete feed",
    ),
    "10 MB body": (OVERVIEW, lambda up: _big, "exceeds"),
    "redirect loop": (
        OVERVIEW,
        lambda up: lambda r: Response("", status=302, headers={"Location": OVERVIEW}),
        "too many redirects",
    ),
}


@pytest.fixture(scope="session")
def as_filled(filled_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The incidents and the entries of /feeds/all.atom of the filled store, read once per run
    from a copy of it: what every test's own copy holds before its fault."""
    directory = tmp_path_factory.mktemp("as-filled")
    shutil.copytree(filled_data_dir, directory / "data")
    settings = settings_for(directory, sources=filled_data_dir.parent / "sources.toml")
    return snapshot_of(settings), served(settings)[1]


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_survived_reported_and_recovered(
    fault: str, filled, upstream: Upstream, as_filled: tuple
) -> None:
    settings = replace(filled, timeout_seconds=0.5, retries=1, backoff_seconds=0.01)
    before, entries = as_filled
    path, make, reason = FAULTS[fault]
    upstream.overrides[path] = make(upstream)
    poll(settings, 10)
    assert snapshot_of(settings) == before  # nothing lost, nothing changed
    assert served(settings)[1] == entries
    record = health_of(settings, path)
    assert record["last_outcome"] == "failed" and reason in record["last_error"]
    assert record["consecutive_failures"] == 1
    upstream.overrides.clear()
    poll(settings, 10 + 125)  # later than any Retry-After asked for
    record = health_of(settings, path)
    assert (
        record["last_outcome"] in {"fetched", "not modified"}
        and record["consecutive_failures"] == 0
    )
    assert snapshot_of(settings) == before


def test_connection_refused_then_back(filled, upstream: Upstream) -> None:
    before = snapshot_of(filled)
    upstream.server.stop()
    try:
        poll(filled, 10)
    finally:
        upstream.server.start()
    assert snapshot_of(filled) == before
    record = health_of(filled, OVERVIEW)
    said = record["last_error"]  # in words, without urllib3's repr of its connection
    assert said.startswith("ConnectError: ") and "Connection refused" in said, said
    assert "HTTPConnection(" not in said
    poll(filled, 20)
    assert health_of(filled, OVERVIEW)["consecutive_failures"] == 0


def test_wrong_charset_keeps_danish_letters(filled, upstream: Upstream) -> None:
    text = (SAMPLES / "t3" / "overview.da.html").read_text(encoding="utf-8")
    body = upstream.rewrite(text).encode("cp1252")
    upstream.overrides[DANISH] = lambda r: Response(body, content_type="text/html; charset=utf-8")
    poll(filled, 10)
    incidents = snapshot_of(filled)
    assert incidents["WO0000001589016"].title["da"] == "PRD-servicevindue DMS lørdag 30. maj 2026"
    assert health_of(filled, DANISH)["last_outcome"] == "fetched"


def test_a_list_showing_fewer_messages_removes_nothing(filled, upstream: Upstream) -> None:
    before = snapshot_of(filled)
    body = upstream.documents[OVERVIEW].decode()
    first_table_only = body[: body.index("<h2>", body.index("</table>"))] + "</div></body></html>"
    upstream.overrides[OVERVIEW] = lambda r: Response(first_table_only, content_type="text/html")
    poll(filled, 10)
    assert snapshot_of(filled).keys() == before.keys()


def test_backoff_skips_a_failing_source_without_delaying_the_others(
    filled, upstream: Upstream
) -> None:
    settings = replace(filled, retries=0, poll_seconds=300)
    upstream.overrides[OVERVIEW] = lambda r: Response("", status=500)
    poll(settings, 10)
    poll(settings, 11)  # second failure: backs off poll_seconds * 2
    assert health_of(settings, OVERVIEW)["consecutive_failures"] == 2
    upstream.log.clear()
    poll(settings, 12)
    requested = {key for key, _ in upstream.log}
    assert OVERVIEW not in requested and RSS in requested  # skipped; others still read
    assert health_of(settings, OVERVIEW)["consecutive_failures"] == 2


@pytest.mark.slow
def test_blind_notice_appears_once_and_goes_away(filled, upstream: Upstream) -> None:
    settings = replace(filled, blind_after_seconds=600, retries=0)
    upstream.server.stop()
    try:
        poll(settings, 5)
        _, entries = served(settings)
        assert not any("upstream-unreadable" in e for e in entries)  # not yet: 5 of 10 minutes
        poll(settings, 30)
        _, entries = served(settings)
        updated = notice_updated(settings)
        poll(settings, 60)
        _, again = served(settings)
    finally:
        upstream.server.start()
    notice = [e for e in entries if e.endswith("toldfeed-upstream-unreadable")]
    assert len(notice) == 1 and notice == [e for e in again if "unreadable" in e]
    # once: a later poll leaves the notice as it was, dated when the upstream was last read
    assert notice_updated(settings) == updated
    assert utc(updated) == polled_at("t3")
    app = create_app(settings, poll=False)
    feed = feedparser.parse(app.test_client().get("/feeds/status/current.atom").data)
    first = feed.entries[0]
    assert first.id == notice[0] and first.updated == updated
    assert "could not be read since" in app.test_client().get("/").get_data(as_text=True)
    poll(settings, 90)
    _, entries = served(settings)
    assert not any("unreadable" in e for e in entries)


def test_index_page_says_in_words_which_source_fails(filled, upstream: Upstream) -> None:
    upstream.overrides[RSS] = lambda r: Response("", status=503)
    poll(replace(filled, retries=0), 10)
    app = create_app(filled, poll=False)
    html = app.test_client().get("/").get_data(as_text=True)
    assert "rss.aspx?oid=2367397 could not be read since 20 May 2026 09:40 (HTTP 503)" in html
    danish = app.test_client().get("/da/").get_data(as_text=True)
    assert "har ikke kunnet læses siden 20. maj 2026 kl. 09:40 (HTTP 503)" in danish
