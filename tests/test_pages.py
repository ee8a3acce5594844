"""The status pages through the test client: index, system pages, incident pages, stats API.

The fixture store (``client``) is t1 → t2 → t3 polled at 09:30 on 20 May 2026: DMS Transit has
the ongoing disruption INC000001822307 (published 07:52 local), two service windows are to come.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from app import create_app
from app.merge import derive_incident
from app.model import Incident, Kind, Lang, Observation, SourceKind, Status, Update
from app.render.i18n import duration_words
from app.runtime import Runtime
from app.service import Service
from app.site.archive import Archive
from app.site.derived import derived_changes
from app.site.documents import HISTORY_PAGE, IncidentPage, SystemPage
from app.store import Batch, Store
from tests.archives import archive_of, put
from tests.conftest import Upstream, polled_at, settings_for

ATOM = "{http://www.w3.org/2005/Atom}"
ONGOING = "INC000001822307"
CLOSED_WINDOW = "WO0000001586573"


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped, whitespace folded."""
    html = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    return re.sub(r" ([,.;])", r"\1", text)


def local_path(url: str) -> str:
    return url.removeprefix("http://feeds.example.test")


# the index ---------------------------------------------------------------------------------


def test_index_says_in_one_line_what_is_down(client) -> None:
    html = client.get("/").get_data(as_text=True)
    line = re.search(r'<p class="overall s-(\w+)">(.*?)</p>', html)
    assert line is not None and line.group(1) == "disrupted"
    assert text_of(line.group(2)) == "✕ DMS Transit (NCTS): ongoing disruption since 07:52"
    text = text_of(html[html.index("<main") :])
    # then each system now, the open disruption with its newest update, the windows to come
    order = [
        text.index(s)
        for s in (
            "Systems now",
            "DMS Transit (NCTS) ✕ Ongoing disruption",
            "Open disruptions",
            "Delayed processing of transit declarations",
            "Newest update: Update 08:40 - Processing times",  # its time once, not twice
            "Service windows",
            "Wednesday 20 May 2026, 12:00-13:00 Danish time to come",
            "Recently closed",
            "Subscribe",
        )
    ]
    assert order == sorted(order)
    assert "All times are Danish time (CET/CEST)." in text  # the page says its zone once
    assert "EMCS ✓ Operational" in text
    # the index links to system pages and incident pages
    assert 'href="http://feeds.example.test/systems/dms-transit"' in html
    assert f'href="http://feeds.example.test/incidents/{ONGOING}"' in html
    danish = client.get("/da/").get_data(as_text=True)
    line = re.search(r'<p class="overall s-disrupted">(.*?)</p>', danish)
    assert line is not None
    assert text_of(line.group(1)) == "✕ DMS Forsendelse (NCTS): driftsforstyrrelse siden kl. 07:52"
    assert 'href="http://feeds.example.test/da/systems/dms-transit"' in danish


def test_index_subscribing_is_compact_and_every_link_answers(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert html.count('rel="alternate"') == 3 * (4 + 14)  # autodiscovery stays
    assert "<script" not in html
    start = html.index('id="subscribe"')
    section = html[start : html.index("</section>", start)]
    links = re.findall(r'href="(http://feeds\.example\.test/[^"]+)"', section)
    assert len([u for u in links if u.endswith(".atom")]) == 4 + 14
    assert len([u for u in links if u.endswith(".ics")]) == 1 + 14
    for url in links:
        assert client.get(local_path(url)).status_code == 200, url


def test_index_says_all_is_well_when_nothing_is_open(closed_store) -> None:
    app = create_app(closed_store, poll=False)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    line = re.search(r'<p class="overall s-(\w+)">(.*?)</p>', html)
    assert line is not None and line.group(1) == "operational"
    assert text_of(line.group(2)) == "✓ All systems operational"
    assert "No open disruptions." in html and "No service window announced." in html
    danish = client.get("/da/").get_data(as_text=True)
    assert "Alle systemer er i drift" in danish
    app.extensions["toldfeed"].runtime.close()


def test_a_fallback_allowed_is_said_on_every_page_that_shows_the_state(filled) -> None:
    from app.model import Fallback

    with Runtime.open(filled) as runtime:
        store = runtime.store
        transit = store.incident("INC000001822307")
        assert transit is not None and transit.status is Status.CURRENT
        batch = Batch()
        since = transit.updated_at
        Store.stage_incident(batch, replace(transit, fallback=Fallback(True, since)))
        Store.stage_generation(batch, store.generation() + 1, store.incident_count())
        store.commit(batch)
    app = create_app(filled, poll=False)
    try:
        client = app.test_client()
        for path in ("/", "/systems/dms-transit", "/embed/dms-transit"):
            assert "Fallback procedure: allowed" in text_of(
                client.get(path).get_data(as_text=True)
            ), path
        danish = text_of(client.get("/da/").get_data(as_text=True))
        assert "Nødprocedure: tilladt" in danish
        systems = client.get("/api/systems.json").get_json()["systems"]
        assert systems["dms-transit"]["fallback_allowed"] is True
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_index_in_a_window_says_maintenance_until(filled, upstream: Upstream) -> None:
    in_window = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)  # 12:30 local, Gateways 12:00-13:00
    with Runtime.open(filled) as runtime:
        Service(runtime, clock=lambda: in_window).poll_once(force=True)
    app = create_app(filled, poll=False)
    html = app.test_client().get("/").get_data(as_text=True)
    # the disruption outranks the window in the one line; the systems say maintenance
    assert "DMS Transit (NCTS): ongoing disruption since 07:52" in html
    assert "DMS Import ◆ Maintenance until 13:00" in text_of(html)
    assert "12:00-13:00 Danish time started 12:00" in text_of(html)
    app.extensions["toldfeed"].runtime.close()


# a system's page ---------------------------------------------------------------------------


def nearest_rank(durations: list[timedelta], p: int) -> timedelta:
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def test_system_page_has_state_strip_months_and_time_to_close(client) -> None:
    html = client.get("/systems/dms-transit").get_data(as_text=True)
    assert "<script" not in html
    text = text_of(html)
    assert "State now ✕ Ongoing disruption" in text
    assert "Delayed processing of transit declarations since 07:52" in text
    assert "Next service window: Wednesday 20 May 2026, 12:00-13:00 Danish time" in text
    svg = re.search(r"<svg .*?</svg>", html, flags=re.S)
    assert svg is not None
    root = ET.fromstring(svg.group(0))
    bars = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 90
    tips = [bar.find("{http://www.w3.org/2000/svg}title").text for bar in bars]
    assert tips[-1].startswith("20 May 2026: disrupted · INC000001822307 Delayed processing")
    assert tips[0].startswith("20 February 2026: ")
    assert sum(": operational · no incident" in t for t in tips) > 0
    # height as well as colour says the state
    heights = {bar.get("class"): bar.get("height") for bar in bars}
    assert heights == {"b-disrupted": "40", "b-maintenance": "26", "b-operational": "12"}
    table = re.search(r"<tbody>(.*?)</tbody>", html, flags=re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), flags=re.S)
    assert len(rows) == 12
    assert text_of(rows[0]).startswith("May 2026 (so far) 1 ")
    assert text_of(rows[-1]).startswith("June 2025 0 0.0 0 0.0")
    # time to close, worked out here from the API's incidents
    api = json.loads(client.get("/api/incidents.json?system=dms-transit&limit=500").data)
    durations = [
        datetime.fromisoformat(i["closed_at"]) - datetime.fromisoformat(i["published_at"])
        for i in api["incidents"]
        if i["kind"] == "disruption" and i["status"] == "closed" and i["closed_at"]
    ]
    median = duration_words(nearest_rank(durations, 50), Lang.EN)
    p90 = duration_words(nearest_rank(durations, 90), Lang.EN)
    assert (
        f"Median {median}; 90th percentile {p90}; over {len(durations)} closed disruptions." in text
    )
    assert len(durations) >= 2
    # every incident of the system, newest first, each linking to its page
    section = html[html.index('id="h-incidents"') :]
    listed = re.findall(r'href="http://feeds\.example\.test/incidents/([^"]+)"', section)
    newest_first = sorted(
        api["incidents"], key=lambda i: (i["published_at"], i["key"]), reverse=True
    )
    assert listed == [i["key"].replace(":", "-") for i in newest_first]
    assert listed[0] == ONGOING and CLOSED_WINDOW in listed and len(listed) <= HISTORY_PAGE


def test_system_page_in_danish(client) -> None:
    text = text_of(client.get("/da/systems/dms-transit").get_data(as_text=True))
    assert "DMS Forsendelse (NCTS)" in text
    assert "Status nu ✕ Driftsforstyrrelse nu" in text
    assert "De seneste 90 dage" in text and "maj 2026 (indtil nu)" in text
    assert "Median " in text and "90. percentil" in text


def test_page_frames_are_accessible(client) -> None:
    for path in ("/", "/systems/dms-transit", f"/incidents/{ONGOING}", "/da/incidents/oid-2460944"):
        html = client.get(path).get_data(as_text=True)
        for landmark in ("<header", "<main", "<nav", "<footer"):
            assert landmark in html, (path, landmark)
        levels = [int(n) for n in re.findall(r"<h([1-6])\b", html)]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), path
        assert "prefers-color-scheme:dark" in html and "<script" not in html


# an incident's page ------------------------------------------------------------------------


def test_incident_page_shows_everything_known(client) -> None:
    html = client.get(f"/incidents/{CLOSED_WINDOW}").get_data(as_text=True)
    text = text_of(html)
    for fact in (
        "PRD-servicewindow DMS Tuesday May 19, 2026",
        "✓ Closed",
        "Kind Service window",
        "Systems DMS Export, DMS Import, DMS Transit (NCTS), Manifest",
        "Service window Tuesday 19 May 2026, 18:30-23:00 Danish time",
        "Fallback procedure restricted, only in the cases the message names (no general permission)",
        "Published 12 May 2026 14:28",
        "Closed 19 May 2026 21:50",
        "References WO0000001586573",
    ):
        assert fact in text, fact
    # the whole timeline, newest first, ending with its creation
    order = [
        text.index(s)
        for s in (
            "19 May 2026 21:46 — Update 21:46 - The service window has ended",
            "19 May 2026 18:12 — Update 18:12 - The start of the service window is postponed",
            "12 May 2026 14:28 — Created",
        )
    ]
    assert order == sorted(order)
    # the message's text in both languages and the official links
    assert "Files sent to DMS Import/DMS Export/DMS Forsendelse will fail" in text
    assert "The message in Danish" in text and "Servicevinduet er slut" in text
    assert re.search(r'<a href="[^"]*oid=2461170&amp;x=read"[^>]*>English</a>', html)
    danish = text_of(client.get(f"/da/incidents/{CLOSED_WINDOW}").get_data(as_text=True))
    assert "Opdatering 21:46 - Servicevinduet er slut" in danish and "Afsluttet" in danish


def test_incident_keyed_by_oid_has_a_page(client) -> None:
    response = client.get("/incidents/oid-2460944")
    assert response.status_code == 200
    assert client.get("/incidents/oid-2460944.html").data == response.data


def test_every_feed_entry_links_its_incident_page(client) -> None:
    atom = client.get("/feeds/all.atom").data
    entries = ET.fromstring(atom).findall(f"{ATOM}entry")
    assert len(entries) == 14
    for entry in entries:
        rels = {link.get("rel"): link.get("href") for link in entry.findall(f"{ATOM}link")}
        assert set(rels) == {"alternate", "related"}
        assert "info" not in rels["related"] and "/incidents/" in rels["related"]
        assert client.get(local_path(rels["related"])).status_code == 200
    parsed = feedparser.parse(atom)
    assert all(e.link.startswith("http://127.0.0.1:") for e in parsed.entries)  # still official
    feed = json.loads(client.get("/da/feeds/all.json").data)
    pages = [item["_toldfeed"]["page"] for item in feed["items"]]
    assert all(p.startswith("http://feeds.example.test/da/incidents/") for p in pages)
    assert client.get(local_path(pages[0])).status_code == 200
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    assert all('rel="related"' in e.description for e in rss.entries)


# the figures as JSON -----------------------------------------------------------------------


def test_stats_api(client) -> None:
    response = client.get("/api/stats.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    doc = json.loads(response.data)
    assert doc["generated_at"] == polled_at("t3").isoformat()
    state = client.application.extensions["toldfeed"]
    assert list(doc["systems"]) == list(state.runtime.catalogue.slugs)
    transit = doc["systems"]["dms-transit"]
    assert [m["month"] for m in transit["months"]][-1] == "2026-05"
    assert len(transit["months"]) == 12
    # the ongoing disruption counts up to 09:30 (published 07:52): 1.63 hours in May
    assert transit["months"][-1]["disruptions"] == 1
    assert transit["months"][-1]["hours_disrupted"] == pytest.approx(98 / 60, abs=0.01)
    assert transit["time_to_close"]["count"] >= 2
    assert doc["time_to_close"]["count"] >= transit["time_to_close"]["count"]
    assert transit["name"] == "DMS Transit (NCTS)"
    # the same figures in Danish, under the system names of Danish pages
    danish = client.get("/da/api/stats.json")
    assert (
        danish.status_code == 200
        and danish.headers["Content-Type"] == response.headers["Content-Type"]
    )
    dansk = json.loads(danish.data)
    assert dansk["systems"]["dms-transit"]["name"] == "DMS Forsendelse (NCTS)"
    for figures in (dansk, doc):
        for system in figures["systems"].values():
            del system["name"]
    assert dansk == doc
    # each language's pages link to their own
    assert 'href="http://feeds.example.test/da/api/stats.json"' in client.get("/da/").get_data(
        as_text=True
    )


# what is not there -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/systems/nope", 404, "valid systems: dms-import, dms-export"),
        ("/da/systems/nope", 404, "valid systems"),
        ("/incidents/INC000000000001", 404, "no incident 'INC000000000001' is stored"),
        ("/incidents/oid-1", 404, "no incident 'oid-1' is stored"),
        ("/incidents/hello", 404, "reference (INC + 12 digits, WO + 13 digits) or oid-<number>"),
        ("/systems/dms-transit/page/2", 404, "dms-transit has 1 page of incidents"),
        ("/systems/dms-transit/page/1", 404, "page 1 is /systems/<system>"),
        ("/systems/dms-transit?page=2", 404, "dms-transit has 1 page"),
        ("/systems/dms-transit?page=two", 400, "page must be a whole number"),
    ],
)
def test_unknown_pages_get_a_404_saying_what_is_valid(client, url: str, status: int, says: str):
    response = client.get(url)
    assert response.status_code == status
    assert says in response.get_data(as_text=True)


def test_export_writes_system_and_incident_pages_and_stats(filled, tmp_path: Path) -> None:
    from app.cli.export import export_all

    export_all(filled, tmp_path / "site")
    site = tmp_path / "site"
    for rel in (
        "systems/dms-transit.html",
        "da/systems/ics.html",
        f"incidents/{ONGOING}.html",
        f"da/incidents/{CLOSED_WINDOW}.html",
        "incidents/oid-2460944.html",
        "api/stats.json",
        "da/api/stats.json",
    ):
        assert (site / rel).is_file(), rel
    assert len(list((site / "incidents").glob("*.html"))) == 14
    json.loads((site / "api/stats.json").read_bytes())
    index = (site / "index.html").read_text(encoding="utf-8")
    # every page the index links to is in the export
    for url in re.findall(
        r'href="http://feeds\.example\.test/((?:systems|incidents)/[^"#]+)"', index
    ):
        assert (site / f"{url}.html").is_file(), url


# paging and what a change re-renders --------------------------------------------------------


def synthetic(n: int, systems: tuple[str, ...] = ("ics",)) -> tuple[Observation, Incident]:
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    oid = 5_000_000 + n
    ref = f"INC{n:012d}"
    obs = Observation(
        oid=oid,
        lang=Lang.EN,
        source_kind=SourceKind.PAGE,
        observed_at=at,
        link=f"https://info.skat.dk/data.aspx?lang=us&oid={oid}&x=read",
        title=f"Archived disruption {n}",
        ref=ref,
        refs=(ref,),
        systems=systems,
        status=Status.CLOSED,
        kind=Kind.DISRUPTION,
        created_at=at,
        last_updated_at=at + timedelta(minutes=30),
        message_html=f"<p>Disruption {n}</p>",
        message_text=f"Disruption {n}",
        updates=(Update("Update - fixed", Lang.EN, at=at + timedelta(minutes=30)),),
    )
    return obs, derive_incident([obs])


@pytest.fixture(scope="session")
def archive_data_dir(filled_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture store plus 120 archived disruptions of legacy ICS (three history pages), with
    every document rendered, once per run. Read-only: ``archive_store`` copies it."""
    directory = tmp_path_factory.mktemp("archive")
    shutil.copytree(filled_data_dir, directory / "data")
    settings = settings_for(directory, sources=filled_data_dir.parent / "sources.toml")
    with Runtime.open(settings) as runtime:
        batch = Batch()
        for n in range(120):
            obs, incident = synthetic(n)
            Store.stage_observations(batch, obs.oid, [obs])
            Store.stage_ref(batch, incident.key, [obs.oid])
            Store.stage_incident(batch, incident)
        store = runtime.store
        Store.stage_generation(batch, store.generation() + 1, store.incident_count() + 120)
        store.commit(batch)
        service = Service(runtime, clock=lambda: polled_at("t3") + timedelta(minutes=10))
        assert service.ensure_published()  # 120 more incidents: every document again
    return settings.data_dir


@pytest.fixture
def archive_store(filled, archive_data_dir: Path) -> Any:
    """``filled`` holding a copy of ``archive_data_dir``."""
    shutil.rmtree(filled.data_dir)
    shutil.copytree(archive_data_dir, filled.data_dir)
    return filled


def test_history_is_paged_fifty_at_a_time(archive_store, tmp_path: Path) -> None:
    from app.cli.export import export_all

    app = create_app(archive_store, poll=False)
    client = app.test_client()
    first = client.get("/systems/ics").get_data(as_text=True)
    assert "Page 1 of 3" in first and 'href="http://feeds.example.test/systems/ics/page/2"' in first
    keys = re.findall(r'href="http://feeds\.example\.test/incidents/(INC\d+)"', first)
    assert keys[0] == "INC000000000119" and len(set(keys)) == HISTORY_PAGE
    second = client.get("/systems/ics/page/2")
    assert second.status_code == 200
    keys = re.findall(r"/incidents/(INC\d+)", second.get_data(as_text=True))
    assert keys[0] == "INC000000000069" and len(set(keys)) == HISTORY_PAGE
    assert client.get("/systems/ics?page=2").data == second.data
    last = client.get("/da/systems/ics/page/3").get_data(as_text=True)
    assert "Side 3 af 3" in last and len(set(re.findall(r"/incidents/(INC\d+)", last))) == 20
    assert client.get("/systems/ics/page/4").status_code == 404
    app.extensions["toldfeed"].runtime.close()
    export_all(archive_store, tmp_path / "site")
    for rel in ("systems/ics.html", "systems/ics/page/2.html", "da/systems/ics/page/3.html"):
        assert (tmp_path / "site" / rel).is_file(), rel
    assert not (tmp_path / "site" / "systems/ics/page/4.html").exists()


def test_a_changed_incident_rewrites_its_own_pages_only(archive_store, upstream: Upstream):
    upstream.load("t3")
    page = "/data.aspx?lang=us&oid=2461231&x=read"  # a detail page of the t3 snapshot
    marker = b'<div class="rteContent">'
    upstream.documents[page] = upstream.documents[page].replace(
        marker, marker + b"<p>Update 10:01 - one more line</p>", 1
    )
    settings = replace(archive_store, detail_refresh_seconds=0)
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: polled_at("t3") + timedelta(minutes=10))
        service.ensure_published()
        before = {path: doc.etag for path, doc in service.publisher.stored().items()}
        report = service.poll_once(force=True)
        assert report is not None and len(report.changed_keys) == 1
        after = {path: doc.etag for path, doc in service.publisher.stored().items()}
    assert set(after) == set(before)
    rewritten = {path for path in after if after[path] != before[path]}
    key = report.changed_keys[0]
    assert {p for p in rewritten if p.startswith(("incidents/", "da/incidents/"))} == {
        f"incidents/{key}.html",
        f"da/incidents/{key}.html",
    }
    assert not [p for p in rewritten if "/page/" in p]
    assert len([p for p in after if "/page/" in p]) == 2 * 2  # ICS has pages 2 and 3


def history_counts(archive: Archive, incidents: list[Incident]) -> dict[str, int]:
    """How many incidents each system ``incidents`` name has (taken before a change, as the
    last publish stores them)."""
    return {slug: archive.history_count(slug) for i in incidents for slug in i.systems}


def test_derived_changes_follow_where_an_incident_stands(tmp_path: Path) -> None:
    incidents = [synthetic(n)[1] for n in range(120)]
    archive = archive_of(tmp_path, incidents)
    store = archive.holdings
    assert isinstance(store, Store)
    # an update in place (same publication time) touches only the page it stands on
    old = incidents[10]  # position 109 from the newest: page 3
    new = replace(old, updated_at=old.updated_at + timedelta(hours=1))
    before = history_counts(archive, [old, new])
    put(store, [new])
    render, delete = derived_changes(archive, before, [old, new])
    assert {d for d in render if isinstance(d, SystemPage)} == {
        SystemPage(Lang.EN, "ics", 3),
        SystemPage(Lang.DA, "ics", 3),
    }
    assert {d for d in render if isinstance(d, IncidentPage)} == {
        IncidentPage(lang, new.key) for lang in Lang
    }
    assert delete == []
    # a new incident on top shifts every later page by one; none is past the end yet
    fresh = synthetic(500)[1]
    before = history_counts(archive, [fresh])
    put(store, [fresh])
    render, delete = derived_changes(archive, before, [fresh])
    pages = sorted({d.page for d in render if isinstance(d, SystemPage)})
    assert pages == [2, 3] and delete == []
    # taking 21 away leaves two pages: page 3 is deleted
    gone = incidents[:21]
    before = history_counts(archive, gone)
    put(store, removed=[i.key for i in gone])
    render, delete = derived_changes(archive, before, gone)
    assert {d for d in delete if isinstance(d, SystemPage)} == {
        SystemPage(lang, "ics", 3) for lang in Lang
    }
    # page 2 is rendered again although no removed incident stood on it: its pager said "of 3"
    assert {d.page for d in render if isinstance(d, SystemPage)} == {2}
    assert len([d for d in delete if isinstance(d, IncidentPage)]) == 2 * 21


def test_hostile_upstream_content_never_reaches_the_pages(filled, upstream: Upstream) -> None:
    from tests.test_hostile import MARKERS, ROW_HTML

    upstream.load("t3")
    page = "/data.aspx?lang=us&oid=2367397"
    doc = upstream.documents[page].decode()
    doc = doc.replace("<p>INC000001822307</p>", ROW_HTML + "<p>INC000001822307</p>", 1).replace(
        ">Delayed processing of transit declarations<",
        ">Delayed<script>HOSTILE_SCRIPT()</script> processing\x07 of transit declarations<",
        1,
    )
    upstream.documents[page] = doc.encode()
    settings = replace(filled, detail_refresh_seconds=0)
    with Runtime.open(settings) as runtime:
        report = Service(runtime, clock=lambda: polled_at("t3").replace(hour=12)).poll_once(
            force=True
        )
        assert report is not None and ONGOING in report.changed_keys
    app = create_app(settings, poll=False)
    client = app.test_client()
    for path in (
        f"/incidents/{ONGOING}",
        f"/da/incidents/{ONGOING}",
        "/systems/dms-transit",
        "/",
        "/api/stats.json",
    ):
        html = client.get(path).get_data(as_text=True)
        for marker in MARKERS:
            assert marker not in html, (path, marker)
    assert "Delayed processing of transit declarations" in client.get(
        f"/incidents/{ONGOING}"
    ).get_data(as_text=True)
    app.extensions["toldfeed"].runtime.close()


def test_an_incident_stored_before_its_pages_is_rendered_on_demand(filled) -> None:
    app = create_app(filled, poll=False)
    client = app.test_client()
    _obs, incident = synthetic(7, systems=("emcs",))
    store = app.extensions["toldfeed"].store
    assert client.get(f"/incidents/{incident.key}").status_code == 404
    batch = Batch()
    Store.stage_incident(batch, incident)  # a poll's commit, its publish not yet done
    Store.stage_generation(batch, store.generation() + 1, store.incident_count() + 1)
    store.commit(batch)
    response = client.get(f"/da/incidents/{incident.key}")
    assert response.status_code == 200
    assert "Archived disruption 7" in response.get_data(as_text=True)
    app.extensions["toldfeed"].runtime.close()


def test_an_incident_without_reference_is_found_by_either_spelling_of_its_key(client) -> None:
    canonical = client.get("/incidents/oid-2460944")
    assert canonical.status_code == 200
    stored_form = client.get("/incidents/oid:2460944")  # the form earlier versions showed
    assert stored_form.status_code == 200 and stored_form.data == canonical.data
    assert client.get("/incidents/oid-1").status_code == 404
    # users see one form everywhere: the page URL's
    api = client.get("/api/incidents.json?limit=500").get_json()
    keys = {i["key"] for i in api["incidents"]}
    assert "oid-2460944" in keys and not any(k.startswith("oid:") for k in keys)
    systems = client.get("/api/systems.json").get_json()["systems"]
    listed = {k for s in systems.values() for k in s["incidents"]}
    listed |= {s["next_window"]["key"] for s in systems.values() if s["next_window"]}
    assert not any(k.startswith("oid:") for k in listed)


def test_before_anything_is_read_no_page_claims_a_healthy_state(make_settings) -> None:
    """A first start with nothing read yet: every card, the overall line, the embed, the badge
    and /api/systems.json say unknown, never "Operational" or "No open disruptions"."""
    app = create_app(make_settings(), poll=False)
    client = app.test_client()
    try:
        for path, unknown in (("/", "not read the agency"), ("/da/", "endnu ikke læst")):
            html = client.get(path).get_data(as_text=True)
            assert unknown in html
            assert 'class="chip s-operational' not in html and "No open disruptions" not in html
            assert 'class="overall s-unknown' in html
        embed = client.get("/embed/dms-import").get_data(as_text=True)
        assert "Not read yet" in embed and "Operational" not in embed
        badge = client.get("/badge/dms-import.svg").get_data(as_text=True)
        assert "Unknown" in badge and "Operational" not in badge
        systems = client.get("/api/systems.json").get_json()
        assert systems["readable"] is False
        assert {s["state"] for s in systems["systems"].values()} == {"unknown"}
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_the_twelve_month_table_is_a_region_keyboard_users_can_scroll(filled) -> None:
    """axe-core's scrollable-region-focusable: at 320 px the table scrolls, so its region
    takes the focus (tabindex) and is named by its heading."""
    app = create_app(filled, poll=False)
    try:
        html = app.test_client().get("/systems/dms-transit").get_data(as_text=True)
        assert '<div class="scroll" tabindex="0" role="region" aria-labelledby="h-months">' in html
        assert html.count('class="scroll"') == html.count('class="scroll" tabindex="0"')
    finally:
        app.extensions["toldfeed"].runtime.close()
