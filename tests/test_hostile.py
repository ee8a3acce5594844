"""Hostile upstream content never reaches any output, checked on every output format."""

from __future__ import annotations

import gzip
import html
from dataclasses import replace

from app import create_app
from app.runtime import Runtime
from app.service import Service
from app.site.sets import canonical_documents
from tests.conftest import Upstream, polled_at

ROW_HTML = (
    '<p style="color:HOSTILE_STYLE" onclick="HOSTILE_HANDLER()" onmouseover="HOSTILE_HANDLER()">Slow.'
    "<script>HOSTILE_SCRIPT()</script></p>"
    '<p><a href="javascript:HOSTILE_JS()">click</a> <a href="https://ok.example/">fine</a></p>'
    '<iframe src="https://evil.example/HOSTILE_FRAME"></iframe><img src="https://evil.example/HOSTILE_IMG" onerror="HOSTILE_HANDLER()">'
    "<p>bell\x07HOSTILE_CONTROL\x01</p><object data='HOSTILE_OBJECT'></object>"
)
MARKERS = [
    "HOSTILE_STYLE",
    "HOSTILE_HANDLER",
    "HOSTILE_SCRIPT",
    "HOSTILE_JS",
    "HOSTILE_FRAME",
    "HOSTILE_IMG",
    "HOSTILE_OBJECT",
    "\x07",
    "\x01",
    "<script",
    "javascript:",
    "<iframe",
    "onerror=",
    "onclick=",
]


def test_no_hostile_content_in_any_output(filled, upstream: Upstream) -> None:
    upstream.load("t3")
    page = "/data.aspx?lang=us&oid=2367397"
    doc = upstream.documents[page].decode()
    doc = doc.replace("<p>INC000001822307</p>", ROW_HTML + "<p>INC000001822307</p>", 1).replace(
        ">Delayed processing of transit declarations<",
        ">Delayed<script>HOSTILE_SCRIPT()</script> processing\x07 of transit declarations<",
        1,
    )
    upstream.documents[page] = doc.encode()
    rss = "/rss.aspx?oid=2367397"
    feed = upstream.documents[rss].decode()
    feed = feed.replace(
        "&lt;p&gt;INC000001822307&lt;/p&gt;",
        html.escape(ROW_HTML) + "&lt;p&gt;INC000001822307&lt;/p&gt;",
        1,
    )
    upstream.documents[rss] = feed.encode()
    settings = replace(filled, detail_refresh_seconds=0)
    with Runtime.open(settings) as runtime:
        report = Service(runtime, clock=lambda: polled_at("t3").replace(hour=12)).poll_once(
            force=True
        )
        assert report is not None and "INC000001822307" in report.changed_keys
    app = create_app(settings, poll=False)
    client = app.test_client()
    state = app.extensions["toldfeed"]
    urls = [state.library.urls.path(doc) for doc in canonical_documents(state.runtime.catalogue)]
    urls += [
        "/feeds/system/dms-transit.atom?status=current",
        "/api/incidents.json?system=dms-transit",
        "/feeds/all.json?limit=3",
        "/healthz",
        "/metrics",
    ]
    checked = 0
    for url in urls:
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            response = client.get(url, headers=headers)
            body = response.data
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            text = body.decode("utf-8")
            # in XML the upstream HTML is escaped text: unescape once to see the HTML a reader renders
            for form in (text, html.unescape(text)):
                for marker in MARKERS:
                    assert marker not in form, (url, marker)
            checked += 1
    assert checked > 200
    entry = client.get("/feeds/system/dms-transit.atom").get_data(as_text=True)
    assert "fine" in html.unescape(entry) and "Delayed processing of transit declarations" in entry
