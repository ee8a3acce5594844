"""The published documents, served by create_app(...).test_client() on a real store."""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import feedparser
import pytest

from app.site.sets import canonical_documents
from app.site.urls import Urls
from tests.conftest import store_of

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def paths(client) -> list[str]:
    state = client.application.extensions["toldfeed"]
    urls: Urls = state.library.urls
    return [urls.path(doc) for doc in canonical_documents(state.runtime.catalogue)]


def check_atom(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    root = ET.fromstring(body)
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None, tag
    rels = {link.get("rel") for link in root.findall(f"{ATOM}link")}
    assert {"self", "alternate"} <= rels
    assert RFC3339.match(root.find(f"{ATOM}updated").text)
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated", "published", "content", "summary"):
            assert entry.find(f"{ATOM}{tag}") is not None, tag
        assert RFC3339.match(entry.find(f"{ATOM}published").text)
    return parsed


def check_rss(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = ET.fromstring(body).find("channel")
    for tag in ("title", "link", "description"):
        assert channel.find(tag) is not None
    for item in channel.findall("item"):
        assert item.find("guid") is not None and item.find("title") is not None
    return parsed


def check_json(body: bytes) -> dict:
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] and doc["feed_url"] and isinstance(doc["items"], list)
    for item in doc["items"]:
        assert item["id"] and (item["content_html"] or item.get("content_text"))
        datetime.fromisoformat(item["date_published"])
    return doc


def test_every_published_document_answers_and_every_feed_is_valid(client) -> None:
    for path in paths(client):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.data
        if path.endswith(".atom"):
            check_atom(body)
        elif path.endswith(".rss"):
            check_rss(body)
        elif path.endswith(".json") and "/feeds/" in path:
            check_json(body)
        elif path.endswith(".svg"):
            ET.fromstring(body)
        elif path.endswith(".opml"):
            outlines = ET.fromstring(body).findall(".//outline")
            danish = path.startswith("/da/")
            # feeds only (newsboat takes any outline's url for a feed): one language per file,
            # and the status feeds apart from the systems' (readers keep one copy of an id)
            assert all(o.get("type") == "rss" and o.get("url") is None for o in outlines)
            urls = [o.get("xmlUrl") for o in outlines]
            assert all(u.endswith(".atom") and u.count("/da/") == danish for u in urls)
            if path.endswith("/feeds/systems.opml"):
                assert len(urls) == 14 and all("/feeds/system/" in u for u in urls)
            else:
                assert len(urls) == 3 and all("/feeds/status/" in u for u in urls)


def test_entries_are_one_per_incident_with_stable_ids_in_every_feed(client) -> None:
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    js = json.loads(client.get("/feeds/all.json").data)
    danish = feedparser.parse(client.get("/da/feeds/all.atom").data)
    ids = [e.id for e in atom.entries]
    assert len(ids) == len(set(ids)) == 14
    assert (
        ids
        == [e.id for e in rss.entries]
        == [i["id"] for i in js["items"]]
        == [e.id for e in danish.entries]
    )
    assert "tag:toldfeed,2026:incident/INC000001814725" in ids
    assert "tag:toldfeed,2026:incident/oid-2460944" in ids
    transit = feedparser.parse(client.get("/feeds/system/dms-transit.atom").data)
    assert {e.id for e in transit.entries} <= set(ids)


def test_entry_content_semantics(client) -> None:
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    entry = next(e for e in atom.entries if e.id.endswith("WO0000001586573"))
    assert entry.title == "PRD-servicewindow DMS Tuesday May 19, 2026"
    assert entry.published == "2026-05-12T12:28:00+00:00"  # creation upstream
    assert entry.updated == "2026-05-19T19:50:00+00:00"  # last real change
    slugs = {"dms-export", "dms-import", "dms-transit", "manifest", "closed"}
    assert {t.term for t in entry.tags} == slugs
    assert {t.label for t in entry.tags} >= {"DMS Transit (NCTS)", "Closed"}
    # the same terms in RSS (which has no labels) and JSON Feed
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    assert {t.term for t in next(e for e in rss.entries if e.id == entry.id).tags} == slugs
    items = json.loads(client.get("/feeds/all.json").data)["items"]
    assert set(next(i for i in items if i["id"] == entry.id)["tags"]) == slugs
    assert entry.link.endswith("oid=2461170&x=read")
    html = entry.content[0].value
    # status, systems, timeline newest first in Danish local time with the year, message, reference
    order = [
        html.index(s)
        for s in (
            "Closed",
            "DMS Import",
            "19 May 2026 21:46",
            "19 May 2026 18:12",
            "12 May 2026 14:28",
            "Tuesday May 19, 2026, 1800-2300",
            "Reference:",
        )
    ]
    assert order == sorted(order)
    assert "<script" not in html
    assert entry.summary.startswith("Closed · ")


def test_danish_feeds(client) -> None:
    for url in ("/da/feeds/all.atom", "/feeds/all.atom?lang=da"):
        parsed = feedparser.parse(client.get(url).data)
        assert parsed.feed.title == "Toldsystemerne: driftsstatus"
        entry = next(e for e in parsed.entries if e.id.endswith("WO0000001586573"))
        assert entry.title == "PRD-servicevindue DMS tirsdag 19. maj 2026"
        assert (
            "Afsluttet" in entry.content[0].value
            and "19. maj 2026 kl. 21:46" in entry.content[0].value
        )


def test_status_and_limit_queries(client) -> None:
    current = feedparser.parse(client.get("/feeds/status/current.atom").data)
    assert [e.id.rsplit("/", 1)[1] for e in current.entries] == ["INC000001822307"]
    scheduled = feedparser.parse(client.get("/feeds/system/manifest.atom?status=scheduled").data)
    assert {e.id.rsplit("/", 1)[1] for e in scheduled.entries} == {
        "WO0000001589016",
        "WO0000001586738",
    }
    limited = feedparser.parse(client.get("/feeds/all.rss?limit=3").data)
    assert len(limited.entries) == 3
    assert client.get("/feeds/system/ics.json").status_code == 200  # legacy systems have feeds too


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/feeds/system/dms.atom", 404, "valid systems: dms-import, dms-export"),
        ("/feeds/status/open.atom", 404, "current, scheduled, closed"),
        ("/feeds/all.xml", 404, ".atom, .rss or .json"),
        ("/feeds/all.atom?limit=0", 400, "limit must be a whole number from 1 to 500"),
        ("/feeds/all.atom?limit=100000", 400, "limit"),
        ("/feeds/all.atom?limit=-5", 400, "limit"),
        (
            "/feeds/system/emcs.atom?status=open",
            400,
            "status must be one of current, scheduled, closed",
        ),
        ("/feeds/all.atom?lang=de", 400, "lang must be 'en' or 'da'"),
        ("/embed/nope", 404, "valid systems"),
        ("/badge/nope.svg", 404, "valid systems"),
        ("/api/incidents.json?system=x", 404, "valid systems"),
        ("/feeds/all.atom?lang=%ff", 400, ""),
    ],
)
def test_bad_requests_get_clear_4xx(client, url: str, status: int, says: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert says in response.get_data(as_text=True)


def test_conditional_get_caching_cors_head_and_gzip(client) -> None:
    first = client.get("/feeds/all.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 304
    assert (
        client.get("/feeds/all.atom", headers={"If-None-Match": f'W/{etag}, "other"'}).status_code
        == 304
    )
    assert client.get("/feeds/all.atom", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/feeds/all.atom", headers={"If-None-Match": '"stale"'}).status_code == 200
    head = client.head("/feeds/all.atom")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    zipped = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip, deflate"})
    assert (
        zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
    )
    assert (
        "Content-Encoding"
        not in client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip;q=0"}).headers
    )
    assert client.get("/api/incidents.json").headers["Access-Control-Allow-Origin"] == "*"
    assert client.post("/feeds/all.atom").status_code == 405


def test_index_page_lists_states_feeds_and_autodiscovery(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert html.count('rel="alternate"') == 3 * (4 + 14)
    assert "http://feeds.example.test/feeds/system/dms-transit.atom" in html
    assert "Ongoing disruption" in html and "Delayed processing of transit declarations" in html
    assert "Data last refreshed: 20 May 2026 09:30" in html
    danish = client.get("/da/").get_data(as_text=True)
    assert (
        "Driftsstatus for toldsystemerne" in danish
        and "http://feeds.example.test/da/feeds/all.atom" in danish
    )


def test_embed_fragment_is_self_contained(client, filled) -> None:
    response = client.get("/embed/dms-transit")
    html = response.get_data(as_text=True)
    assert "<script" not in html and "<link" not in html and "style=" in html
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "Delayed processing of transit declarations" in html


def test_frame_ancestors_are_configurable(filled) -> None:
    from dataclasses import replace

    from app import create_app

    app = create_app(replace(filled, frame_ancestors="https://intranet.example.com"), poll=False)
    response = app.test_client().get("/embed/manifest")
    assert (
        "frame-ancestors https://intranet.example.com"
        in response.headers["Content-Security-Policy"]
    )


def test_badge_and_api(client) -> None:
    svg = client.get("/badge/dms-transit.svg")
    assert svg.headers["Content-Type"] == "image/svg+xml" and b"Ongoing disruption" in svg.data
    assert b"Operational" in client.get("/badge/emcs.svg").data
    api = json.loads(client.get("/api/incidents.json?system=dms-transit&status=closed").data)
    assert api["count"] == len(api["incidents"]) > 0
    assert all("dms-transit" in i["systems"] and i["status"] == "closed" for i in api["incidents"])
    one = next(i for i in api["incidents"] if i["key"] == "WO0000001586573")
    assert [u["text"][:10] for u in one["updates"] if u["lang"] == "en"] == [
        "Update 21:",
        "Update 18:",
    ]


def test_feeds_do_not_change_when_a_poll_finds_nothing_new(filled, upstream) -> None:
    from app import create_app
    from app.runtime import Runtime
    from app.service import Service

    app = create_app(filled, poll=False)
    before = app.test_client().get("/feeds/all.atom").headers["ETag"]
    with Runtime.open(filled) as runtime:
        Service(runtime).poll_once(force=True)  # t3 again, today
    app2 = create_app(filled, poll=False)
    assert app2.test_client().get("/feeds/all.atom").headers["ETag"] == before


def test_export_writes_every_document_at_its_url_path(filled, tmp_path) -> None:
    from app.cli.export import export_all

    count = export_all(filled, tmp_path / "site")
    site = tmp_path / "site"
    assert count == len(list(p for p in site.rglob("*") if p.is_file()))
    for rel in (
        "index.html",
        "da/index.html",
        "feeds/all.atom",
        "da/feeds/system/dms-import.rss",
        "feeds/status/current.json",
        "feeds.opml",
        "embed/ics2.html",
        "badge/manifest.svg",
        "api/incidents.json",
    ):
        assert (site / rel).is_file(), rel
    check_atom((site / "feeds/system/dms-transit.atom").read_bytes())


def test_first_run_without_upstream_says_so_and_serves(make_settings, tmp_path) -> None:
    from app import create_app
    from app.service import Service

    sources = tmp_path / "s.toml"
    sources.write_text(
        '[[source]]\nkind="page"\nurl="http://127.0.0.1:9/data.aspx?oid=1"\nlang="en"\n'
    )
    settings = make_settings(sources=sources, retries=0, blind_after_seconds=0)
    app = create_app(settings, poll=False)
    service: Service = app.extensions["toldfeed"].service
    report = service.poll_once(force=True)
    assert report is not None and not report.ok
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert "could not be read since" in html
    assert client.get("/healthz").status_code == 503
    feed = feedparser.parse(client.get("/feeds/all.atom").data)
    assert [e.title for e in feed.entries] == ["toldfeed cannot read the agency's status page"]


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/wp-admin/setup.php", 404),
        ("GET", "/feeds/", 404),
        ("GET", "/feeds/system/", 404),
        ("GET", "/feeds/system/dms-import/extra.atom", 404),
        ("GET", "/feeds/all.atom?limit=1&limit=999999", 400),
        ("GET", "/feeds/all.atom?" + "x=1&" * 50, 400),
        ("GET", "/feeds/all.atom?%%%zz", 200),  # undecodable junk is ignored, like unknown params
        ("GET", "/feeds/all.atom?utm_source=newsletter", 200),
        ("GET", "/feeds/all.atom?lang", 200),
        ("GET", "/feeds/" + "a" * 5000 + ".atom", 414),
        ("GET", "/feeds/all.atom?q=" + "b" * 5000, 414),
        ("DELETE", "/feeds/all.atom", 405),
        ("PUT", "/", 405),
        ("POST", "/healthz", 405),
        ("PATCH", "/api/incidents.json", 405),
        ("OPTIONS", "/feeds/all.json", 204),
    ],
)
def test_odd_requests_get_a_clear_answer_never_a_500(
    client, method: str, url: str, status: int
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == status, response.get_data(as_text=True)
    if status >= 400:
        assert response.headers["Content-Type"].startswith("text/plain")


# an upgrade re-renders ---------------------------------------------------------------------


def test_the_code_digest_covers_every_template_and_word_table() -> None:
    from app.publish.render_key import shaping_sources

    paths = {path for path, _ in shaping_sources()}
    for expected in (
        "render/words/en.py",
        "render/words/da.py",
        "render/i18n.py",
        "render/feeds.py",
        "site/documents/data.py",
        "site/documents/pages.py",
        "site/urls.py",
        "site/system_state.py",
        "store/records_codec.py",
    ):
        assert expected in paths
    assert any(p.startswith("templates/") and p.endswith(".html") for p in paths)
    assert not any("__pycache__" in p for p in paths)


def test_an_upgrade_that_changes_a_word_is_served_after_a_restart(filled, monkeypatch) -> None:
    """Stored documents are trusted only while the code that rendered them is the same."""
    from app import create_app
    from app.render.words import en

    def index_text(code: str = "") -> str:
        from app.runtime import Runtime

        app = create_app(runtime=Runtime.open(filled, code=code), poll=False)
        try:
            return app.test_client().get("/feeds/all.atom").get_data(as_text=True)
        finally:
            app.extensions["toldfeed"].runtime.close()

    assert "Ongoing disruption" in index_text()
    monkeypatch.setitem(en.PHRASES, "current", "Disruption in progress")
    assert "Ongoing disruption" in index_text()  # same code digest: the stored bytes stand
    text = index_text(code="an upgrade")
    assert "Disruption in progress" in text and "Ongoing disruption" not in text


def test_every_phrase_exists_in_both_languages() -> None:
    from app.render.words import da, en

    assert sorted(en.PHRASES) == sorted(da.PHRASES)
    assert all(text.strip() for text in [*en.PHRASES.values(), *da.PHRASES.values()])


def test_configured_feed_limits_shape_every_document_and_the_export(filled, tmp_path) -> None:
    from dataclasses import replace

    from app import create_app
    from app.cli.export import export_all

    settings = replace(filled, feed_limit_default=5, feed_limit_max=100)
    written = export_all(settings, tmp_path / "site")
    assert written > 200  # every document (once, a limit default of 20 wrote none)
    atom = feedparser.parse((tmp_path / "site" / "feeds" / "all.atom").read_bytes())
    assert len(atom.entries) == 5
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "?limit=N (1-100)" in index and "limit={1-100}" in index and "1-500" not in index
    app = create_app(settings, poll=False)
    try:
        client = app.test_client()
        assert len(check_atom(client.get("/feeds/all.atom?limit=7").data).entries) == 7
        too_many = client.get("/feeds/all.atom?limit=200")
        assert too_many.status_code == 400 and b"100" in too_many.data
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_workers_starting_together_render_once_between_them(filled) -> None:
    """After an upgrade several workers start at once: one renders under the poll lock, the
    others wait for it and find the documents current."""
    import threading

    from app.runtime import Runtime
    from app.service import Service

    runtimes = [Runtime.open(filled, code="an upgrade") for _ in range(3)]
    try:
        services = [Service(runtime) for runtime in runtimes]
        assert not any(s.publisher.up_to_date() for s in services)
        start = threading.Barrier(len(services))
        rendered: list[bool] = []

        def worker(service: Service) -> None:
            start.wait()
            rendered.append(service.ensure_published(wait_seconds=60))

        threads = [threading.Thread(target=worker, args=(s,)) for s in services]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(rendered) == [False, False, True]
        assert all(s.publisher.up_to_date() for s in services)
    finally:
        for runtime in runtimes:
            runtime.close()


def test_a_document_that_comes_back_is_served_with_its_new_last_modified(filled) -> None:
    """A → B → A: the bytes of A again, but Last-Modified never goes back (``forward``)."""
    from datetime import UTC
    from datetime import datetime as dt

    from app.catalogue import load_catalogue
    from app.store.rendered import Document
    from app.web.hotpath import DocumentServer

    catalogue = load_catalogue(filled.systems)
    answers: list[Document] = []

    class OneDocument:
        def current(self) -> int:  # a new version for each of its answers
            return len(answers)

        def get(self, doc):  # what the library holds right now
            return answers[-1]

    server = DocumentServer(lambda e, s: [], Urls(filled, catalogue), OneDocument(), 300, "*")
    a, b = b"<feed>a</feed>", b"<feed>b</feed>"
    env = {"PATH_INFO": "/feeds/all.atom", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    seen = []
    for body, day in ((a, 1), (b, 2), (a, 3)):
        answers.append(Document.of(body, "application/atom+xml", dt(2026, 5, day, tzinfo=UTC)))
        _status, headers, _ = server.answer(env, "/feeds/all.atom")
        seen.append(dict(headers)["Last-Modified"])
    assert seen[2] != seen[0] and seen[2].startswith("Sun, 03 May 2026")


def test_an_answer_is_made_again_only_when_the_library_moved(filled) -> None:
    """A document URL asked again is answered with the document and headers kept for it while
    the library's serial holds (one ``get`` for many requests); a new serial, a new document.
    Another method is refused each time, whatever was kept."""
    from datetime import UTC
    from datetime import datetime as dt

    from app.catalogue import load_catalogue
    from app.store.rendered import Document
    from app.web.hotpath import DocumentServer

    serial, asked = [1], []

    class Library:
        def current(self) -> int:
            return serial[0]

        def get(self, doc):
            asked.append(doc)
            body = f"<feed>{serial[0]}</feed>".encode()
            return Document.of(body, "application/atom+xml", dt(2026, 5, serial[0], tzinfo=UTC))

    catalogue = load_catalogue(filled.systems)
    server = DocumentServer(lambda e, s: [], Urls(filled, catalogue), Library(), 300, "*")

    def ask(method: str = "GET", **headers: str) -> tuple[str, dict[str, str], bytes]:
        env = {"PATH_INFO": "/feeds/all.atom", "REQUEST_METHOD": method, "QUERY_STRING": ""}
        answer = server.answer(env | headers, "/feeds/all.atom")
        assert answer is not None
        return answer[0], dict(answer[1]), answer[2]

    status, headers, body = ask()
    assert (status, body) == ("200 OK", b"<feed>1</feed>")
    assert ask("HEAD")[2] == b"" and ask()[2] == body
    assert ask(HTTP_IF_NONE_MATCH=headers["ETag"])[0] == "304 Not Modified"
    gzipped = ask(HTTP_ACCEPT_ENCODING="gzip")
    assert gzipped[1]["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped[2]) == body
    # the gzip form is another representation: its own strong ETag, and either tag held by a
    # client (or a cache in front of several) is this version
    assert gzipped[1]["ETag"] == headers["ETag"][:-1] + '-gz"'
    for held in (headers["ETag"], gzipped[1]["ETag"], f'W/{gzipped[1]["ETag"]}, "other"'):
        for encoding, tag in (("identity", headers["ETag"]), ("gzip", gzipped[1]["ETag"])):
            status, sent, _ = ask(HTTP_IF_NONE_MATCH=held, HTTP_ACCEPT_ENCODING=encoding)
            assert (status, sent["ETag"]) == ("304 Not Modified", tag)
    assert ask("POST")[0] == "405 Method Not Allowed"
    assert len(asked) == 1
    serial[0] = 2
    status, moved, body = ask(HTTP_IF_NONE_MATCH=headers["ETag"])
    assert (status, body, len(asked)) == ("200 OK", b"<feed>2</feed>", 2)
    assert moved["ETag"] != headers["ETag"]


def test_the_server_keeps_the_answers_of_published_documents_only(filled) -> None:
    """Variants (``?limit=``) are answered from the library, which bounds what it keeps; the
    server keeps the answers of published documents alone, which the library holds anyway."""
    from app.publish.library import Library
    from app.runtime import Runtime
    from app.service import Service
    from app.web.hotpath import DocumentServer

    with Runtime.open(filled) as runtime:
        Service(runtime).ensure_published()
        library = Library(runtime.store, runtime.urls, runtime.renderer)
        server = DocumentServer(lambda e, s: [], runtime.urls, library, 300, "*")
        every = 0
        for query in ["", *(f"limit={n}" for n in range(1, 31)), ""]:
            env = {"PATH_INFO": "/feeds/all.json", "REQUEST_METHOD": "GET", "QUERY_STRING": query}
            answer = server.answer(env, "/feeds/all.json")
            assert answer is not None and answer[0] == "200 OK"
            items = len(json.loads(answer[2])["items"])
            every = every or items
            assert items == (min(int(query[6:]), every) if query else every), query
        assert [key for key in server._ready] == [("/feeds/all.json", "")]


class _Holdings:
    """A library whose holdings and version the test sets."""

    def __init__(self) -> None:
        self.serial, self.incidents, self.pages = 1, {"INC000001822307"}, 3

    def current(self) -> int:
        return self.serial

    def get(self, doc):
        from datetime import UTC
        from datetime import datetime as dt

        from app.store.rendered import Document

        return Document.of(repr(doc).encode(), "text/html", dt(2026, 5, 1, tzinfo=UTC))

    def has_incident(self, key: str) -> bool:
        return key in self.incidents

    def history_pages(self, slug: str) -> int:
        return self.pages


def test_a_page_the_store_no_longer_holds_is_a_404_once_the_library_moved_on(filled) -> None:
    """An incident forgotten, a history grown shorter: a worker that answered their pages
    before answers 404 once the library has followed the store, as a new worker does."""
    from app.catalogue import load_catalogue
    from app.web.hotpath import DocumentServer

    library = _Holdings()
    server = DocumentServer(
        lambda e, s: [], Urls(filled, load_catalogue(filled.systems)), library, 300, "*"
    )
    pages = ("/incidents/INC000001822307", "/systems/dms-import/page/3")

    def ask(path: str) -> str:
        answer = server.answer(
            {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}, path
        )
        assert answer is not None
        return answer[0]

    assert [ask(p) for p in pages * 2] == ["200 OK"] * 4
    library.incidents, library.pages = set(), 1
    assert [ask(p) for p in pages] == ["200 OK"] * 2  # the library has not followed yet
    library.serial = 2
    assert [ask(p) for p in pages] == ["404 Not Found"] * 2


def test_the_library_and_its_server_serve_one_version_whatever_a_follow_meets(filled) -> None:
    """A follow that cannot read everything it needs replaces nothing (the server and the
    library keep serving the version before, alike); a publish that lands while a request reads
    a document leaves that request the version it read and the next one the new version."""
    from datetime import UTC
    from datetime import datetime as dt

    from app.catalogue import load_catalogue
    from app.errors import StoreDamagedError
    from app.model import Lang
    from app.publish.library import Library
    from app.site.documents import Feed, Format
    from app.store.rendered import DocMeta, Document, PageContext, RenderMark
    from app.web.hotpath import DocumentServer

    urls = Urls(filled, load_catalogue(filled.systems))
    feed = Feed(Lang.EN, Format.ATOM)

    def version(n: int) -> Document:
        return Document.of(
            f"<feed>{n}</feed>".encode(), "application/atom+xml", dt(2026, 5, n, tzinfo=UTC)
        )

    class Store:
        def __init__(self) -> None:
            self.v, self.damaged, self.meanwhile = 1, False, None

        def render_mark(self) -> RenderMark:
            return RenderMark(1, "key", None, self.v)

        def history_counts(self) -> dict[str, int]:
            return {}

        def document_index(self) -> dict[str, DocMeta]:
            d = version(self.v)
            return {urls.export_path(feed): DocMeta(d.etag, d.content_type, d.last_modified)}

        def stored_page_context(self, base: str):
            if self.damaged:
                raise StoreDamagedError("record 'pages:context' cannot be read")
            return PageContext(base, None, {}), None

        def canonical_document(self, path: str, meta: DocMeta) -> Document:
            read = version(self.v)
            if self.meanwhile is not None:  # another thread publishes and follows right now
                self.meanwhile, then = None, self.meanwhile
                then()
            return read

    store = Store()
    library = Library(store, urls, None, recheck_seconds=0)  # type: ignore[arg-type]
    server = DocumentServer(lambda e, s: [], urls, library, 300, "*")

    def served() -> tuple[bytes, bytes]:
        env = {"PATH_INFO": "/feeds/all.atom", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
        answer = server.answer(env, "/feeds/all.atom")
        got = library.get(feed)
        assert answer is not None and got is not None
        return answer[2], got.body

    assert served() == (b"<feed>1</feed>", b"<feed>1</feed>")
    store.v, store.damaged = 2, True
    assert served() == (b"<feed>1</feed>", b"<feed>1</feed>")
    store.damaged = False
    assert served() == (b"<feed>2</feed>", b"<feed>2</feed>")

    store = Store()
    library = Library(store, urls, None, recheck_seconds=3600)  # type: ignore[arg-type]
    server = DocumentServer(lambda e, s: [], urls, library, 300, "*")
    library.current()

    def publish_and_follow() -> None:
        store.v = 2
        library._checked = float("-inf")
        library.current()

    store.meanwhile = publish_and_follow
    assert served()[0] == b"<feed>1</feed>"  # the version that request read
    assert served() == (b"<feed>2</feed>", b"<feed>2</feed>")


def test_a_malformed_date_or_number_is_a_client_error_never_a_server_error(client) -> None:
    """A date no calendar holds in If-Modified-Since is no condition (the document is sent);
    digits that are not ASCII ("¹²", which Python's isdigit takes) in a page number or a
    ``?limit=`` are a 404 and a 400, as any other bad value."""
    for since in (
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 0:0:0 +9999999999",
    ):
        response = client.get("/feeds/all.atom", headers={"If-Modified-Since": since})
        assert response.status_code == 200
    # a WSGI path is the request's bytes read as latin-1: %B9%B2 is "¹²"
    assert client.get("/systems/dms-transit/page/%B9%B2").status_code == 404
    assert client.get("/systems/dms-transit/page/\u00b9\u00b2").status_code == 404
    refused = client.get("/feeds/all.atom?limit=%C2%B2")
    assert refused.status_code == 400
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # the text quotes the query


def test_a_body_and_a_gzip_form_of_two_versions_are_never_served_together(filled) -> None:
    """A publish may commit between a worker's reads of a document's body and its gzip form:
    the worker serves the body it read with a gzip form of those very bytes."""
    import gzip

    from app.model import Lang
    from app.publish.library import Library
    from app.runtime import Runtime
    from app.service import Service
    from app.site.documents import Feed, Format
    from app.store import Batch
    from app.store.rendered import Document

    with Runtime.open(filled) as runtime:
        Service(runtime).ensure_published()
        for other in (
            gzip.compress(b"<feed>another version</feed>", mtime=0),  # the next publish's
            b"\x1f\x8b not gzip at all",  # damaged
        ):
            batch = Batch()
            batch.put_bytes("docgz:feeds/all.atom", other)  # as another process would
            runtime.store.commit(batch)
            library = Library(runtime.store, runtime.urls, runtime.renderer)
            document = library.get(Feed(Lang.EN, Format.ATOM))
            assert document is not None
            assert gzip.decompress(document.gzipped) == document.body
            assert document.etag == Document.etag_of(document.body)


def test_the_rules_table_is_read_both_ways_for_every_document(filled) -> None:
    """Every document's built path resolves to that very document, and building needs no
    compiled matcher (a cron poll builds links only)."""
    from urllib.parse import parse_qsl, urlsplit

    from app.catalogue import load_catalogue
    from app.model import Lang, Status
    from app.site.documents import Feed, Format, IncidentsApi, Scope
    from app.site.rules import RULES
    from app.site.sets import canonical_documents, history_documents, incident_documents
    from app.site.urls import Urls

    catalogue = load_catalogue(filled.systems)
    urls = Urls(filled, catalogue)
    docs = [
        *canonical_documents(catalogue),
        *incident_documents("INC000001822307"),
        *incident_documents("oid:2461022"),
        *history_documents("dms-import", range(2, 4)),
        *(
            Feed(lang, fmt, Scope.SYSTEM, "manifest", Status.SCHEDULED, 10)
            for lang in Lang
            for fmt in Format
        ),
        IncidentsApi(Lang.DA, "dms-transit", Status.CURRENT, 5),
    ]
    paths = {doc: urls.path(doc) for doc in docs}
    assert "_adapter" not in urls.__dict__  # built without compiling the matcher
    assert {type(doc) for doc in docs} == {rule.cls for rule in RULES}
    for doc, path in paths.items():
        split = urlsplit(path)
        assert urls.resolve(split.path, dict(parse_qsl(split.query))) == doc, path
    assert paths[incident_documents("oid:2461022")[0]] == "/incidents/oid-2461022"


def test_a_new_process_renders_no_system_page_whose_inputs_are_stored_unchanged(filled) -> None:
    """The digest of what a system page shows is kept beside it in the store: a new process
    (a cron poll) finds it there and renders no system page for a quiet poll; a change to a
    system's incidents renders that system's page again."""
    from dataclasses import replace
    from datetime import timedelta

    from app.runtime import Runtime
    from app.service import Service
    from app.site.documents import SystemPage
    from app.store import Batch, Store

    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        service.ensure_published()
        ctx = service.page_context()
        service.publish([], ctx)  # the inputs of every page are stored now
    # the next poll: read a second later (the pages that show the time are rendered again)
    ctx = (replace(ctx[0], refreshed_at=ctx[0].refreshed_at + timedelta(seconds=1)), ctx[1])
    with Runtime.open(filled) as runtime:  # a new process: its caches are cold
        service = Service(runtime)
        service.publish([], ctx)
        assert service.publisher.rendered  # the index, the embeds ...
        again = {d.system for d in service.publisher.rendered if isinstance(d, SystemPage)}
        # only a system with an open disruption shows figures that count up to the second
        opened = {s for i in service.publisher.archive.open_incidents() for s in i.systems}
        assert again <= opened and len(again) < len(runtime.catalogue.slugs) // 2
        archive = service.publisher.archive
        incident = next(i for i in archive.latest_of("dms-transit", 1))
        changed = replace(incident, updated_at=incident.updated_at.replace(year=2027))
        batch = Batch()
        Store.stage_incident(batch, changed)  # as a poll would: the incident and a generation
        Store.stage_generation(
            batch, runtime.store.generation() + 1, runtime.store.incident_count()
        )
        runtime.store.commit(batch)
        service.publish([incident.key], ctx)
        pages = {d.system for d in service.publisher.rendered if isinstance(d, SystemPage)}
        assert "dms-transit" in pages and pages <= set(changed.systems)


def test_a_new_process_takes_the_index_parts_kept_under_its_render_key(filled) -> None:
    """The index's parts that depend on the code and settings only (the ways to subscribe,
    the autodiscovery links) are kept in the store under the render key: a new process that
    renders an index page takes them from there, and makes (and keeps) them again when they
    were kept under another key."""
    from app.runtime import Runtime
    from app.service import Service
    from app.store import Batch, Store

    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        service.ensure_published()
        key = service.publisher.key
        made = runtime.store.index_parts("en", key)
        assert made is not None and "/feeds/all.atom" in made[1]  # kept by the first render
        batch = Batch()
        Store.stage_index_parts(batch, "en", key, "", "<p>kept-under-this-key</p>")
        Store.stage_index_parts(batch, "da", "another key", "", "<p>kept-under-another</p>")
        runtime.store.commit(batch)
    with Runtime.open(filled) as runtime:  # a new process
        service = Service(runtime)
        ctx, notice = service.page_context()
        service.publisher.publish(ctx, notice)  # everything rendered, index pages included
        english = runtime.store.canonical_body("index.html") or b""
        danish = runtime.store.canonical_body("da/index.html") or b""
        assert b"kept-under-this-key" in english
        assert b"kept-under-another" not in danish and b"/da/feeds/all.atom" in danish
        again = runtime.store.index_parts("da", key)  # made again, kept under this key
        assert again is not None and "/da/feeds/all.atom" in again[1]


def test_a_quiet_poll_stamps_its_time_on_the_stored_index_embeds_and_api(filled) -> None:
    """A poll that changes nothing but the time puts its time into the stored index pages,
    embeds and /api/incidents.json without rendering them (``app.render.stamps``): in a new
    process, the bytes are those a render gives."""
    from dataclasses import replace
    from datetime import timedelta

    from app.runtime import Runtime
    from app.service import Service
    from app.site.documents import Embed, IncidentsApi, IndexPage

    with Runtime.open(filled) as runtime:
        service = Service(runtime)
        service.ensure_published()
        ctx = service.page_context()
        service.publish([], ctx)  # the inputs and stamps of every page are stored now
    stamped = (IndexPage, Embed, IncidentsApi)
    ctx = (replace(ctx[0], refreshed_at=ctx[0].refreshed_at + timedelta(minutes=5)), ctx[1])
    with Runtime.open(filled) as runtime:  # a new process: its caches are cold
        service = Service(runtime)
        service.publish([], ctx)
        publisher = service.publisher
        changed = [d for d in publisher.changed if isinstance(d, stamped)]
        assert not [d for d in publisher.rendered if isinstance(d, stamped)]
        assert len(changed) == len([d for d in publisher.docs if isinstance(d, stamped)])
        for doc in changed:
            fresh = publisher.renderer.render(doc, publisher.archive, ctx[0], ctx[1])
            assert runtime.store.canonical_body(publisher.urls.export_path(doc)) == fresh.body


def test_a_worker_follows_a_poll_by_reading_the_incidents_it_changed(filled) -> None:
    """A worker's archive for ?limit= and ?status= variants reads the store's indexes, so it
    shows a poll's changes at once without reading every incident; and the API's bytes, made
    from one encoding per incident, are those of the whole document."""
    import json
    from dataclasses import replace

    from app.model import Lang, head_of, public_key
    from app.publish.library import Library
    from app.render.pages import api_incident
    from app.runtime import Runtime
    from app.service import Service
    from app.site.documents import IncidentsApi
    from app.store import Batch, Store

    with Runtime.open(filled) as runtime:
        Service(runtime).ensure_published()
        library = Library(runtime.store, runtime.urls, runtime.renderer, recheck_seconds=0)
        first = library.get(IncidentsApi(Lang.EN, limit=7))
        assert first is not None
        archive = library._archive
        incident = archive.select(IncidentsApi(Lang.EN, limit=1), 1)[0]
        changed = replace(incident, title={"en": "Moved on", "da": "Videre"})
        generation = runtime.store.generation() + 1
        batch = Batch()
        Store.stage_incident(batch, changed)
        Store.stage_generation(batch, generation, runtime.store.incident_count())
        runtime.store.commit(batch)
        assert runtime.store.heads_before(generation) == {incident.key: head_of(incident)}
        Service(runtime).publish([incident.key])
        shown = library.get(IncidentsApi(Lang.EN, limit=500))
        assert shown is not None and library._archive is archive  # the same, reading the store
        assert archive.get(incident.key) == changed
        doc = json.loads(shown.body)
        whole = {
            **doc,
            "incidents": [
                api_incident(i) for i in archive.select(IncidentsApi(Lang.EN, limit=500), 500)
            ],
        }
        assert shown.body == json.dumps(whole, ensure_ascii=False, separators=(",", ":")).encode()
        assert public_key(incident.key) in {i["key"] for i in doc["incidents"]}


def test_canonical_documents_are_stored_as_bytes_and_gzipped_only_when_served(filled) -> None:
    """A publish stores a canonical document's bytes, no gzip form (a web worker makes one
    when a client first takes it); a gzip form an earlier version stored is never served and
    goes when the document is written again. Derived documents keep theirs (their only form)."""
    import sqlite3

    from app import create_app
    from app.store import Batch, Store
    from app.store.rendered import Document

    def gz_keys() -> set[str]:
        with sqlite3.connect(Store.location(filled.data_dir) / "cache.db") as db:
            return {k for (k,) in db.execute("SELECT key FROM Cache WHERE key LIKE 'docgz:%'")}

    with store_of(filled) as store:
        index = store.document_index()
    assert "feeds/all.atom" in index and "index.html" in index
    assert not {f"docgz:{path}" for path in index} & gz_keys()
    assert any(key.startswith("docgz:incidents/") for key in gz_keys())
    # as an earlier version left it: a gzip form of other bytes beside two documents
    stale = gzip.compress(b"an earlier version's bytes", mtime=0)
    with store_of(filled) as store:
        batch = Batch()
        for path in ("feeds/all.atom", "index.html"):
            batch.put_bytes(f"docgz:{path}", stale)
        store.commit(batch)
    app = create_app(filled, poll=False)
    try:
        client = app.test_client()
        for url in ("/feeds/all.atom", "/"):
            plain = client.get(url).data
            zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(zipped.data) == plain
    finally:
        app.extensions["toldfeed"].runtime.close()
    with store_of(filled) as store:
        batch = Batch()
        body = store.canonical_body("feeds/all.atom")
        assert body is not None
        store.stage_canonical(
            batch, "feeds/all.atom", Document.of(body, "application/atom+xml", datetime.now())
        )
        store.commit(batch)
    assert "docgz:feeds/all.atom" not in gz_keys() and "docgz:index.html" in gz_keys()
