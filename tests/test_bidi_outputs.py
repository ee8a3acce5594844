"""Bidi controls in upstream text are read, not refused, and reach no output (issue item:
"text-direction overrides pass through"). The parsers' own fixtures
(``tests/fixtures/pages/*-bidi-controls.*``) check every field at the parse boundary; this
polls a real local upstream whose list page, feed and detail page carry them, and reads back
every document toldfeed serves."""

from __future__ import annotations

import gzip
import html
from dataclasses import replace

from app import create_app
from app.runtime import Runtime
from app.service import Service
from app.site.sets import canonical_documents
from tests.conftest import Upstream, polled_at

TITLE = "Delayed processing of transit declarations"
# an override left open inside three words of the title: three such characters on one page
# made the plausibility guard refuse the whole page
TITLE_RLO = "Delayed pro\u202ecessing of trans\u202eit declara\u202etions"
UPDATE = "Update 11:30 - Processing is normal again."
UPDATE_BIDI = "Update 11:30 - Proces\u202esing is \u2067normal\u2069 again\u200f."
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
PAGES = (
    "/data.aspx?lang=us&oid=2367397",  # the English overview
    "/rss.aspx?oid=2367397",
    "/data.aspx?lang=us&oid=2461231&x=read",  # the detail page of INC000001822307
)


def test_bidi_controls_are_read_and_reach_no_document(filled, upstream: Upstream) -> None:
    upstream.load("t3")
    for page in PAGES:
        doc = upstream.documents[page].decode()
        assert TITLE in doc, page
        doc = doc.replace(TITLE, TITLE_RLO)
        if page.startswith("/rss"):
            doc = doc.replace(
                "&lt;p&gt;INC000001822307",
                f"&lt;p&gt;{UPDATE_BIDI}&lt;/p&gt;&lt;p&gt;INC000001822307",
            )
        else:
            doc = doc.replace("<p>INC000001822307", f"<p>{UPDATE_BIDI}</p><p>INC000001822307", 1)
        upstream.documents[page] = doc.encode()
    settings = replace(filled, detail_refresh_seconds=0)
    with Runtime.open(settings) as runtime:
        report = Service(runtime, clock=lambda: polled_at("t3").replace(hour=12)).poll_once(
            force=True
        )
        assert report is not None and "INC000001822307" in report.changed_keys
    client = create_app(settings, poll=False).test_client()
    state = client.application.extensions["toldfeed"]
    urls = [state.library.urls.path(doc) for doc in canonical_documents(state.runtime.catalogue)]
    urls += ["/api/incidents.json?system=dms-transit", "/feeds/all.json?limit=3", "/healthz"]
    checked = 0
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        body = response.data
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        text = html.unescape(body.decode("utf-8"))  # also what a character reference names
        found = set(BIDI) & set(text)
        assert not found, (url, sorted(f"U+{ord(c):04X}" for c in found))
        checked += 1
    assert checked > 200
    entry = html.unescape(client.get("/feeds/system/dms-transit.atom").get_data(as_text=True))
    assert TITLE in entry and UPDATE in entry
