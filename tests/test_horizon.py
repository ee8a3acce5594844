"""A document's horizon: up to when time alone leaves the digest of its inputs as it is. A poll
before it, quiet or changing only incidents the document does not show, takes the digest kept
instead of working it out (``app.site.horizon``), so a horizon too late, or a digest kept past
a change the document shows, would leave a page showing another moment: these tests sweep polls
over windows that start, end, overrun and are cancelled, a maintenance closed before its
planned end, disruptions that open and close, midnight, and the agency unreadable."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from app.model import Incident, Lang, SystemContents
from app.publish.publisher import Publisher
from app.render.renderer import Renderer
from app.site.archive import Archive
from app.site.documents import Doc, StatsApi, StatuspageApi
from app.site.figures import FiguresToken
from app.site.horizon import ends_horizon, figures_horizon, next_local_day, states_horizon
from app.site.sets import canonical_documents
from app.site.system_state import OVERRUN_SHOWN
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import PageContext
from tests.archives import put
from tests.conftest import settings_for
from tests.test_stats import CATALOGUE, SLUG, at, disruption, window

OTHER = "dms-export"
BASE = "http://feeds.example.test"
NOTICE = {Lang.EN: "cannot be read", Lang.DA: "kan ikke læses"}


def _incidents() -> list[Incident]:
    return [
        disruption("INC1", at(5, 2, 9), at(5, 2, 11)),
        window("WO1", at(5, 3, 22), at(5, 4, 2), systems=(SLUG, OTHER)),  # across midnight
        window("WO2", at(5, 4, 6), at(5, 4, 7)),  # overruns: never closed
        window("WO3", at(5, 3, 23), at(5, 4, 1), cancelled=True, systems=(OTHER,)),
        window("WO4", at(5, 3, 12), None, closed_at=at(5, 3, 15)),
        # closed at 14:00, before its planned end, no time of closing known (``_later``):
        # Statuspage's maintenance says it ended at its planned end once that passed
        window("WO5", at(5, 4, 12), at(5, 4, 20), systems=(OTHER,)),
        # closed before it starts: no state shows it, but the figures do from its start
        window("WO6", at(5, 4, 15), at(5, 4, 16), closed_at=at(5, 3, 18)),
    ]


def _later() -> dict[datetime, list[Incident]]:
    """Incidents that arrive or change at a moment of the sweep."""
    wo5 = window("WO5", at(5, 4, 12), at(5, 4, 20), closed_at=at(5, 4, 14), systems=(OTHER,))
    return {
        at(5, 4, 10): [disruption("INC2", at(5, 4, 10), systems=(OTHER,))],
        at(5, 4, 14): [replace(wo5, closed_at=None)],
        at(5, 4, 22): [disruption("INC2", at(5, 4, 10), at(5, 4, 22), systems=(OTHER,))],
    }


def _blind(moment: datetime) -> dict[Lang, str]:
    return NOTICE if at(5, 4, 18) <= moment < at(5, 4, 21) else {}


def test_the_next_local_day_is_danish_midnight_also_on_the_days_the_clocks_change() -> None:
    assert next_local_day(at(5, 4, 13)) == at(5, 5)
    assert next_local_day(at(5, 4)) == at(5, 5)  # midnight itself: the next one
    assert (
        next_local_day(at(3, 28, 23, 30))
        == at(3, 29)
        == datetime.fromisoformat("2026-03-28T23:00+00:00")
    )
    assert next_local_day(at(3, 29, 12)) == at(3, 30)  # a day of 23 hours
    assert next_local_day(at(10, 25, 12)) == at(10, 26)  # a day of 25 hours
    assert at(10, 26) - at(10, 25) == timedelta(hours=25)


def test_the_states_move_when_an_open_window_starts_ends_or_stops_overrunning() -> None:
    wo = window("WO1", at(5, 4, 22), at(5, 4, 23, 30))
    midnight = at(5, 5)
    assert states_horizon([wo], at(5, 4, 9)) == at(5, 4, 22)
    assert states_horizon([wo], at(5, 4, 22)) == at(5, 4, 23, 30)
    assert states_horizon([wo], at(5, 4, 23, 30)) == midnight  # the local day comes first
    assert states_horizon([wo], at(5, 5, 1)) == at(5, 4, 23, 30) + OVERRUN_SHOWN
    assert states_horizon([wo], at(5, 5, 12)) == at(5, 6)  # overrun shown no more
    # cancelled, closed or without an end: only the start of an open one moves anything
    cancelled = replace(wo, window=replace(wo.window, cancelled=True))
    assert states_horizon([cancelled], at(5, 4, 9)) == midnight
    assert (
        states_horizon(
            [window("WO2", at(5, 4, 9), at(5, 4, 10), closed_at=at(5, 4, 9))], at(5, 4, 8)
        )
        == midnight
    )
    assert states_horizon([window("WO3", at(5, 4, 9), None)], at(5, 4, 10)) == midnight
    assert states_horizon([], at(5, 4, 10)) == midnight
    assert ends_horizon([wo, window("WO3", at(5, 4, 9), None)], at(5, 4, 9)) == at(5, 4, 23, 30)
    assert ends_horizon([wo], at(5, 4, 23, 30)) is None


def test_figures_under_way_move_at_every_moment() -> None:
    contents = SystemContents(count=1, marks=7, opened=1)
    now = at(5, 4, 9)
    assert figures_horizon(FiguresToken(contents, now.date(), True, now), now) == now
    coming = FiguresToken(contents, now.date(), False, at(5, 4, 12))
    assert figures_horizon(coming, now) == at(5, 4, 12)
    assert figures_horizon(coming._replace(moment=None), now) == at(5, 5)


def test_quiet_polls_before_the_horizons_leave_every_page_as_a_render_gives_it(
    tmp_path: Path,
) -> None:
    """Polls 7 to 31 minutes apart for a day, each a new process, with incidents arriving
    and changing now and then and the agency unreadable for a while: after each, every
    health-dependent document in the store has the digest of what it shows at that moment,
    and (every sixth poll, the Statuspage parts every second, and the last) the bytes a
    render then gives; most polls work out only the few digests whose horizon passed."""
    settings = settings_for(tmp_path)
    urls = Urls(settings, CATALOGUE)
    store = Store(tmp_path / "store")
    put(store, _incidents())
    later = _later()
    asked = Counter[str]()

    class Counting(Renderer):
        def inputs(self, doc: Doc, archive: Archive, ctx: PageContext) -> str:
            asked["inputs"] += 1
            return super().inputs(doc, archive, ctx)

    docs = [d for d in canonical_documents(CATALOGUE) if d.health_dependent]
    moment = at(5, 3, 20) + timedelta(seconds=41)
    polls = 0
    steps = [timedelta(minutes=m) for m in (7, 23, 17, 31)]
    while moment < at(5, 4, 23, 30):
        changed: list[str] | None = [] if polls else None
        for when in [w for w in later if w <= moment]:
            arrived = later.pop(when)
            put(store, arrived)
            changed = [*(changed or []), *(i.key for i in arrived)]
        ctx = PageContext(BASE, moment, _blind(moment))
        publisher = Publisher(store, urls, Counting(settings, CATALOGUE, urls), "key", 300.0)
        publisher.publish(ctx, None, changed)
        fresh, archive = Renderer(settings, CATALOGUE, urls), Archive(store)
        index = store.document_index()
        for doc in docs:
            path = urls.export_path(doc)
            assert index[path].inputs == fresh.inputs(doc, archive, ctx), (doc, moment)
            # (/api/stats.json says when its figures were made: not rendered again while the
            # digest holds, it says an earlier time than a render would)
            last = moment + steps[polls % 4] >= at(5, 4, 23, 30)
            every = 2 if isinstance(doc, StatuspageApi) else 6  # (the others cost more)
            if (polls % every == 0 or last) and not isinstance(doc, StatsApi):
                expected = fresh.render(doc, archive, ctx, None).body
                assert store.canonical_body(path) == expected, (doc, moment)
        moment += steps[polls % 4]
        polls += 1
    # without horizons every poll works out every one of them
    assert asked["inputs"] < polls * len(docs) / 4


def test_a_poll_whose_clock_went_back_works_every_digest_out(tmp_path: Path) -> None:
    """Polls at 08:00 and 08:05, then one at 06:30 (a clock set back) during a window of
    06:00-07:00: the horizons kept at 08:05 lie ahead of 06:30, yet what the pages show then
    differs; every digest is worked out again."""
    settings = settings_for(tmp_path)
    urls = Urls(settings, CATALOGUE)
    store = Store(tmp_path / "store")
    put(store, [window("WO1", at(5, 4, 6), at(5, 4, 7))])
    docs = [d for d in canonical_documents(CATALOGUE) if d.health_dependent]
    for moment, changed in ((at(5, 4, 8), None), (at(5, 4, 8, 5), []), (at(5, 4, 6, 30), [])):
        ctx = PageContext(BASE, moment, {})
        renderer = Renderer(settings, CATALOGUE, urls)
        Publisher(store, urls, renderer, "key", 300.0).publish(ctx, None, changed)
    index, archive = store.document_index(), Archive(store)
    fresh = Renderer(settings, CATALOGUE, urls)
    moved = 0
    for doc in docs:
        path = urls.export_path(doc)
        assert index[path].inputs == fresh.inputs(doc, archive, ctx), doc
        moved += index[path].horizon == at(5, 4, 7)  # worked out at 06:30: the window's end
    assert moved


def test_stats_under_way_are_made_again_when_the_hours_they_show_move(tmp_path: Path) -> None:
    """While a disruption is open its hours count up at every moment; /api/stats.json shows them
    to two decimals (36 s): a poll 10 s after the last one keeps it, one a minute after makes it
    again with the hours moved."""
    settings = settings_for(tmp_path)
    urls, store = Urls(settings, CATALOGUE), Store(tmp_path / "store")
    put(store, [disruption("INC9", at(5, 4, 9))])  # open: under way
    stats = StatsApi(Lang.EN)
    path = urls.export_path(stats)

    def poll(moment: datetime, changed: list[str] | None) -> bool:
        """Publish at ``moment`` (a new process); whether /api/stats.json was made again."""
        publisher = Publisher(store, urls, Renderer(settings, CATALOGUE, urls), "key", 300.0)
        publisher.publish(PageContext(BASE, moment, {}), None, changed)
        return stats in publisher.rendered

    def hours() -> object:
        body = store.canonical_body(path)
        assert body is not None
        return json.loads(body)["systems"][SLUG]["months"][-1]["hours_disrupted"]

    assert poll(at(5, 4, 10), None) and hours() == 1.0
    assert not poll(at(5, 4, 10) + timedelta(seconds=10), [])  # 1.0028 hours: shown as 1.0
    assert hours() == 1.0
    assert poll(at(5, 4, 10, 1), []) and hours() == 1.02  # 1.0167 hours
