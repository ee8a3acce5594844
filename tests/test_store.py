"""The store's core (``app.store.core``): what a commit writes on diskcache's table."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import diskcache
from hypothesis import given, settings
from hypothesis import strategies as st

from app import jsonio
from app.store import Store
from app.store.codec import SCHEMA
from app.store.core import Batch, _dumps, _loads


def test_a_commit_writes_the_rows_diskcache_s_own_set_and_delete_write(tmp_path: Path) -> None:
    """The commit writes its records, and removes those it deletes, in one statement each on
    diskcache's table: the rows, and the count diskcache keeps, are those of ``Cache.set`` and
    ``Cache.delete`` (a newer diskcache that changed its table would fail here, not in a
    store)."""
    values = {"meta:x": {"a": [1, "æ"]}, "meta:y": "z"}
    raw = {"doc:/feeds/all.atom": b"<feed/>\x00\xff", "docgz:/feeds/all.atom": b"\x1f\x8b"}
    store = Store.open(tmp_path / "ours")
    for _ in range(2):  # written, then written over
        batch = Batch()
        for key, value in values.items():
            batch.put(key, value)
        for key, body in raw.items():
            batch.put_bytes(key, body)
        store.commit(batch)
    gone = ("meta:y", "docgz:/feeds/all.atom", "doc:never-written")
    batch = Batch()
    for key in gone:
        batch.delete(key)
    store.commit(batch)
    store.close()
    theirs = diskcache.Cache(str(tmp_path / "theirs"))
    for _ in range(2):
        for key, value in values.items():
            theirs.set(key, _dumps(value))
        for key, body in raw.items():
            theirs.set(key, body)
    for key in gone:
        theirs.delete(key)
    theirs.close()
    values.pop("meta:y")
    raw.pop("docgz:/feeds/all.atom")
    columns = "key, raw, expire_time, access_count, tag, size, mode, filename, value"

    def rows(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        with sqlite3.connect(path / "cache.db") as db:
            return (
                db.execute(f"SELECT {columns} FROM Cache ORDER BY key").fetchall(),
                db.execute("SELECT value FROM Settings WHERE key IN ('count', 'size')").fetchall(),
            )

    ours = rows(Store.location(tmp_path / "ours"))
    assert [r for r in ours[0] if r[0] in values.keys() | raw.keys()] == rows(tmp_path / "theirs")[
        0
    ]
    reopened = Store.open(tmp_path / "ours")
    assert [reopened.get(k) for k in values] == list(values.values())
    assert [reopened.get_bytes(k) for k in raw] == list(raw.values())
    assert [reopened.get_bytes(k) for k in gone] == [None] * len(gone)
    with sqlite3.connect(Store.location(tmp_path / "ours") / "cache.db") as db:
        (count,) = db.execute("SELECT count(*) FROM Cache").fetchone()
    assert ours[1][0] == (count,)  # diskcache's own count of its rows holds


_KEYS = st.one_of(st.text(max_size=8), st.integers(-(2**70), 2**70))
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),  # past 64 bits too: json writes those
    st.floats(min_value=0.0001, max_value=1e300, allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e300, max_value=-0.0001, allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner, inner),
        st.dictionaries(_KEYS, inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=_VALUES)
def test_records_and_json_documents_are_the_bytes_json_writes(value: object) -> None:
    """``app.jsonio`` (orjson) writes the very text ``json.dumps`` wrote, compact and in UTF-8,
    for every kind of value toldfeed keeps or publishes (an integer past 64 bits too): no JSON
    document changes form, and a record reads back exactly, big integers as integers."""
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert jsonio.dumps_text(value) == expected
    assert jsonio.dumps(value) == expected.encode("utf-8")
    assert _dumps(value) == json.dumps(
        {"v": SCHEMA, "data": value}, ensure_ascii=False, separators=(",", ":")
    )
    back = _loads(_dumps(value))
    assert json.dumps(back) == json.dumps(json.loads(expected))  # an int stays an int
