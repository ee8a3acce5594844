"""A feed rendered again takes the entries of unchanged incidents as they stood in its stored
bytes (``FeedPart``: where each entry of an incident version stands) and writes only the
changed ones: the bytes must be those of a render from the incidents alone."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.model import Incident, Lang, Status
from app.publish.publisher import Publisher
from app.render.feeds import stored_entries
from app.render.renderer import Renderer
from app.site.archive import Archive
from app.site.documents import Feed, Scope, SystemPage
from app.site.sets import canonical_documents
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import Document, PageContext
from tests.archives import put
from tests.conftest import settings_for
from tests.test_stats import CATALOGUE, SLUG, at, disruption, window

OTHER = "dms-export"
FEEDS = [d for d in canonical_documents(CATALOGUE) if isinstance(d, Feed)]


def _incidents() -> list[Incident]:
    found = [
        disruption(
            f"INC{n:012d}",
            at(5, 1 + n % 20, 8 + n % 9),
            at(5, 1 + n % 20, 18),
            (SLUG, OTHER)[: 1 + n % 2],
        )
        for n in range(60)
    ]
    return [*found, window("WO0000000000001", at(5, 25, 22), at(5, 26, 2), systems=(OTHER,))]


CTX = PageContext("http://feeds.example.test", at(5, 28), {})


def _archive(tmp_path: Path) -> tuple[Settings, Urls, Store, list[Incident]]:
    """Settings, URL map and a store holding ``_incidents()``."""
    settings = settings_for(tmp_path)
    store = Store(tmp_path / "store")
    incidents = _incidents()
    put(store, incidents)
    return settings, Urls(settings, CATALOGUE), store, incidents


def test_entries_taken_as_they_stood_give_the_bytes_of_a_render(tmp_path: Path) -> None:
    """Three rounds of changes (an update, a closure, a new incident on top, one that drops
    out of the newest 50, a blind notice first in the feed): each feed rendered with its last
    bytes' entries equals the feed rendered from the incidents alone, and writes only the
    entries of what changed."""
    settings, urls, store, incidents = _archive(tmp_path)
    stored: dict[Feed, Document] = {}
    for doc in FEEDS:
        stored[doc] = Renderer(settings, CATALOGUE, urls).render(doc, Archive(store), CTX, None)
    # every member's entry located (a feed of a system or status with none has none)
    assert all(len(stored[d].parts or ()) == 50 for d in FEEDS if d.scope is Scope.ALL)
    notice = replace(disruption("NOTICE", at(5, 28)), title={"en": "cannot be read"})
    rounds = [
        [replace(incidents[3], title={"en": "changed title"}, updated_at=at(5, 28, 1))],
        [
            disruption("INC000000000900", at(5, 28, 2), None, (SLUG,)),
            replace(incidents[7], status=Status.CLOSED),
        ],
        [replace(incidents[0], updated_at=at(5, 28, 3))],
    ]
    for n, changes in enumerate(rounds):
        put(store, changes)
        shown = notice if n == 1 else None  # the agency unreadable in the second round
        taking = Renderer(settings, CATALOGUE, urls)  # a new process each round
        fresh = Renderer(settings, CATALOGUE, urls)
        for doc in FEEDS:
            before = stored[doc]
            kept = stored_entries(before.body, before.parts or ())
            again = taking.render(doc, Archive(store), CTX, shown, kept)
            whole = fresh.render(doc, Archive(store), CTX, shown)
            assert again.body == whole.body and again.parts == whole.parts, (n, doc)
            stored[doc] = again
        # each changed incident's entry is written once per language and format
        assert 0 < taking.entries_made <= len(changes) * 2 * 3 < fresh.entries_made


def test_a_new_process_writes_only_the_changed_entries_of_the_feeds(tmp_path: Path) -> None:
    settings, urls, store, incidents = _archive(tmp_path)

    def publish(changed: list[str] | None) -> Publisher:  # a new process each time
        publisher = Publisher(store, urls, Renderer(settings, CATALOGUE, urls), "key", 300.0)
        publisher.publish(CTX, None, changed)
        return publisher

    publish(None)
    put(store, [replace(incidents[5], title={"en": "an update"}, updated_at=at(5, 28, 1))])
    publisher = publish([incidents[5].key])
    feeds = [d for d in publisher.rendered if isinstance(d, Feed)]
    assert len(feeds) > 6  # all, its systems', its status's, in three formats and two languages
    assert publisher.renderer.entries_made <= 2 * 3  # its entry, per language and format
    for doc in feeds:
        fresh = Renderer(settings, CATALOGUE, urls).render(doc, publisher.archive, CTX, None)
        assert store.canonical_body(urls.export_path(doc)) == fresh.body, doc
    assert Lang.DA in {d.lang for d in feeds}


def test_entries_are_taken_only_from_the_bytes_they_were_written_with(tmp_path: Path) -> None:
    """Code that does not keep where entries stand (the code before, after a rollback) may
    rewrite a feed; the record of where they stood in the earlier bytes must then never be read
    through: after rolling forward, a change renders every feed as a whole render would."""
    settings, urls, store, incidents = _archive(tmp_path)

    class Before(Renderer):  # the same bytes, no record of where the entries stand
        def render(self, *args: Any, **kwargs: Any) -> Document:
            return replace(super().render(*args, **kwargs), parts=None)

    def publish(
        key: str, changed: list[str] | None, renderer: type[Renderer] = Renderer
    ) -> Publisher:
        publisher = Publisher(store, urls, renderer(settings, CATALOGUE, urls), key, 300.0)
        publisher.publish(CTX, None, changed)
        return publisher

    publish("now", None)
    put(store, [disruption("INC000000000900", at(5, 28, 2), None, (SLUG,))])  # on top of every feed
    publish("before", None, Before)  # rolled back: every feed written again, no record
    publish("now", None)  # rolled forward: the same bytes again
    put(store, [replace(incidents[5], title={"en": "an update"}, updated_at=at(5, 28, 3))])
    publisher = publish("now", [incidents[5].key])
    feeds = [d for d in publisher.rendered if isinstance(d, Feed)]
    assert feeds
    for doc in feeds:
        fresh = Renderer(settings, CATALOGUE, urls).render(doc, publisher.archive, CTX, None)
        assert store.canonical_body(urls.export_path(doc)) == fresh.body, doc


def test_installing_a_library_that_writes_the_bytes_moves_the_render_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept entries and unchanged documents hold bytes the libraries wrote: a new version of
    one (pip writes into the folder that holds it) must render everything again, as a new
    toldfeed does; the time zone data likewise."""
    from app.publish.render_key import libraries_installed

    site = tmp_path / "site"
    (site / "writer").mkdir(parents=True)
    (site / "writer" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(site))
    before = libraries_installed(("writer",), "Europe/Copenhagen")
    assert str(site) in before and "Copenhagen" in before
    assert libraries_installed(("writer",), "Europe/Copenhagen") == before  # nothing moved
    (site / "writer-2.0.dist-info").mkdir()  # pip installs another version beside it
    os.utime(site, ns=(1, 10**18))
    assert libraries_installed(("writer",), "Europe/Copenhagen") != before


def test_history_pages_take_the_lines_of_unchanged_incidents_and_give_the_bytes_of_a_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new incident on top shifts every history page of its system: each page is made again
    from the lines its system's stored pages show, writing only the lines of incidents that
    changed; every page equals a render from the incidents alone. Lines stored by code that did
    not say where they stand (rolled back, then forward) are not taken."""
    import app.render.renderer as renderer_module
    from app.site.derived import derived_documents

    settings = settings_for(tmp_path)
    urls, store = Urls(settings, CATALOGUE), Store(tmp_path / "store")
    old = [
        disruption(
            f"INC{n:012d}", at(1 + n % 4, 1 + n % 27, n % 24), at(5, 1), (SLUG, OTHER)[: 1 + n % 3]
        )
        for n in range(110)
    ]
    put(store, old)
    made: set[tuple[str, Lang]] = set()  # the lines a publish wrote for history pages
    paging = [False]

    def counted(incident: Incident, catalogue: Any, lang: Lang, *args: Any) -> Any:
        if paging[0]:
            made.add((incident.key, lang))
        return line(incident, catalogue, lang, *args)

    def page_of(*args: Any) -> Any:
        paging[0] = True
        try:
            return history_document(*args)
        finally:
            paging[0] = False

    line, history_document = renderer_module.incident_item, renderer_module.history_document
    monkeypatch.setattr(renderer_module, "incident_item", counted)
    monkeypatch.setattr(renderer_module, "history_document", page_of)

    class Before(Renderer):  # the same bytes, no record of where the lines stand
        def render(self, *args: Any, **kwargs: Any) -> Document:
            return replace(super().render(*args, **kwargs), parts=None)

    def publish(changed: list[str] | None, renderer: type[Renderer] = Renderer) -> None:
        made.clear()  # a new process each time
        key = "before" if renderer is Before else "now"
        Publisher(store, urls, renderer(settings, CATALOGUE, urls), key, 300.0).publish(
            CTX, None, changed
        )

    def pages() -> list[SystemPage]:
        archive = Archive(store)
        return [d for d in derived_documents(archive, [SLUG, OTHER]) if isinstance(d, SystemPage)]

    def as_rendered() -> None:
        fresh = Renderer(settings, CATALOGUE, urls)
        for doc in pages():
            stored = store.derived_document(urls.export_path(doc))
            assert stored is not None, doc
            assert stored.body == fresh.render(doc, Archive(store), CTX, None).body, doc

    publish(None)
    assert len(pages()) == 2 * (2 + 1)  # 110 and 73 incidents: pages 2-3 and 2
    new = disruption("INC000000000900", at(5, 28, 2), None, (SLUG,))
    put(store, [new, replace(old[4], title={"en": "changed title"}, updated_at=at(5, 28, 3))])
    publish([new.key, old[4].key])
    pushed = Archive(store).history_marks(SLUG, 2)[0][0]  # off page 1 by the new one
    # the new one and the changed one, if shown on pages 2 on, and the one pushed there
    assert len(made) > 0 and {key for key, _ in made} <= {new.key, old[4].key, pushed}
    as_rendered()
    put(store, [disruption("INC000000000901", at(5, 28, 4), None, (SLUG,))])
    publish(None, Before)  # rolled back: every page written again, no record
    publish(None)  # rolled forward: the same bytes again, every line written
    archive = Archive(store)
    shown = {
        k for s, n in ((SLUG, 2), (SLUG, 3), (OTHER, 2)) for k, _ in archive.history_marks(s, n)
    }
    assert len(shown) > 60 and made >= {(k, lang) for k in shown for lang in Lang}
    put(store, [disruption("INC000000000902", at(5, 28, 5), None, (SLUG,))])
    publish(["INC000000000902"])
    pushed = Archive(store).history_marks(SLUG, 2)[0][0]
    assert made == {(pushed, lang) for lang in Lang}  # every other line taken
    as_rendered()


def test_a_renderer_writes_an_incidents_line_once_per_version(tmp_path: Path) -> None:
    """A long-lived renderer (a web worker's) keeps each incident's line in a list per version
    and language: the same version (equal, read again) gives the line kept; a new version, or
    the other language, a line of its own, as ``incident_item`` writes it."""
    from app.render.chrome import incident_item

    settings = settings_for(tmp_path)
    urls = Urls(settings, CATALOGUE)
    renderer = Renderer(settings, CATALOGUE, urls)
    one = disruption("INC000000000001", at(5, 2, 8), None, (SLUG, OTHER))
    first = renderer.line(one, Lang.EN)
    assert first == incident_item(one, CATALOGUE, Lang.EN, urls)
    assert renderer.line(replace(one), Lang.EN) is first  # equal: read again, not changed
    closed = replace(one, title={"en": "changed title"}, status=Status.CLOSED, closed_at=at(5, 3))
    again = renderer.line(closed, Lang.EN)
    assert again == incident_item(closed, CATALOGUE, Lang.EN, urls) and "changed title" in again
    assert "changed title" not in first
    assert renderer.line(closed, Lang.DA) == incident_item(closed, CATALOGUE, Lang.DA, urls)
    assert renderer.line(one, Lang.EN) == first  # the version before, shown again: its own line
