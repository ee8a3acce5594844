"""The archive's indexes as SQL tables beside the records: one head per incident.

A head (``app.model.Head``) is what an index needs of an incident; the tables keep it with
the columns every feed, history page, calendar and figure is ordered or filtered by, so a
process reads the few incidents it shows by key instead of loading them all (a cron poll
or a new web worker costs the same with 100 or 10,000 archived). SQLite's B-trees keep the
order; each changed incident rewrites its own rows, in the transaction that stores it
(``stage_head``, called by ``app.store.incidents``).

Tables (each spelled here only):

    toldfeed_heads     key → head (JSON), updated, published, status, kind, window start,
                       time to close, mark (32 bits that change with every version)
    toldfeed_members   (system, key) → the same columns, per system the incident names
    toldfeed_before    (generation, key) → the head a commit replaced (NULL: it was new), so a
                       publish after a poll knows where the changed incidents stood

and ``meta:heads``, the version of these tables: a store without it (made by an older
toldfeed) has them built from its incidents when it is opened for writing; a store that can
only be read gets them in memory.

Times are microseconds since the epoch (UTC), so the columns sort as the instants do.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from app.model import CloseStats, Head, Incident, Kind, Status, close_duration, head_of, reach
from app.store.codec import (
    decode_required_time,
    decode_time,
    encode_time,
    incident_to_dict,
    window_from_dict,
    window_to_dict,
)
from app.store.core import Batch, StoreCore

HEADS_VERSION = 2  # bump when the tables or what they hold change: they are built again
_HEADS_META = "meta:heads"
_HEADS, _MEMBERS, _BEFORE = "toldfeed_heads", "toldfeed_members", "toldfeed_before"
_SYSTEMS = "toldfeed_systems"
BEFORE_KEPT = 1000  # generations whose replaced heads are kept (older: render everything)
_COLUMNS = "key, updated, published, status, kind, window_start, duration, reach, mark"
_SCHEMA: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {_HEADS} (key TEXT PRIMARY KEY NOT NULL, head TEXT NOT NULL, "
    "updated INTEGER NOT NULL, published INTEGER NOT NULL, status TEXT NOT NULL, "
    "kind TEXT NOT NULL, window_start INTEGER, duration INTEGER, reach INTEGER, "
    "mark INTEGER NOT NULL) WITHOUT ROWID",
    f"CREATE INDEX IF NOT EXISTS {_HEADS}_updated ON {_HEADS} (updated, key)",
    f"CREATE INDEX IF NOT EXISTS {_HEADS}_status ON {_HEADS} (status, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {_HEADS}_kind ON {_HEADS} (kind, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {_HEADS}_window ON {_HEADS} (window_start, key) "
    "WHERE window_start IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {_HEADS}_duration ON {_HEADS} (duration) "
    "WHERE duration IS NOT NULL",
    f"CREATE TABLE IF NOT EXISTS {_MEMBERS} (system TEXT NOT NULL, key TEXT NOT NULL, "
    "updated INTEGER NOT NULL, published INTEGER NOT NULL, status TEXT NOT NULL, "
    "kind TEXT NOT NULL, window_start INTEGER, duration INTEGER, reach INTEGER, "
    "mark INTEGER NOT NULL, head TEXT NOT NULL, PRIMARY KEY (system, key)) WITHOUT ROWID",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_key ON {_MEMBERS} (key)",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_updated ON {_MEMBERS} (system, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_status ON {_MEMBERS} (system, status, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_published ON {_MEMBERS} (system, published, key)",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_reach ON {_MEMBERS} (system, reach)",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_duration ON {_MEMBERS} (system, duration) "
    "WHERE duration IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {_MEMBERS}_window ON {_MEMBERS} (system, window_start, key) "
    "WHERE window_start IS NOT NULL",
    f"CREATE TABLE IF NOT EXISTS {_BEFORE} (generation INTEGER NOT NULL, key TEXT NOT NULL, "
    "head TEXT, PRIMARY KEY (generation, key)) WITHOUT ROWID",
)
# per system, the sums its figures' token reads, kept by triggers as members come and go
_SCHEMA += (
    f"CREATE TABLE IF NOT EXISTS {_SYSTEMS} (system TEXT PRIMARY KEY NOT NULL, "
    "count INTEGER NOT NULL, marks INTEGER NOT NULL, opened INTEGER NOT NULL) WITHOUT ROWID",
    f"CREATE TRIGGER IF NOT EXISTS {_MEMBERS}_in AFTER INSERT ON {_MEMBERS} BEGIN "
    f"INSERT OR IGNORE INTO {_SYSTEMS} VALUES (new.system, 0, 0, 0); "
    f"UPDATE {_SYSTEMS} SET count = count + 1, marks = marks + new.mark, "
    "opened = opened + (new.reach IS NULL) WHERE system = new.system; END",
    f"CREATE TRIGGER IF NOT EXISTS {_MEMBERS}_out AFTER DELETE ON {_MEMBERS} BEGIN "
    f"UPDATE {_SYSTEMS} SET count = count - 1, marks = marks - old.mark, "
    "opened = opened - (old.reach IS NULL) WHERE system = old.system; END",
)
_DROP = tuple(f"DROP TABLE IF EXISTS {t}" for t in (_HEADS, _MEMBERS, _BEFORE, _SYSTEMS))
# the generation a commit is writing (``app.store.core`` writes ``meta:generation`` with the
# records, before the statements): the replaced heads are kept under it
_WRITING = (
    "(SELECT json_extract(value, '$.data') FROM Cache WHERE key = 'meta:generation' AND raw = 1)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Marked = tuple[str, int]
"""An incident's key and mark (32 bits that change with every version of it)."""


def _us(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _us_or_none(value: datetime | None) -> int | None:
    return None if value is None else _us(value)


def mark_of(incident: Incident) -> int:
    """32 bits that change with every version of an incident (any change of what it holds,
    not only its ``updated``), the same in every process."""
    text = json.dumps(incident_to_dict(incident), ensure_ascii=False, sort_keys=True)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def head_to_json(head: Head) -> str:
    """A head as the compact JSON the tables keep."""
    record = {
        "k": head.key,
        "s": list(head.systems),
        "st": head.status.value,
        "kd": head.kind.value,
        "p": encode_time(head.published_at),
        "u": encode_time(head.updated_at),
        "c": encode_time(head.closed_at),
        "w": window_to_dict(head.window),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def head_from_json(text: str) -> Head:
    """Inverse of ``head_to_json``."""
    d = json.loads(text)
    return Head(
        d["k"],
        tuple(d["s"]),
        Status(d["st"]),
        Kind(d["kd"]),
        decode_required_time(d["p"]),
        decode_required_time(d["u"]),
        decode_time(d["c"]),
        window_from_dict(d["w"]),
    )


def _rows(incident: Incident) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The heads row of ``incident`` and its members rows."""
    head = head_of(incident)
    duration = close_duration(head)
    reached = reach(head)
    columns = (
        head.key,
        _us(head.updated_at),
        _us(head.published_at),
        head.status.value,
        head.kind.value,
        _us_or_none(head.window.start_at if head.window is not None else None),
        None if duration is None else duration // _MICROSECOND,
        _us_or_none(reached),
        mark_of(incident),
    )
    text = head_to_json(head)
    systems = dict.fromkeys(head.systems)  # a system named twice counts once
    return (text, *columns), [(system, *columns, text) for system in systems]


_PUT_HEAD = f"INSERT OR REPLACE INTO {_HEADS} (head, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
# a plain INSERT (the incident's rows are deleted first): the triggers see every row come and go
_PUT_MEMBER = f"INSERT INTO {_MEMBERS} (system, {_COLUMNS}, head) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_DELETE_HEAD = f"DELETE FROM {_HEADS} WHERE key = ?"
# the head an incident had before this commit, kept once per generation (the first wins)
_KEEP_BEFORE = (
    f"INSERT OR IGNORE INTO {_BEFORE} (generation, key, head) "
    f"SELECT {_WRITING}, ?, (SELECT head FROM {_HEADS} WHERE key = ?) WHERE {_WRITING} IS NOT NULL"
)
_FORGET_BEFORE = f"DELETE FROM {_BEFORE} WHERE generation <= {_WRITING} - {BEFORE_KEPT}"
_DELETE_MEMBERS = f"DELETE FROM {_MEMBERS} WHERE key = ?"
_NEWEST = "ORDER BY updated DESC, key DESC LIMIT ? OFFSET ?"


class _MemoryHeads:
    """The tables in memory, for a store that can only be read and was written by an older
    toldfeed (built once from its incidents)."""

    def __init__(self, incidents: Iterable[Incident]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        for sql in _SCHEMA:
            self._db.execute(sql)
        for incident in incidents:
            row, members = _rows(incident)
            self._db.execute(_PUT_HEAD, row)
            self._db.executemany(_PUT_MEMBER, members)

    def query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()


class HeadsMixin(StoreCore):
    """The archive's indexes: heads by key, by system, in every order a document needs."""

    _memory_heads: _MemoryHeads | None = None

    # writing ------------------------------------------------------------------------------

    @staticmethod
    def stage_head(batch: Batch, incident: Incident, keep_before: bool = True) -> None:
        """Queue the rows of ``incident``'s head (replacing its earlier version's, which is
        kept under the generation being written, ``heads_before``)."""
        row, members = _rows(incident)
        if keep_before:
            batch.execute(_KEEP_BEFORE, (incident.key, incident.key))
            batch.execute(_FORGET_BEFORE)
        batch.execute(_DELETE_MEMBERS, (incident.key,))
        batch.execute(_PUT_HEAD, row)
        for member in members:
            batch.execute(_PUT_MEMBER, member)

    @staticmethod
    def stage_head_removed(batch: Batch, key: str) -> None:
        """Queue the removal of an incident's rows (its head kept as for ``stage_head``)."""
        batch.execute(_KEEP_BEFORE, (key, key))
        batch.execute(_DELETE_HEAD, (key,))
        batch.execute(_DELETE_MEMBERS, (key,))

    def prepare_heads(self, incidents: Iterable[Incident]) -> None:
        """Make the tables current: built from ``incidents`` (every stored one) when the store
        has none of this version. Called when the store is opened (``app.store.Store``)."""
        if self.get(_HEADS_META) == HEADS_VERSION:
            return
        if self.read_only:
            self._memory_heads = _MemoryHeads(incidents)
            return
        with self.transaction():
            if self.get(_HEADS_META) == HEADS_VERSION:  # another process built them meanwhile
                return
            batch = Batch()
            for sql in (*_DROP, *_SCHEMA):
                batch.execute(sql)
            for incident in incidents:
                self.stage_head(batch, incident, keep_before=False)
            batch.put(_HEADS_META, HEADS_VERSION)
            self._apply(batch)

    def _heads(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        if self._memory_heads is not None:
            return self._memory_heads.query(sql, args)
        return self._query(sql, args)

    # reading ------------------------------------------------------------------------------

    def head(self, key: str) -> Head | None:
        """One incident's head, or None when it is not stored."""
        rows = self._heads(f"SELECT head FROM {_HEADS} WHERE key = ?", (key,))
        return head_from_json(rows[0][0]) if rows else None

    def marked_newest(
        self,
        system: str = "",
        status: Status | None = None,
        kind: Kind | None = None,
        limit: int = -1,
        offset: int = 0,
    ) -> list[Marked]:
        """The incidents naming ``system`` (every one: ""), of ``status`` and ``kind`` (any:
        None), newest change first (the key breaks ties), ``limit`` (-1: all) from ``offset``."""
        where, args = _filters(system, status, kind)
        table = _MEMBERS if system else _HEADS
        sql = f"SELECT key, mark FROM {table} {where} {_NEWEST}"
        return [(k, m) for k, m in self._heads(sql, (*args, limit, offset))]

    def marked_keys(self, keys: Iterable[str]) -> list[Marked]:
        """The stored ones of ``keys`` with their marks, in the order given."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        sql = f"SELECT key, mark FROM {_HEADS} WHERE key IN ({','.join('?' * len(wanted))})"
        marks = dict(self._heads(sql, tuple(wanted)))
        return [(k, int(marks[k])) for k in wanted if k in marks]

    def marked_open(self) -> list[Marked]:
        """Every incident not closed, newest change first."""
        opened = tuple(s.value for s in Status if s is not Status.CLOSED)
        sql = (
            f"SELECT key, mark FROM {_HEADS} WHERE status IN ({','.join('?' * len(opened))}) "
            "ORDER BY updated DESC, key DESC"
        )
        return [(k, m) for k, m in self._heads(sql, opened)]

    def marked_windows(
        self, limit: int, system: str = "", kind: Kind | None = None
    ) -> list[Marked]:
        """The ``limit`` incidents with the latest-starting windows (naming ``system``, of
        ``kind``, if given)."""
        table = _MEMBERS if system else _HEADS
        where = "WHERE window_start IS NOT NULL" + (" AND system = ?" if system else "")
        args: tuple[Any, ...] = (system,) if system else ()
        if kind is not None:
            where, args = f"{where} AND kind = ?", (*args, kind.value)
        sql = f"SELECT key, mark FROM {table} {where} ORDER BY window_start DESC, key DESC LIMIT ?"
        return [(k, m) for k, m in self._heads(sql, (*args, limit))]

    def marked_history(self, system: str, offset: int, limit: int) -> list[Marked]:
        """``limit`` incidents naming ``system`` from ``offset``, newest published first."""
        sql = (
            f"SELECT key, mark FROM {_MEMBERS} WHERE system = ? "
            "ORDER BY published DESC, key DESC LIMIT ? OFFSET ?"
        )
        return [(k, m) for k, m in self._heads(sql, (system, limit, offset))]

    def history_place(self, system: str, head: Head) -> int:
        """How many incidents naming ``system`` were published after ``head`` (its place in
        the system's history, 0 for the newest), whether or not ``head`` itself is stored."""
        sql = f"SELECT count(*) FROM {_MEMBERS} WHERE system = ? AND (published, key) > (?, ?)"
        return int(self._heads(sql, (system, _us(head.published_at), head.key))[0][0])

    def heads_reaching(self, system: str, since: datetime) -> list[Head]:
        """The heads of the incidents naming ``system`` whose intervals reach ``since`` or
        later: the open ones, then the others by reach."""
        # two index ranges (an OR of them would scan every member of the system)
        sql = (
            f"SELECT head FROM {_MEMBERS} INDEXED BY {_MEMBERS}_reach "
            "WHERE system = ? AND reach IS NULL UNION ALL "
            f"SELECT head FROM {_MEMBERS} INDEXED BY {_MEMBERS}_reach WHERE system = ? AND reach >= ?"
        )
        return [head_from_json(h) for (h,) in self._heads(sql, (system, system, _us(since)))]

    def close_figures(self, system: str | None = None) -> CloseStats:
        """Time to close of the closed disruptions naming ``system`` (any: None): how many,
        and the nearest-rank median and 90th percentile (``app.site.stats``), read from the
        index by rank without reading every duration."""
        args: tuple[str, ...] = ()
        if system is None:
            where = f"FROM {_HEADS} WHERE duration IS NOT NULL"
        else:
            where = f"FROM {_MEMBERS} WHERE system = ? AND duration IS NOT NULL"
            args = (system,)
        count = int(self._heads(f"SELECT count(*) {where}", args)[0][0])
        if count == 0:
            return CloseStats(0)

        def ranked(p: int) -> timedelta:
            rank = max(1, math.ceil(p / 100 * count))
            sql = f"SELECT duration {where} ORDER BY duration LIMIT 1 OFFSET ?"
            return timedelta(microseconds=self._heads(sql, (*args, rank - 1))[0][0])

        return CloseStats(count, ranked(50), ranked(90))

    def system_contents(self, system: str) -> tuple[int, int, int | None, int]:
        """What a system's figures depend on besides time: (how many incidents name it, the
        sum of their marks, the latest reach in microseconds, how many are open)."""
        sums = self._heads(
            f"SELECT count, marks, opened FROM {_SYSTEMS} WHERE system = ?", (system,)
        )
        count, marks, opened = sums[0] if sums else (0, 0, 0)
        sql = f"SELECT max(reach) FROM {_MEMBERS} WHERE system = ?"  # the index's last entry
        return int(count), int(marks), self._heads(sql, (system,))[0][0], int(opened)

    def heads_before(self, generation: int) -> dict[str, Head | None] | None:
        """The incidents the commit of ``generation`` changed, each with the head it had
        before (None: it was new); None when that is not known (too old, or written by an
        older toldfeed)."""
        rows = self._heads(f"SELECT key, head FROM {_BEFORE} WHERE generation = ?", (generation,))
        if not rows:
            return None
        return {str(k): None if h is None else head_from_json(h) for k, h in rows}

    def latest_head(self) -> Head | None:
        """The head of the incident changed last."""
        rows = self._heads(f"SELECT head FROM {_HEADS} ORDER BY updated DESC, key DESC LIMIT 1")
        return head_from_json(rows[0][0]) if rows else None

    def iter_keys_newest(self) -> Iterator[str]:
        """Every stored incident's key, newest change first."""
        for (key,) in self._heads(f"SELECT key FROM {_HEADS} ORDER BY updated DESC, key DESC"):
            yield str(key)


def _filters(system: str, status: Status | None, kind: Kind | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("system", system or None), ("status", status), ("kind", kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value.value if isinstance(value, Status | Kind) else value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
