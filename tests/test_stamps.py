"""The documents that show the time of the poll (index pages, embeds, /api/incidents.json) are
stamped again, not rendered again, while nothing else they show moved: the bytes must be those
a render gives, at every moment, whatever the incidents and the notices do."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from app.model import Lang, Status
from app.render.renderer import Renderer
from app.render.stamps import restamped, stamped
from app.site.archive import Archive
from app.site.documents import Doc, Embed, IncidentsApi, IndexPage
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import Document, PageContext, Stamp
from tests.archives import put
from tests.conftest import settings_for
from tests.test_stats import CATALOGUE, SLUG, at, disruption, window

OTHER = "dms-export"
DOCS: list[Doc] = [
    *(IndexPage(lang) for lang in Lang),
    *(Embed(lang, slug) for lang in Lang for slug in (SLUG, OTHER, "ics2")),
    *(IncidentsApi(lang) for lang in Lang),
    IncidentsApi(Lang.EN, status=Status.CLOSED),
]


def test_a_stamp_is_put_only_where_the_placeholder_stood() -> None:
    body, stamp = stamped(b"<p>@@toldfeed-stamp@@ and @@toldfeed-stamp@@</p>", "09:45")
    assert body == b"<p>09:45 and 09:45</p>" and stamp == Stamp("09:45", 2)
    assert restamped(body, Stamp("09:45", 2), "10:05") == (
        b"<p>10:05 and 10:05</p>",
        Stamp("10:05", 2),
    )
    # the text also stands elsewhere: it cannot be told apart, so it is never restamped
    assert stamped(b"09:45 @@toldfeed-stamp@@", "09:45")[1] is None
    assert restamped(b"<p>09:45 and 09:45 09:45</p>", Stamp("09:45", 2), "10:05") is None
    # the new text also stands elsewhere: restamped, but not again
    assert restamped(b"<p>09:45 10:05</p>", Stamp("09:45", 1), "10:05") == (
        b"<p>10:05 10:05</p>",
        None,
    )


def test_restamping_gives_the_bytes_of_a_render_at_every_moment(tmp_path: Path) -> None:
    """Three days in 20-minute steps over windows that start, end and are cancelled, an
    incident that opens, changes and closes, and the agency unreadable for a while: whenever
    a document's inputs are those of its last render, restamping the last bytes gives what a
    render gives."""
    settings = settings_for(tmp_path)
    renderer = Renderer(settings, CATALOGUE, Urls(settings, CATALOGUE))
    store = Store(tmp_path / "store")
    incidents = [
        disruption("INC1", at(5, 2, 9), at(5, 2, 11)),
        window("WO1", at(5, 3, 22), at(5, 4, 2), systems=(SLUG, OTHER)),
        window("WO2", at(5, 5, 8), at(5, 5, 9)),
        window("WO3", at(5, 3, 23), at(5, 4, 1), cancelled=True, systems=(OTHER,)),
        window("WO4", at(5, 3, 12), None, closed_at=at(5, 3, 15)),
        window("WO5", at(5, 4, 12), at(5, 4, 14), systems=()),  # no system's state shows it
    ]
    put(store, incidents)
    later = {  # incidents that arrive or change at a moment of the sweep
        at(5, 4, 10): [disruption("INC2", at(5, 4, 10), systems=(OTHER,))],
        at(5, 4, 16): [replace(disruption("INC2", at(5, 4, 10), systems=(OTHER,)), title={})],
        at(5, 5, 3): [disruption("INC2", at(5, 4, 10), at(5, 5, 3), systems=(OTHER,))],
    }
    blind = (at(5, 4, 18), at(5, 4, 21))  # the agency could not be read in between
    last: dict[Doc, tuple[str, Document]] = {}
    restamps = renders = unstamped = 0
    moment = at(5, 3, 10) + timedelta(minutes=7, seconds=13)  # polls start at any second
    while moment < at(5, 6, 10):
        for when in [w for w in later if w <= moment]:
            put(store, later.pop(when))
        notice = {Lang.EN: "cannot be read", Lang.DA: "kan ikke læses"}
        ctx = PageContext(
            "http://feeds.example.test",
            moment,
            notice if blind[0] <= moment < blind[1] else {},
        )
        archive = Archive(store)  # a new process, as a cron poll
        for doc in DOCS:
            inputs = renderer.inputs(doc, archive, ctx)
            assert inputs
            fresh = renderer.render(doc, archive, ctx, None)
            # None: the time also stands elsewhere (an incident changed in that very minute);
            # such a document is rendered again at the next poll
            unstamped += fresh.stamp is None
            before = last.get(doc)
            if before is not None and before[0] == inputs and before[1].stamp is not None:
                again = renderer.restamp(doc, before[1].body, before[1].stamp, archive, ctx)
                assert again is not None and again.body == fresh.body, (doc, moment)
                assert again.stamp == fresh.stamp and again.content_type == fresh.content_type
                assert again.last_modified == fresh.last_modified
                restamps += 1
            else:
                renders += 1
            last[doc] = (inputs, fresh)
        moment += timedelta(minutes=20)
    # most moments only stamp again; the windows, incidents, days and notices render anew
    assert renders > 10 * len(DOCS) // 2 and restamps > 10 * renders
    assert unstamped < len(DOCS)


def test_a_document_whose_stamp_cannot_be_told_apart_is_rendered_again(tmp_path: Path) -> None:
    """An incident closed in the very minute of a poll shows that time on the index, its embed
    and in the API, so their stamp cannot be told apart; and before anything was read the API
    says null everywhere. The next quiet polls must still show their own time: such documents
    are rendered again, never left as they were."""
    from app.publish.publisher import Publisher

    settings = settings_for(tmp_path)
    urls = Urls(settings, CATALOGUE)
    store = Store(tmp_path / "store")
    put(store, [disruption("INC1", at(5, 4, 9))])

    def publish(at_: datetime | None, changed: list[str] | None) -> Publisher:
        # a new process each time, as a cron poll
        publisher = Publisher(store, urls, Renderer(settings, CATALOGUE, urls), "key", 300.0)
        publisher.publish(PageContext("http://feeds.example.test", at_, {}), None, changed)
        return publisher

    publish(None, None)  # nothing read yet: the API's time is null, as everything unset
    polled = at(5, 4, 10) + timedelta(seconds=30)
    put(store, [disruption("INC1", at(5, 4, 9), polled)])  # closed, seen at the poll's time
    publish(polled, ["INC1"])
    docs = [IndexPage(Lang.EN), IndexPage(Lang.DA), Embed(Lang.EN, SLUG), IncidentsApi(Lang.EN)]
    assert all(store.document_index()[urls.export_path(d)].stamp is None for d in docs)
    for minutes in (5, 10, 60):
        moment = polled + timedelta(minutes=minutes)
        publisher = publish(moment, [])
        ctx = PageContext("http://feeds.example.test", moment, {})
        for doc in docs:
            fresh = publisher.renderer.render(doc, publisher.archive, ctx, None)
            assert store.canonical_body(urls.export_path(doc)) == fresh.body, (doc, minutes)
    # once the time stands alone again, it is stamped, not rendered
    assert not [d for d in publisher.rendered if d in docs]


def test_a_system_page_whose_inputs_hold_while_time_moves_its_figures_has_the_same_bytes(
    tmp_path: Path,
) -> None:
    """While a disruption or a window is under way its system's figures move with every
    moment, what its page shows only every few minutes (hours to one decimal): the page's
    digest then holds the figures as shown. Polls a minute to several minutes apart, across
    midnight, each in a new process: whenever the digest is that of the page's last render,
    a render gives the same bytes; and polls a minute apart often find it so."""
    from app.site.documents import SystemPage

    settings = settings_for(tmp_path)
    urls = Urls(settings, CATALOGUE)
    store = Store(tmp_path / "store")
    put(
        store,
        [
            disruption("INC1", at(5, 4, 21)),  # open throughout
            window("WO1", at(5, 4, 23), at(5, 5, 1), systems=(OTHER,)),  # starts and ends
            disruption("INC2", at(5, 2, 9), at(5, 2, 11)),  # closed: time to close
        ],
    )
    docs = [SystemPage(Lang.EN, SLUG), SystemPage(Lang.DA, OTHER)]
    last: dict[Doc, tuple[str, bytes]] = {}
    same = moved = 0
    moment = at(5, 4, 21) + timedelta(minutes=3, seconds=17)
    steps = [1, 1, 2, 1, 7]  # minutes between polls, in turn
    n = 0
    while moment < at(5, 5, 3):
        ctx = PageContext("http://feeds.example.test", moment, {})
        archive = Archive(store)  # a new process, as a cron poll
        renderer = Renderer(settings, CATALOGUE, urls)  # nothing kept in memory
        for doc in docs:
            inputs = renderer.inputs(doc, archive, ctx)
            body = renderer.render(doc, archive, ctx, None).body
            before = last.get(doc)
            if before is not None and before[0] == inputs:
                assert before[1] == body, (doc, moment)  # not rendered again: the same bytes
                same += 1
            else:
                moved += 1
            last[doc] = (inputs, body)
        moment += timedelta(minutes=steps[n % len(steps)])
        n += 1
    # a poll a minute after the last one mostly shows the same; the hours do move
    assert same > moved > 20
