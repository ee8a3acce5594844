"""The archive's indexes in the store (``app.store.heads``): every query the archive asks them
gives what a scan of every incident would, after adds, changes and removals; what a commit
replaced is kept; a store from an older toldfeed gets them built (or, read-only, in memory)."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.model import Incident, Kind, Lang, Status, SystemContents, head_of
from app.site.archive import Archive
from app.site.documents import Feed, Format, IncidentsApi, Scope
from app.store import Store
from app.store.codec import from_micros
from app.store.head_rows import MEMBERS
from tests.archives import put
from tests.test_stats import H, at, disruption, window

SYSTEMS = ("dms-import", "dms-export", "emcs", "ics2")


def _random_incidents(rng: random.Random, count: int) -> list[Incident]:
    made: list[Incident] = []
    for n in range(count):
        start = at(3, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        systems = tuple(rng.sample(SYSTEMS, rng.randrange(1, 3)))
        if rng.random() < 0.5:
            end = start + timedelta(minutes=rng.randrange(0, 600)) if rng.random() < 0.8 else None
            made.append(disruption(f"INC{n:04d}", start, end, systems))
        else:
            closed = start + 5 * H if rng.random() < 0.7 else None
            made.append(
                window(f"WO{n:04d}", start, start + 3 * H, systems=systems, closed_at=closed)
            )
    return made


def _newest(incidents: list[Incident]) -> list[Incident]:
    return sorted(incidents, key=lambda i: (i.updated_at, i.key), reverse=True)


def _check(archive: Archive, incidents: list[Incident]) -> None:
    """Every query of the archive against a scan of ``incidents``."""
    store = archive.holdings
    assert isinstance(store, Store)
    keys = lambda found: [i.key for i in found]  # noqa: E731
    assert list(archive.keys_newest()) == keys(_newest(incidents))
    assert keys(archive.open_incidents()) == keys(
        i for i in _newest(incidents) if i.status is not Status.CLOSED
    )
    assert keys(archive.latest_closed(5)) == keys(
        [i for i in _newest(incidents) if i.status is Status.CLOSED][:5]
    )
    assert keys(archive.latest_of_kind(Kind.SCHEDULED, 7)) == keys(
        [i for i in _newest(incidents) if i.kind is Kind.SCHEDULED][:7]
    )
    by_start = sorted(
        (i for i in incidents if i.window is not None),
        key=lambda i: (i.window.start_at if i.window else None, i.key),
        reverse=True,
    )
    assert keys(archive.windows(6)) == keys(by_start[:6])
    for slug in SYSTEMS:
        naming = [i for i in incidents if slug in i.systems]
        assert keys(archive.latest_of(slug, 4)) == keys(_newest(naming)[:4])
        assert keys(archive.windows(3, slug)) == keys(
            [i for i in by_start if slug in i.systems][:3]
        )
        history = sorted(naming, key=lambda i: (i.published_at, i.key), reverse=True)
        assert archive.history_count(slug) == len(history)
        for page in (1, 2):
            assert keys(archive.history_page(slug, page)) == keys(
                history[(page - 1) * 50 : page * 50]
            )
        for incident in incidents[:5]:
            place = sum(
                (i.published_at, i.key) > (incident.published_at, incident.key) for i in history
            )
            assert archive.history_position(slug, head_of(incident)) == place
        direct = store._heads(
            f"SELECT count(*), coalesce(sum(mark), 0), max(reach), count(*) - count(reach) "
            f"FROM {MEMBERS} WHERE system = ?",
            (slug,),
        )[0]
        count, marks, latest, opened = direct
        reached = None if latest is None else from_micros(latest)
        assert store.system_contents(slug) == SystemContents(count, marks, reached, opened)
        for status in (None, Status.CLOSED):
            doc = IncidentsApi(Lang.EN, slug, status, 10)
            expected = [i for i in _newest(naming) if status is None or i.status is status]
            assert keys(archive.select(doc, 10)) == keys(expected[:10])
    feed = Feed(Lang.EN, Format.ATOM, Scope.STATUS, Status.SCHEDULED.value)
    assert keys(archive.select(feed, 9)) == keys(
        [i for i in _newest(incidents) if i.status is Status.SCHEDULED][:9]
    )


def test_the_indexes_answer_as_a_scan_of_every_incident_would(tmp_path: Path) -> None:
    rng = random.Random(11)
    incidents = _random_incidents(rng, 160)
    store = Store(tmp_path)
    put(store, incidents)
    archive = Archive(store)
    _check(archive, incidents)
    # a poll: some change (status, systems, times), some come, some go
    by_key = {i.key: i for i in incidents}
    changed = [
        replace(i, status=Status.CLOSED, closed_at=i.published_at + H, updated_at=i.updated_at + H)
        for i in rng.sample(incidents, 20)
        if i.status is not Status.CLOSED
    ]
    changed += [replace(i, systems=("emcs",)) for i in rng.sample(incidents, 10)]
    changed += _random_incidents(random.Random(12), 5)  # keys INC0000.. again: replaced
    gone = [k for k in rng.sample(sorted(by_key), 15) if k not in {c.key for c in changed}]
    before = {k: by_key.get(k) for k in [*(c.key for c in changed), *gone]}
    generation = put(store, changed, removed=gone)
    by_key.update({c.key: c for c in changed})
    for key in gone:
        del by_key[key]
    _check(archive, list(by_key.values()))
    # what the commit replaced, for a publish in another process
    kept = store.heads_before(generation)
    assert kept is not None and kept.keys() == before.keys()
    assert all(kept[k] == (head_of(i) if i else None) for k, i in before.items())
    assert store.heads_before(generation + 1) is None


def test_a_store_without_the_indexes_gets_them_built(tmp_path: Path) -> None:
    """A store written by an older toldfeed: built when opened for writing; read-only, in
    memory (the file is not touched)."""
    incidents = _random_incidents(random.Random(5), 60)
    put(Store(tmp_path), incidents)
    db = sqlite3.connect(tmp_path / "store" / "cache.db")
    with db:
        for table in ("toldfeed_heads", "toldfeed_members", "toldfeed_systems", "toldfeed_before"):
            db.execute(f"DROP TABLE {table}")
        db.execute("DELETE FROM Cache WHERE key = 'meta:heads'")
    db.close()

    _check(Archive(Store(tmp_path, read_only=True)), incidents)
    db = sqlite3.connect(tmp_path / "store" / "cache.db")
    assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'toldfeed_heads'").fetchall()
    db.close()
    _check(Archive(Store(tmp_path)), incidents)  # opened for writing: built in the file
    db = sqlite3.connect(tmp_path / "store" / "cache.db")
    assert db.execute("SELECT count(*) FROM toldfeed_heads").fetchone() == (60,)
    db.close()


def test_a_commit_by_other_code_has_the_indexes_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older toldfeed still running during an upgrade (or a rollback, or a restored copy)
    writes incidents without their heads: the next process to open the store rebuilds them."""
    from app.store.heads import HeadsMixin

    incidents = _random_incidents(random.Random(9), 30)
    put(Store(tmp_path), incidents)
    late = disruption("INC9999", at(5, 20, 9), None, ("emcs",))
    with monkeypatch.context() as older:  # code that knows no heads commits a poll
        older.setattr(HeadsMixin, "stage_head", lambda *a, **k: None)
        older.setattr(HeadsMixin, "stage_head_removed", lambda *a, **k: None)
        older.setattr(HeadsMixin, "stage_heads_generation", lambda *a, **k: None)
        stale = Store(tmp_path)
        put(stale, [late], removed=[incidents[0].key])
        assert stale.head("INC9999") is None  # its tables are behind
    now = [*incidents[1:], late]
    _check(Archive(Store(tmp_path)), now)  # opened again: built again


def test_a_read_only_store_follows_a_writer(tmp_path: Path) -> None:
    incidents = _random_incidents(random.Random(3), 20)
    writer = Store(tmp_path)
    put(writer, incidents)
    db = sqlite3.connect(tmp_path / "store" / "cache.db")
    with db:  # the tables of an older toldfeed: a read-only store makes its own in memory
        db.execute("DELETE FROM Cache WHERE key = 'meta:heads'")
    db.close()
    reader = Archive(Store(tmp_path, read_only=True))
    _check(reader, incidents)
    more = _random_incidents(random.Random(4), 3)  # INC0000..: replace three
    Store(tmp_path).close()  # a writer opening the store builds its tables again
    put(writer, more)
    by_key = {i.key: i for i in [*incidents, *more]}
    _check(reader, list(by_key.values()))


def test_incidents_are_committed_only_with_a_new_generation(tmp_path: Path) -> None:
    """What a commit replaced is kept under the generation it writes: a commit of incidents
    without one is refused (a bug), not stored with the indexes out of step."""
    from app.errors import StoreError
    from app.store import Batch

    store = Store(tmp_path)
    batch = Batch()
    Store.stage_incident(batch, disruption("INC1", at(5, 1, 9)))
    with pytest.raises(StoreError, match="meta:generation"):
        store.commit(batch)
    assert store.incident("INC1") is None and store.head("INC1") is None
