"""The archive's indexes: one head per incident in SQL tables beside the records
(``app.store.head_rows`` has the tables and their rows).

A head (``app.model.Head``) is what an index needs of an incident; the tables keep it with
the columns every feed, history page, calendar and figure is ordered or filtered by, so a
process reads the few incidents it shows by key instead of loading them all (a cron poll or a
new web worker costs the same with 100 or 10,000 archived). SQLite's B-trees keep the order;
each changed incident rewrites its own rows, in the transaction that stores it (``stage_head``,
called by ``app.store.incidents``).

Keys (each spelled here only):

    meta:heads             the version of the tables (``HEADS_VERSION``)
    meta:heads_generation  the generation they were last written at

The tables are built from the incidents when a store is opened for writing and either differs
from the running code's: a store made by an older toldfeed, or written by one since (an old
process still running during an upgrade, a rollback), or restored from a copy. A store that
can only be read gets them in memory, made again whenever its generation moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from app.model import CloseStats, Head, Incident, Kind, Marked, Status, SystemContents
from app.store.codec import from_micros, micros
from app.store.core import GENERATION, Batch, StoreCore
from app.store.head_rows import (
    BEFORE,
    DELETE_HEAD,
    DELETE_MEMBERS,
    DROP,
    FORGET_BEFORE,
    HEADS,
    HEADS_VERSION,
    KEEP_BEFORE,
    MEMBERS,
    PUT_HEAD,
    PUT_MEMBER,
    SCHEMA,
    SYSTEMS,
    MemoryHeads,
    head_from_json,
    rows_of,
)
from app.store.readonly import PREFIXED_DELETE, after_all

_HEADS_META = "meta:heads"
_HEADS_GENERATION = "meta:heads_generation"
_LEGACY_CHANGED = "gen:changed:"  # per-generation key lists of toldfeed before the tables
_NEWEST = "ORDER BY updated DESC, key DESC LIMIT ? OFFSET ?"


class HeadsMixin(StoreCore):
    """The archive's indexes: heads by key, by system, in every order a document needs."""

    _memory_heads: MemoryHeads | None = None
    _every_incident: Callable[[], Iterable[Incident]] | None = None

    # writing ------------------------------------------------------------------------------

    @staticmethod
    def stage_head(batch: Batch, incident: Incident, keep_before: bool = True) -> None:
        """Queue the rows of ``incident``'s head (replacing its earlier version's, which is
        kept under the generation the batch writes: ``heads_before``; the batch must write
        one, ``app.store.incidents.stage_generation``)."""
        row, members = rows_of(incident)
        if keep_before:
            batch.execute(KEEP_BEFORE, (incident.key, incident.key))
            batch.execute(FORGET_BEFORE)
            batch.requires(GENERATION)
        batch.execute(DELETE_MEMBERS, (incident.key,))
        batch.execute(PUT_HEAD, row)
        for member in members:
            batch.execute(PUT_MEMBER, member)

    @staticmethod
    def stage_head_removed(batch: Batch, key: str) -> None:
        """Queue the removal of an incident's rows (its head kept as for ``stage_head``)."""
        batch.execute(KEEP_BEFORE, (key, key))
        batch.execute(DELETE_HEAD, (key,))
        batch.execute(DELETE_MEMBERS, (key,))
        batch.requires(GENERATION)

    @staticmethod
    def stage_heads_generation(batch: Batch, generation: int) -> None:
        """Queue the generation the tables are written at (with every new generation)."""
        batch.put(_HEADS_GENERATION, generation)

    def _heads_current(self) -> bool:
        generation = self.get(GENERATION) or 0
        built = self.get(_HEADS_GENERATION) or 0
        return bool(self.get(_HEADS_META) == HEADS_VERSION and built == generation)

    def prepare_heads(self, incidents: Callable[[], Iterable[Incident]]) -> None:
        """Make the tables current: built from ``incidents()`` (every stored one) when they
        are not of this version or not written at the store's generation. Called when the
        store is opened (``app.store.Store``)."""
        if self.read_only:
            if not self._heads_current():
                self._every_incident = incidents
                self._memory_heads = MemoryHeads(incidents(), int(self.get(GENERATION) or 0))
            return
        if self._heads_current():
            return
        with self.transaction():
            if self._heads_current():  # another process built them meanwhile
                return
            batch = Batch()
            for sql in (*DROP, *SCHEMA):
                batch.execute(sql)
            for incident in incidents():
                self.stage_head(batch, incident, keep_before=False)
            batch.execute(PREFIXED_DELETE, (_LEGACY_CHANGED, after_all(_LEGACY_CHANGED)))
            batch.put(_HEADS_META, HEADS_VERSION)
            batch.put(_HEADS_GENERATION, int(self.get(GENERATION) or 0))
            self._apply(batch)

    def _heads(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        memory, every = self._memory_heads, self._every_incident
        if memory is not None and every is not None:
            generation = int(self.get(GENERATION) or 0)
            if memory.generation != generation:  # another process wrote: made again
                memory = self._memory_heads = MemoryHeads(every(), generation)
            return memory.query(sql, args)
        return self._query(sql, args)

    # reading ------------------------------------------------------------------------------

    def head(self, key: str) -> Head | None:
        """One incident's head, or None when it is not stored."""
        rows = self._heads(f"SELECT head FROM {HEADS} WHERE key = ?", (key,))
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
        table = MEMBERS if system else HEADS
        sql = f"SELECT key, mark FROM {table} {where} {_NEWEST}"
        return [(k, m) for k, m in self._heads(sql, (*args, limit, offset))]

    def marked_keys(self, keys: Iterable[str]) -> list[Marked]:
        """The stored ones of ``keys`` with their marks, in the order given."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        sql = f"SELECT key, mark FROM {HEADS} WHERE key IN ({','.join('?' * len(wanted))})"
        marks = dict(self._heads(sql, tuple(wanted)))
        return [(k, int(marks[k])) for k in wanted if k in marks]

    def marked_open(self) -> list[Marked]:
        """Every incident not closed, newest change first."""
        opened = tuple(s.value for s in Status if s is not Status.CLOSED)
        sql = (
            f"SELECT key, mark FROM {HEADS} WHERE status IN ({','.join('?' * len(opened))}) "
            "ORDER BY updated DESC, key DESC"
        )
        return [(k, m) for k, m in self._heads(sql, opened)]

    def marked_windows(
        self, limit: int, system: str = "", kind: Kind | None = None
    ) -> list[Marked]:
        """The ``limit`` incidents with the latest-starting windows (naming ``system``, of
        ``kind``, if given)."""
        table = MEMBERS if system else HEADS
        where = "WHERE window_start IS NOT NULL" + (" AND system = ?" if system else "")
        args: tuple[Any, ...] = (system,) if system else ()
        if kind is not None:
            where, args = f"{where} AND kind = ?", (*args, kind.value)
        sql = f"SELECT key, mark FROM {table} {where} ORDER BY window_start DESC, key DESC LIMIT ?"
        return [(k, m) for k, m in self._heads(sql, (*args, limit))]

    def marked_history(self, system: str, offset: int, limit: int) -> list[Marked]:
        """``limit`` incidents naming ``system`` from ``offset``, newest published first."""
        sql = (
            f"SELECT key, mark FROM {MEMBERS} WHERE system = ? "
            "ORDER BY published DESC, key DESC LIMIT ? OFFSET ?"
        )
        return [(k, m) for k, m in self._heads(sql, (system, limit, offset))]

    def latest_change_of(self, system: str, keys: Iterable[str]) -> datetime | None:
        """The latest change of the incidents ``keys`` naming ``system`` (None: none stored)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return None
        sql = (
            f"SELECT max(updated) FROM {MEMBERS} "
            f"WHERE system = ? AND key IN ({','.join('?' * len(wanted))})"
        )
        (latest,) = self._heads(sql, (system, *wanted))[0]
        return from_micros(int(latest)) if latest is not None else None

    def history_place(self, system: str, head: Head) -> int:
        """How many incidents naming ``system`` were published after ``head`` (its place in
        the system's history, 0 for the newest), whether or not ``head`` itself is stored."""
        sql = f"SELECT count(*) FROM {MEMBERS} WHERE system = ? AND (published, key) > (?, ?)"
        return int(self._heads(sql, (system, micros(head.published_at), head.key))[0][0])

    def heads_reaching(self, system: str, since: datetime) -> list[Head]:
        """The heads of the incidents naming ``system`` whose intervals reach ``since`` or
        later: the open ones, then the others by reach."""
        # two index ranges (an OR of them would scan every member of the system)
        sql = (
            f"SELECT head FROM {MEMBERS} INDEXED BY {MEMBERS}_reach "
            "WHERE system = ? AND reach IS NULL UNION ALL "
            f"SELECT head FROM {MEMBERS} INDEXED BY {MEMBERS}_reach WHERE system = ? AND reach >= ?"
        )
        return [head_from_json(h) for (h,) in self._heads(sql, (system, system, micros(since)))]

    def close_figures(self, system: str | None = None) -> CloseStats:
        """Time to close of the closed disruptions naming ``system`` (any: None): how many,
        and the nearest-rank median and 90th percentile (``app.site.stats``), read from the
        index by rank without reading every duration."""
        args: tuple[str, ...] = ()
        if system is None:
            where = f"FROM {HEADS} WHERE duration IS NOT NULL"
        else:
            where = f"FROM {MEMBERS} WHERE system = ? AND duration IS NOT NULL"
            args = (system,)
        count = int(self._heads(f"SELECT count(*) {where}", args)[0][0])
        if count == 0:
            return CloseStats(0)

        def ranked(p: int) -> timedelta:
            rank = max(1, math.ceil(p / 100 * count))
            sql = f"SELECT duration {where} ORDER BY duration LIMIT 1 OFFSET ?"
            return timedelta(microseconds=self._heads(sql, (*args, rank - 1))[0][0])

        return CloseStats(count, ranked(50), ranked(90))

    def system_contents(self, system: str) -> SystemContents:
        """What a system's figures depend on besides time (the triggers' sums, and the reach
        index's last entry)."""
        sums = self._heads(
            f"SELECT count, marks, opened FROM {SYSTEMS} WHERE system = ?", (system,)
        )
        count, marks, opened = sums[0] if sums else (0, 0, 0)
        latest = self._heads(f"SELECT max(reach) FROM {MEMBERS} WHERE system = ?", (system,))[0][0]
        reached = None if latest is None else from_micros(int(latest))
        return SystemContents(int(count), int(marks), reached, int(opened))

    def heads_before(self, generation: int) -> dict[str, Head | None] | None:
        """The incidents the commit of ``generation`` changed, each with the head it had
        before (None: it was new); None when that is not known (too old, or written by an
        older toldfeed)."""
        rows = self._heads(f"SELECT key, head FROM {BEFORE} WHERE generation = ?", (generation,))
        if not rows:
            return None
        return {str(k): None if h is None else head_from_json(h) for k, h in rows}

    def latest_head(self) -> Head | None:
        """The head of the incident changed last."""
        rows = self._heads(f"SELECT head FROM {HEADS} ORDER BY updated DESC, key DESC LIMIT 1")
        return head_from_json(rows[0][0]) if rows else None

    def iter_keys_newest(self) -> Iterator[str]:
        """Every stored incident's key, newest change first."""
        for (key,) in self._heads(f"SELECT key FROM {HEADS} ORDER BY updated DESC, key DESC"):
            yield str(key)


def _filters(system: str, status: Status | None, kind: Kind | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("system", system or None), ("status", status), ("kind", kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value.value if isinstance(value, Status | Kind) else value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
