"""Parsers against fixture files: each ``X.html``/``X.xml`` states its purpose at the top and
has its expectation beside it in ``X.expect.json``. A new case is new files, not new code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.catalogue import load_catalogue
from app.model import Lang
from app.store.codec import observation_to_dict
from app.upstream.detail import parse_detail_page
from app.upstream.listpage import parse_list_page
from app.upstream.result import ParseResult
from app.upstream.rss import parse_rss
from tests.conftest import FIXTURES, ROOT, SAMPLES

CATALOGUE = load_catalogue(ROOT / "feeds" / "systems.toml")
NOW = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
PARSERS = {"page": parse_list_page, "detail": parse_detail_page, "rss": parse_rss}
CASES = sorted((FIXTURES / "pages").glob("*.expect.json"))


def _document(expect_file: Path) -> Path:
    stem = expect_file.name.removesuffix(".expect.json")
    return next(
        p for p in expect_file.parent.glob(f"{stem}.*") if not p.name.endswith(".expect.json")
    )


@pytest.mark.parametrize("expect_file", CASES, ids=lambda p: p.name.removesuffix(".expect.json"))
def test_fixture(expect_file: Path) -> None:
    expect: dict[str, Any] = json.loads(expect_file.read_text(encoding="utf-8"))
    parse = PARSERS[expect["kind"]]
    result = parse(
        _document(expect_file).read_bytes(),
        {},
        url=expect["url"],
        lang=Lang(expect["lang"]),
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    for fragment in expect.get("warnings_contain", []):
        assert any(fragment in w for w in result.warnings), result.warnings
    if "unknown_systems" in expect:
        assert list(result.unknown_systems) == expect["unknown_systems"]
    assert len(result.observations) == len(expect["observations"])
    for got, want in zip(result.observations, expect["observations"], strict=True):
        data = observation_to_dict(got)
        for name, value in want.items():
            if name == "updates":
                assert [[x["text"], x["at"], x["seen_at"]] for x in data["updates"]] == value
            else:
                assert data[name] == value, name
        for bad in expect.get("html_excludes", []):
            assert (
                bad not in got.message_html and bad not in got.title and bad not in got.message_text
            )
    # characters no field of any observation, reported name or link to follow may hold
    everything = json.dumps(
        [
            [observation_to_dict(o) for o in result.observations],
            result.unknown_systems,
            [link.url for link in result.links],
            result.feed_links,
        ],
        ensure_ascii=False,
    )
    for bad in expect.get("text_excludes", []):
        assert bad not in everything, f"U+{ord(bad[0]):04X}"


def _without_labels(html: str) -> str:
    """A bundled detail sample as the label-less public sample 2461022 is written: its
    ``dt`` labels gone, each ``dd`` value a bare ``div``."""
    html = re.sub(r"<dt>[^<]*</dt>\n?", "", html)
    for labelled, bare in (("<dl ", "<div "), ("</dl>", "</div>"), ("<dd>", '<div class="value">')):
        html = html.replace(labelled, bare)
    return html.replace("</dd>", "</div>")


@pytest.mark.parametrize(
    "file", sorted((SAMPLES / "detail").glob("*.html")), ids=lambda p: p.name.removesuffix(".html")
)
def test_detail_sample_reads_the_same_without_its_labels(file: Path) -> None:
    """The positional reader (SPEC 3, 5) agrees with the labelled one on every bundled sample:
    same message, systems, dates and history, whatever chrome and history surround the
    values (the public 2461022 sample published its navigation as the message)."""
    oid, lang = file.name.split(".")[:2]
    url = f"https://info.skat.dk/data.aspx?{'lang=us&' if lang == 'en' else ''}oid={oid}&x=read"

    def parse(body: bytes) -> ParseResult:
        return parse_detail_page(
            body, {}, url=url, lang=Lang(lang), catalogue=CATALOGUE, observed_at=NOW
        )

    html = file.read_text(encoding="utf-8")
    assert "<dt>" in html
    labelled, bare = parse(html.encode()), parse(_without_labels(html).encode())
    assert bare.observations == labelled.observations
    assert bare.unknown_systems == labelled.unknown_systems == ()
    assert any("read by position" in w for w in bare.warnings), bare.warnings


def test_the_public_label_less_sample_is_the_bundled_one_without_its_labels() -> None:
    """So the test above reads every sample the way 2461022 was published."""
    public = (FIXTURES / "pages" / "detail-no-labels-site-chrome.html").read_text(encoding="utf-8")
    bundled = (SAMPLES / "detail" / "2461022.en.v2.html").read_text(encoding="utf-8")
    assert public.split("-->\n", 1)[1] == _without_labels(bundled)


def test_template_page_counts_a_repeated_row_once() -> None:
    body = (SAMPLES / "t3" / "template.en.html").read_bytes()
    result = parse_list_page(
        body,
        {},
        url="https://info.skat.dk/data.aspx?lang=us&oid=54316",
        lang=Lang.EN,
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    oids = [o.oid for o in result.observations]
    assert len(oids) == len(set(oids)) == 5
    assert all(o.status is None for o in result.observations)  # no status column on this page


def test_filtered_list_implies_the_type_not_the_status() -> None:
    url = (
        "https://info.skat.dk/data.aspx?oid=54316&segment=Manifest&type=servicevindue"
        "&p0=scheduled%20unavailability&via=54315&lang=us"
    )
    body = (SAMPLES / "t3" / "filtered-manifest.en.html").read_bytes()
    result = parse_list_page(body, {}, url=url, lang=Lang.EN, catalogue=CATALOGUE, observed_at=NOW)
    assert len(result.observations) == 6
    assert {o.kind for o in result.observations} == {"scheduled"}
    assert {o.status for o in result.observations} == {None}


def test_overview_advertises_its_feed_both_ways() -> None:
    body = (SAMPLES / "t1" / "overview.en.html").read_bytes()
    result = parse_list_page(
        body,
        {},
        url="https://info.skat.dk/data.aspx?lang=us&oid=2367397",
        lang=Lang.EN,
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    assert result.feed_links == ("https://rss.skat.dk/rss.aspx?oid=2367397",)
    summary_rows = [o for o in result.observations if not o.message_text]
    assert len(summary_rows) == 5  # the summary table has no Message column


def test_danish_overview_reads_danish_labels_and_status_words() -> None:
    body = (SAMPLES / "t3" / "overview.da.html").read_bytes()
    result = parse_list_page(
        body,
        {},
        url="https://info.skat.dk/data.aspx?oid=2367397",
        lang=Lang.DA,
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    by_oid = {o.oid: o for o in result.observations if o.message_text}
    assert by_oid[2461231].status == "current"  # "Driftsforstyrrelse"
    assert by_oid[2461170].status == "closed"  # "Afsluttet"
    assert by_oid[2461205].status == "scheduled"  # "Planlagt nedlukning"
    assert by_oid[2461231].lang == "da" and by_oid[2461231].updates[0].text.startswith(
        "Opdatering 08:40"
    )


@pytest.mark.parametrize(
    ("file", "status"),
    [
        ("2461088.en.v2.html", None),
        ("2461141.en.v1.html", "scheduled"),
        ("2461141.en.v2.html", "closed"),
    ],
)
def test_detail_status_line_present_or_missing(file: str, status: str | None) -> None:
    oid = file.split(".")[0]
    result = parse_detail_page(
        (SAMPLES / "detail" / file).read_bytes(),
        {},
        url=f"https://info.skat.dk/data.aspx?lang=us&oid={oid}&x=read",
        lang=Lang.EN,
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    (obs,) = result.observations
    assert obs.status == status
    assert not result.warnings


def test_detail_history_dates_each_update_by_the_version_that_added_it() -> None:
    result = parse_detail_page(
        (SAMPLES / "detail" / "2461170.en.v3.html").read_bytes(),
        {},
        url="https://info.skat.dk/data.aspx?lang=us&oid=2461170&x=read",
        lang=Lang.EN,
        catalogue=CATALOGUE,
        observed_at=NOW,
    )
    (obs,) = result.observations
    assert [v.at.isoformat() for v in obs.versions] == [
        "2026-05-19T16:12:40+00:00",
        "2026-05-12T12:28:31+00:00",
    ]
    assert obs.created_at == datetime(2026, 5, 12, 12, 28, 31, tzinfo=UTC)
    seen = {u.text[:10]: u.seen_at for u in obs.updates}
    assert seen == {
        "Update 21:": datetime(2026, 5, 19, 19, 50, tzinfo=UTC),
        "Update 18:": datetime(2026, 5, 19, 16, 12, 40, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("DMS Import", "dms-import"),
        ("Customs portal (DMS import)", "dms-import"),
        ("Customs Portal (DMS Import)", "dms-import"),
        ("DMP Import", "dms-import"),
        ("DMS eksport", "dms-export"),
        ("DMS export", "dms-export"),
        ("DMS Eksport", "dms-export"),
        ("DMS Forsendelse (NCTS)", "dms-transit"),
        ("DMS Transit (NCTS)", "dms-transit"),
        ("DMS Forsendelse", "dms-transit"),
        ("EMCS", "emcs"),
        ("EU-systems", "eu-systems"),
        ("ICS2", "ics2"),
        ("ICS", "ics"),
        ("Import Control System (ICS)", "ics"),
        ("Manifest", "manifest"),
        ("E-tax for businesses (NTSE)", "ntse"),
        ("TFE (testsystems)", "tfe"),
        ("TFE (testsystemer)", "tfe"),
        ("Other messages", "other"),
        ("Import", "import"),
        ("Export", "export"),
        ("Eksport", "export"),
        ("e-Export", "export"),
        ("Transit (NCTS)", "transit"),
        ("NCTS (Transit)", "transit"),
        ("  dms   IMPORT ", "dms-import"),
        # format characters (Unicode Cf) pasted from Word or a CMS are invisible: ignored
        ("DMS Ex\u200bport", "dms-export"),  # zero-width space
        ("Mani\u00adfest", "manifest"),  # soft hyphen
        ("DMS\u2060 Import", "dms-import"),  # word joiner
        ("Customs portal (DMS\u200d import)", "dms-import"),  # zero-width joiner
        ("\ufeffEMCS", "emcs"),  # byte-order mark
        ("DMS Transit\u200e (NCTS)\u200f", "dms-transit"),  # direction marks
        ("\u202eICS2\u202c", "ics2"),  # a right-to-left override and its end
        ("Im\u200cport", "import"),  # zero-width non-joiner, in a legacy name
    ],
)
def test_catalogue_aliases(name: str, slug: str) -> None:
    assert CATALOGUE.resolve([name]) == ((slug,), ())


def test_unknown_system_goes_to_other_and_is_reported() -> None:
    assert CATALOGUE.resolve(["Manifest", "Brand New System"]) == (
        ("manifest", "other"),
        ("Brand New System",),
    )


def test_an_unknown_name_is_reported_as_it_reads() -> None:
    """Without the invisible characters that would make it look like a known name."""
    assert CATALOGUE.resolve(["Brand\u200b New\u00ad System", "\u200b"]) == (
        ("other",),
        ("Brand New System",),
    )
