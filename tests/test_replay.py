"""The public samples polled t1 → t2 → t3 from a local server give expected.json's incidents."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model import Incident
from app.runtime import Runtime
from app.upstream.text import normalize
from tests.conftest import EXPECTED, Upstream, polled_at, utc


def _minute(text: str) -> str:
    return utc(text).strftime("%Y-%m-%dT%H:%M")


def check_incident(
    incident: Incident, expected: dict, snapshot_name: str, upstream: Upstream
) -> None:
    assert list(incident.oids) == expected["oids"]
    assert incident.oid == expected["oid"]
    titles = {expected["title"]}
    if snapshot_name == "t3" and expected["title_da"]:
        titles.add(expected["title_da"])
    assert incident.title["en"] in titles
    if expected["title_da"] and snapshot_name == "t3" and "da" in incident.title:
        assert incident.title["da"] == expected["title_da"]
    assert list(incident.systems) == expected["systems"]
    assert incident.status == expected["status"]
    assert incident.published_at.strftime("%Y-%m-%dT%H:%M") == _minute(expected["published"])
    assert incident.upstream_updated_at.strftime("%Y-%m-%dT%H:%M") == _minute(
        expected["upstream_last_updated"]
    )
    assert incident.links["en"] == upstream.url(expected["link"])
    ours = {(normalize(u.text), u.at) for u in incident.updates}
    for update in expected["updates"]:
        at = utc(update["at"]) if update["at"] else None
        assert (normalize(upstream.rewrite(update["text"])), at) in ours, update
    # newest first, as the feeds show them
    times = [u.sort_at for u in incident.updates if u.sort_at]
    assert times == sorted(times, reverse=True)


def test_replay_t1_t2_t3(upstream: Upstream, make_settings, tmp_path: Path) -> None:
    for snap in EXPECTED["snapshots"]:
        upstream.load(snap["name"])
        settings = make_settings(
            sources=upstream.sources_toml(snap["name"], tmp_path / "sources.toml")
        )
        with Runtime.open(settings) as runtime:
            report = runtime.poll(polled_at(snap["name"]))
            assert report.ok, report
            assert report.details_failed == 0, report.detail_errors
            stored = {i.key: i for i in runtime.store.iter_incidents()}
        assert sorted(stored) == sorted(e["key"] for e in snap["incidents"])
        for expected in snap["incidents"]:
            check_incident(stored[expected["key"]], expected, snap["name"], upstream)


def test_second_poll_of_same_snapshot_changes_nothing(
    upstream: Upstream, make_settings, tmp_path
) -> None:
    upstream.load("t3")
    settings = make_settings(
        sources=upstream.sources_toml("t3", tmp_path / "s.toml"), detail_refresh_seconds=0
    )
    with Runtime.open(settings) as runtime:
        first = runtime.poll(polled_at("t3"))
        before = {i.key: i for i in runtime.store.iter_incidents()}
        generation = runtime.store.generation()
        upstream.log.clear()
        second = runtime.poll(polled_at("t3").replace(hour=23))
        after = {i.key: i for i in runtime.store.iter_incidents()}
        assert runtime.store.generation() == generation
    assert first.new_keys and not second.new_keys and not second.changed_keys
    assert before == after  # updated_at did not move because a poll happened
    assert all(s.outcome == "not modified" for s in second.sources)
    assert second.details_not_modified == len([k for k, _ in upstream.log if "x=read" in k])
    assert {status for _, status in upstream.log} == {304}


@pytest.mark.slow
@pytest.mark.parametrize("order", [["t3", "t1", "t2"], ["t2", "t3", "t1"]])
def test_snapshots_in_any_order_give_the_same_incidents(
    upstream, make_settings, tmp_path, order
) -> None:
    """Merging is order-independent over real polls (observation times kept per snapshot)."""
    results = []
    for run, sequence in enumerate([["t1", "t2", "t3"], order]):
        settings = make_settings(data_dir=tmp_path / f"run{run}", detail_refresh_seconds=0)
        for name in sequence:
            upstream.load(name)
            settings = make_settings(
                data_dir=tmp_path / f"run{run}",
                sources=upstream.sources_toml("t3", tmp_path / "s.toml"),
                detail_refresh_seconds=0,
            )
            with Runtime.open(settings) as runtime:
                runtime.poll(polled_at(name))
        with Runtime.open(settings) as runtime:
            results.append({i.key: i for i in runtime.store.iter_incidents()})
    assert results[0].keys() == results[1].keys()
    for key in results[0]:
        a, b = results[0][key], results[1][key]
        assert (a.status, a.systems, a.oids, a.published_at, a.upstream_updated_at) == (
            b.status,
            b.systems,
            b.oids,
            b.published_at,
            b.upstream_updated_at,
        ), key


def test_detail_pages_are_reread_only_when_new_changed_or_due(
    upstream: Upstream, make_settings, tmp_path
) -> None:
    from datetime import timedelta

    upstream.load("t1")
    settings = make_settings(
        sources=upstream.sources_toml("t1", tmp_path / "s.toml"), detail_refresh_seconds=3600
    )
    with Runtime.open(settings) as runtime:
        first = runtime.poll(polled_at("t1"))
        assert first.details_fetched == 13
        upstream.log.clear()
        quiet = runtime.poll(polled_at("t1") + timedelta(minutes=5))
        assert quiet.details_fetched + quiet.details_not_modified == 0  # nothing new, nothing due
        assert not [k for k, _ in upstream.log if "x=read" in k]
        # the overview now shows 2461170 as changed (t2): only its detail page is read again
        upstream.load("t2")
        upstream.log.clear()
        changed = runtime.poll(polled_at("t1") + timedelta(minutes=10))
        details = sorted(k for k, _ in upstream.log if "x=read" in k)
        assert "/data.aspx?lang=us&oid=2461170&x=read" in details
        assert "/data.aspx?lang=us&oid=2460590&x=read" not in details  # unchanged, not due
        assert changed.details_fetched == len(details)
        upstream.log.clear()
        due = runtime.poll(polled_at("t1") + timedelta(hours=2))
        assert due.details_not_modified + due.details_fetched >= 12  # refresh period passed
