"""The Statuspage-compatible API (/api/v2/...): Statuspage's documented shape, the mapping
rules on a fixed clock, consistency with /api/incidents.json and /api/systems.json, served and
exported like every document, and read by a monitoring tool written for Statuspage."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.serving import make_server

from app import create_app
from app.model import Kind, Lang, Status, Window
from app.runtime import Runtime
from app.service import Service
from app.site.documents import StatuspageApi, StatuspagePart
from app.site.statuspage import (
    ComponentStatus,
    Indicator,
    MaintenanceStatus,
    components,
    last_change,
    maintenance_status,
    view_of,
)
from tests.archives import archive_of, put
from tests.conftest import FIXTURES, Upstream, copy_for_test
from tests.test_state import CATALOGUE, DISRUPTION, NOW, H, incident, window

DOCUMENTED = FIXTURES / "statuspage"
ENUMS = json.loads((DOCUMENTED / "enums.json").read_text(encoding="utf-8"))
PARTS = [part.value for part in StatuspagePart]
IN_WINDOW = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)  # the Gateways window 10:00-11:00 UTC
# fields toldfeed has no value for although Statuspage's example has one: null here
NO_VALUE = {("components", "created_at")}
STATE_TO_STATUS = {
    "disrupted": "partial_outage",
    "maintenance": "under_maintenance",
    "operational": "operational",
}


def fixture(part: str) -> dict[str, Any]:
    return json.loads((DOCUMENTED / f"{part.replace('/', '-')}.json").read_text(encoding="utf-8"))


def get(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    data: dict[str, Any] = json.loads(response.data)
    return data


@pytest.fixture(scope="module")
def in_window_data_dir(
    filled_data_dir: Path, make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The t3 store polled again during the DMS window, once per module: every list has items.
    Read-only: tests get a copy (``in_window``)."""
    directory = tmp_path_factory.mktemp("in-window")
    up = Upstream(make_httpserver)
    up.serve()
    try:
        settings = copy_for_test(filled_data_dir, up, directory)
        with Runtime.open(settings) as runtime:
            Service(runtime, clock=lambda: IN_WINDOW).poll_once(force=True)
    finally:
        make_httpserver.clear_all_handlers()  # each test's ``upstream`` registers its own
    return settings.data_dir


@pytest.fixture
def in_window(in_window_data_dir: Path, upstream: Upstream, tmp_path: Path) -> Iterator[Any]:
    """A client of a copy of ``in_window_data_dir`` (beside ``filled``'s, for tests with both)."""
    settings = copy_for_test(in_window_data_dir, upstream, tmp_path / "in-window")
    app = create_app(settings, poll=False)
    yield app.test_client()
    app.extensions["toldfeed"].runtime.close()


# the documented shape ------------------------------------------------------------------------


def shape_errors(ours: Any, documented: Any, where: str, parent: str = "") -> list[str]:
    """How ``ours`` differs from a documented example: it must have exactly the documented
    fields, each with the documented JSON type (null where the example has null, or where
    toldfeed has no value); each list item must match one of the documented items."""
    if documented is None:
        return [] if ours is None or isinstance(ours, str) else [f"{where}: {ours!r}"]
    if ours is None:
        return [] if (parent, where.rsplit(".", 1)[-1]) in NO_VALUE else [f"{where} is null"]
    if type(ours) is not type(documented):
        return [f"{where}: {type(ours).__name__}, documented {type(documented).__name__}"]
    if isinstance(documented, dict):
        if sorted(ours) != sorted(documented):
            return [f"{where}: fields {sorted(set(ours) ^ set(documented))}"]
        return [
            e
            for k in documented
            for e in shape_errors(ours[k], documented[k], f"{where}.{k}", parent)
        ]
    if isinstance(documented, list):
        if not ours:
            return [f"{where} is empty: nothing to compare"]
        errors = []
        for item in ours:
            tries = [
                shape_errors(item, d, f"{where}[]", where.rsplit(".", 1)[-1]) for d in documented
            ]
            errors += min(tries, key=len)
        return errors
    return []


def times_of(value: Any, key: str = "") -> Iterator[str]:
    """Every non-null time in a document (keys ending in ``_at``, ``scheduled_*``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from times_of(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from times_of(item, key)
    elif isinstance(value, str) and (key.endswith("_at") or key.startswith("scheduled_")):
        yield value


@pytest.mark.parametrize("part", PARTS)
def test_every_documented_field_with_its_documented_type(in_window, part: str) -> None:
    for prefix in ("", "/da"):
        ours = get(in_window, f"{prefix}/api/v2/{part}.json")
        assert shape_errors(ours, fixture(part), part) == []
        for text in times_of(ours):  # ISO 8601 with an offset
            assert datetime.fromisoformat(text).utcoffset() is not None, text


def test_enumerated_values_are_documented_values(in_window, client) -> None:
    seen: dict[str, set[str]] = {name: set() for name in ENUMS}
    for app in (in_window, client):
        summary = get(app, "/api/v2/summary.json")
        seen["status.indicator"].add(summary["status"]["indicator"])
        listed = [
            *get(app, "/api/v2/incidents.json")["incidents"],
            *get(app, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"],
        ]
        comps = summary["components"] + [c for i in listed for c in i["components"]]
        seen["component.status"] |= {c["status"] for c in comps}
        for item in listed:
            kind = "scheduled_maintenance" if "scheduled_for" in item else "incident"
            seen[f"{kind}.status"].add(item["status"])
            seen["incident.impact"].add(item["impact"])
            seen["incident_update.status"] |= {u["status"] for u in item["incident_updates"]}
    for name, values in seen.items():
        assert values and values <= set(ENUMS[name]), (name, values)
    # every value toldfeed can give was given by these two stores
    assert seen["component.status"] == {s.value for s in ComponentStatus}
    assert seen["status.indicator"] == {"minor"}  # a disruption is open in both
    assert seen["scheduled_maintenance.status"] == {s.value for s in MaintenanceStatus}
    assert seen["incident.status"] == {"investigating", "resolved"}


# the rules, on a fixed clock -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "record", "expected"),
    [
        ("before its start", incident("WO1", window=window(2, 5)), "scheduled"),
        ("in progress", incident("WO1", window=window(-1, 4)), "in_progress"),
        ("open end", incident("WO1", window=window(-1, None)), "in_progress"),
        ("past its end, open", incident("WO1", window=window(-5, -1)), "completed"),
        ("cancelled", incident("WO1", window=window(2, 5, cancelled=True)), "completed"),
        (
            "closed early",
            incident("WO1", window=window(2, 5), status=Status.CLOSED),
            "completed",
        ),
    ],
)
def test_a_maintenance_status_follows_its_window(case: str, record: Any, expected: str) -> None:
    assert maintenance_status(record, NOW) == expected, case


def test_components_and_indicator_follow_the_system_states(tmp_path: Path) -> None:
    def summary(*records: Any) -> Any:
        doc = StatuspageApi(Lang.EN)
        archive = archive_of(tmp_path / str(len(list(tmp_path.iterdir()))), records)
        return view_of(doc, archive, CATALOGUE, NOW, known=True)

    quiet = summary()
    assert quiet.indicator is Indicator.NONE and not quiet.incidents and not quiet.maintenances
    assert [c.slug for c in quiet.components] == [s.slug for s in CATALOGUE.systems if not s.legacy]
    works = incident("WO1", window=window(-1, 2), systems=("dms-import", "manifest"))
    coming = incident("WO2", window=window(3, 4), systems=("emcs",))
    view = summary(works, coming)
    status = {c.slug: c.status for c in view.components}
    assert status["dms-import"] is status["manifest"] is ComponentStatus.UNDER_MAINTENANCE
    assert status["emcs"] is ComponentStatus.OPERATIONAL
    assert view.indicator is Indicator.MAINTENANCE
    assert [m.incident.key for m in view.maintenances] == ["WO1", "WO2"]  # the soonest first
    down = incident("INC1", systems=("dms-import",), **DISRUPTION)
    view = summary(works, coming, down)
    status = {c.slug: c.status for c in view.components}
    assert status["dms-import"] is ComponentStatus.PARTIAL_OUTAGE  # outranks the window
    assert status["manifest"] is ComponentStatus.UNDER_MAINTENANCE
    assert view.indicator is Indicator.MINOR
    assert [i.incident.key for i in view.incidents] == ["INC1"]


def test_updated_at_is_the_last_change_a_window_included(tmp_path: Path) -> None:
    works = incident("WO1", window=window(-1, 2))  # updated 24 h ago, started 1 h ago
    assert last_change([works], NOW) == NOW - H
    assert last_change([works], NOW + 3 * H) == NOW + 2 * H  # and ended
    cancelled = incident("WO2", window=window(-1, 2, cancelled=True))
    assert last_change([cancelled], NOW) == cancelled.updated_at
    # a disruption's window changes nothing shown (it is in an outage either way)
    down = incident("INC1", window=window(-1, 2), **DISRUPTION)
    assert last_change([down], NOW) == down.updated_at
    comps = {c.slug: c for c in components(archive_of(tmp_path, [works]), CATALOGUE, NOW)}
    assert comps["dms-import"].updated_at == NOW - H and comps["emcs"].updated_at is None


def test_a_window_without_a_known_end_is_a_maintenance_without_scheduled_until(filled) -> None:
    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        key = "WO0000001589016"
        record = runtime.store.incident(key)
        assert record is not None and record.window is not None
        opened = replace(record, window=Window(record.window.start_at, None))
        put(runtime.store, [opened])
        doc = StatuspageApi(Lang.EN, StatuspagePart.UPCOMING)
        ctx, _ = service.page_context()
        rendered = service.publisher.renderer.render(doc, service.publisher.archive, ctx, None)
    body = json.loads(rendered.body)
    listed = {m["id"]: m for m in body["scheduled_maintenances"]}
    assert listed[key]["scheduled_until"] is None
    assert listed[key]["scheduled_for"] == "2026-05-30T06:00:00+00:00"


# consistency with toldfeed's own APIs ----------------------------------------------------------


def check_consistent(client: Any, catalogue: Any) -> None:
    """The v2 documents of a store say what /api/incidents.json and /api/systems.json say."""
    api = get(client, "/api/incidents.json?limit=500")["incidents"]
    systems = get(client, "/api/systems.json")["systems"]
    summary = get(client, "/api/v2/summary.json")
    comps = get(client, "/api/v2/components.json")["components"]
    assert comps == summary["components"]
    components_ = [s.slug for s in catalogue.systems if not s.legacy]
    assert [c["id"] for c in comps] == components_
    for component in comps:
        assert component["status"] == STATE_TO_STATUS[systems[component["id"]]["state"]]
    worst = {c["status"] for c in comps}
    indicator = get(client, "/api/v2/status.json")["status"]["indicator"]
    assert indicator == summary["status"]["indicator"]
    assert indicator == (
        "minor"
        if "partial_outage" in worst
        else "maintenance"
        if "under_maintenance" in worst
        else "none"
    )
    by_key = {i["key"]: i for i in api}
    disruptions = {k for k, i in by_key.items() if i["kind"] == Kind.DISRUPTION}
    windows = {k for k, i in by_key.items() if i["kind"] == Kind.SCHEDULED and i["window"]}
    opened = {k for k in disruptions if by_key[k]["status"] != Status.CLOSED}
    incidents = get(client, "/api/v2/incidents.json")["incidents"]
    unresolved = get(client, "/api/v2/incidents/unresolved.json")["incidents"]
    maintenances = get(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert {i["id"] for i in incidents} == disruptions and disruptions
    assert {i["id"] for i in unresolved} == opened == {i["id"] for i in summary["incidents"]}
    assert {m["id"] for m in maintenances} == windows
    # a system's open incidents (systems.json) are the unresolved ones and the open windows
    for slug in components_:
        named = set(systems[slug]["incidents"])
        assert {i["id"] for i in unresolved if slug in {c["id"] for c in i["components"]}} == (
            named & opened
        )
    for item in [*incidents, *maintenances]:
        source = by_key[item["id"]]
        assert item["name"] == source["title"]["en"]
        assert item["shortlink"].endswith(f"/incidents/{item['id']}")
        assert [c["id"] for c in item["components"]] == [
            s for s in source["systems"] if s in components_
        ]
        assert item["created_at"] == source["published_at"]
        assert item["updated_at"] == source["updated_at"]
        closed = source["status"] == Status.CLOSED
        assert (item["status"] in {"resolved", "completed"}) >= closed
        if closed:
            assert item["resolved_at"] == source["closed_at"]
        if "scheduled_for" in item:
            assert item["scheduled_for"] == source["window"]["start"]
            assert item["scheduled_until"] == source["window"]["end"]
        updates = item["incident_updates"]
        assert updates[0]["status"] == item["status"]
        assert updates[-1]["created_at"] == item["created_at"]  # the message it began with
        assert [u["created_at"] for u in updates] == sorted(
            (u["created_at"] for u in updates), reverse=True
        )
        assert len({u["id"] for u in updates}) == len(updates)
    # the summary's maintenances: the upcoming and the active ones
    upcoming = get(client, "/api/v2/scheduled-maintenances/upcoming.json")
    active = get(client, "/api/v2/scheduled-maintenances/active.json")
    listed_now = upcoming["scheduled_maintenances"] + active["scheduled_maintenances"]
    assert {m["status"] for m in upcoming["scheduled_maintenances"]} <= {"scheduled"}
    assert {m["status"] for m in active["scheduled_maintenances"]} <= {"in_progress"}
    assert {m["id"] for m in summary["scheduled_maintenances"]} == {m["id"] for m in listed_now}
    # a component is under maintenance exactly when an active maintenance names it (and no
    # open disruption does)
    in_works = {c["id"] for m in active["scheduled_maintenances"] for c in m["components"]}
    down = {c["id"] for c in comps if c["status"] == "partial_outage"}
    assert {c["id"] for c in comps if c["status"] == "under_maintenance"} == in_works - down
    assert summary["page"]["url"] == "http://feeds.example.test"


def test_consistent_with_the_incidents_and_systems_apis(client, in_window) -> None:
    catalogue = client.application.extensions["toldfeed"].runtime.catalogue
    check_consistent(client, catalogue)
    check_consistent(in_window, catalogue)
    active = get(in_window, "/api/v2/scheduled-maintenances/active.json")
    assert [m["id"] for m in active["scheduled_maintenances"]] == ["WO0000001586738"]
    assert get(in_window, "/api/v2/status.json")["status"]["indicator"] == "minor"


def test_danish_under_da(client) -> None:
    english = get(client, "/api/v2/summary.json")
    danish = get(client, "/da/api/v2/summary.json")
    assert danish["page"]["name"] == "Toldsystemerne (toldfeed)"
    assert danish["status"]["description"] == "Driftsforstyrrelse"
    assert english["status"]["description"] == "Minor Service Outage"
    api = {i["key"]: i for i in get(client, "/api/incidents.json")["incidents"]}
    for item in danish["incidents"]:
        assert item["name"] == api[item["id"]]["title"]["da"]
        assert "/da/incidents/" in item["shortlink"]
    assert [c["id"] for c in danish["components"]] == [c["id"] for c in english["components"]]


def test_the_status_says_when_the_state_is_not_known(filled) -> None:
    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        ctx, _ = service.page_context()
        blind = replace(ctx, blind_notice={Lang.EN: "cannot read"})
        doc = StatuspageApi(Lang.EN, StatuspagePart.STATUS)
        rendered = service.publisher.renderer.render(doc, service.publisher.archive, blind, None)
    status = json.loads(rendered.body)["status"]
    assert status["indicator"] == "minor"  # the last known state
    assert status["description"] == (
        "State unknown: toldfeed cannot read the agency's status page now; "
        "last known: Minor Service Outage"
    )


# served, exported, rendered like every document ----------------------------------------------


def test_served_like_every_document(client) -> None:
    for part in PARTS:
        for path in (f"/api/v2/{part}.json", f"/da/api/v2/{part}.json"):
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            etag = response.headers["ETag"]
            again = client.get(path, headers={"If-None-Match": etag})
            assert again.status_code == 304 and not again.data
            zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(zipped.data) == response.data
            assert client.head(path).status_code == 200
            assert client.options(path).status_code == 204
    assert client.get("/api/v2/nope.json").status_code == 404
    assert client.get("/api/v2/incidents/nope.json").status_code == 404


def test_exported_as_served(filled, tmp_path: Path) -> None:
    from app.cli.export import export_all

    export_all(filled, tmp_path / "site")
    app = create_app(filled, poll=False)
    client = app.test_client()
    for part in PARTS:
        for prefix in ("", "da/"):
            rel = f"{prefix}api/v2/{part}.json"
            served = client.get(f"/{rel}").data
            assert (tmp_path / "site" / rel).read_bytes() == served, rel
    app.extensions["toldfeed"].runtime.close()


def test_rendered_again_only_when_what_they_show_changed(filled) -> None:
    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        service.ensure_published()
        ctx, notice = service.page_context()
        service.publish([], (ctx, notice))

    def publish_at(moment: datetime) -> tuple[set[StatuspagePart], set[StatuspagePart]]:
        later = (replace(ctx, refreshed_at=moment), notice)
        with Runtime.open(filled) as runtime:  # a new process (a cron poll): cold caches
            service = Service(runtime)
            service.publish([], later)
            rendered = service.publisher.rendered
            changed = service.publisher.changed
        return (
            {d.part for d in rendered if isinstance(d, StatuspageApi)},
            {d.part for d in changed if isinstance(d, StatuspageApi)},
        )

    assert ctx.refreshed_at is not None
    rendered, changed = publish_at(ctx.refreshed_at + timedelta(seconds=1))
    assert rendered == changed == set()  # a quiet poll: nothing they show moved
    rendered, changed = publish_at(IN_WINDOW)  # the Gateways window started
    assert changed == rendered
    assert {
        StatuspagePart.SUMMARY,
        StatuspagePart.STATUS,
        StatuspagePart.COMPONENTS,
        StatuspagePart.UPCOMING,
        StatuspagePart.ACTIVE,
        StatuspagePart.MAINTENANCES,
    } <= changed


def test_a_changed_incident_changes_the_parts_that_show_it(filled) -> None:
    from app.model import Update
    from app.store import Batch, Store

    def change(service: Service, runtime: Runtime, new: Any, ctx: Any) -> set[Any]:
        batch = Batch()
        Store.stage_incident(batch, new)  # as a poll would: the incident and a generation
        count = runtime.store.incident_count()
        Store.stage_generation(batch, runtime.store.generation() + 1, count)
        runtime.store.commit(batch)
        service.publish([new.key], ctx)
        return {(d.lang, d.part) for d in service.publisher.changed if isinstance(d, StatuspageApi)}

    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        service.ensure_published()
        ctx = service.page_context()
        service.publish([], ctx)
        incident = service.publisher.archive.get("INC000001822307")  # the open disruption
        assert incident is not None
        # a line more, its updated_at as it was: only the parts listing the incident move
        line = Update("Update 09:00 - Still slow.", Lang.EN, at=incident.updated_at)
        more = replace(incident, updates=(line, *incident.updates))
        listing = {StatuspagePart.SUMMARY, StatuspagePart.INCIDENTS, StatuspagePart.UNRESOLVED}
        assert change(service, runtime, more, ctx) == {(Lang.EN, p) for p in listing}
        # a later change: the page's updated_at, in every part, and its component's
        later = replace(more, updated_at=incident.updated_at + timedelta(minutes=5))
        assert change(service, runtime, later, ctx) == {
            (lang, part) for lang in Lang for part in StatuspagePart
        }


# a client written for Statuspage ---------------------------------------------------------------


def test_a_statuspage_monitoring_tool_reads_the_summary(
    filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """statuspage-prometheus-exporter (PyPI), which polls Statuspage summary APIs for
    Prometheus, reads /api/v2/summary.json over HTTP as it reads any Statuspage page."""
    app = create_app(filled, poll=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}/api/v2/summary.json"
    monkeypatch.chdir(tmp_path)  # it keeps a cache beside it
    (tmp_path / "services.json").write_text(json.dumps({"toldfeed": {"url": url}}))
    monkeypatch.setenv("SERVICES_JSON_PATH", str(tmp_path / "services.json"))
    try:
        from statuspage_prometheus_exporter.service_checker import check_status_page_service

        result = check_status_page_service("toldfeed", {"url": url, "name": "toldfeed"})
    finally:
        server.shutdown()
        thread.join()
        app.extensions["toldfeed"].runtime.close()
    assert result["success"] is True, result.get("error")
    assert result["raw_status"] == "minor" and result["status"] == 0
    statuses = {c["name"]: c["status"] for c in result["component_metadata"]}
    assert statuses["DMS Transit (NCTS)"] == "partial_outage"
    assert statuses["DMS Import"] == "operational"
    [incident] = result["incident_metadata"]
    assert incident["id"] == "INC000001822307" and incident["impact"] == "minor"
    assert incident["shortlink"].endswith("/incidents/INC000001822307")
    assert incident["affected_components"] == ["DMS Transit (NCTS)"]
    coming = {m["id"]: m for m in result["maintenance_metadata"]}
    assert set(coming) == {"WO0000001586738", "WO0000001589016"}
    assert coming["WO0000001586738"]["scheduled_start"] == "2026-05-20T10:00:00+00:00"
