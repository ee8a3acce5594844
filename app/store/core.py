"""The store's core (the only importer of diskcache): one SQLite file of versioned JSON records.

Values are JSON text with a schema version ``v`` (never pickles); rendered documents are raw
bytes. Everything one poll writes goes through one ``Batch`` committed in a single SQLite
transaction, so a reader (or a process killed mid-poll) sees the poll entirely or not at all.

Every SQLite or file-system failure becomes one ``StoreError`` line that names the store and
what to do: a damaged file (``StoreDamagedError``: restore a backup or ``sqlite3 .recover``),
a full disk (free space), a directory that is not writable (a read-only mount: remount it;
no permission: grant it), a busy store. A store that cannot be written (a full disk, a
read-only file system, no write permission) can be opened read-only instead
(``Store.open(..., read_only_fallback=True)``, what ``serve`` does): every read works, every
commit raises, and ``read_only_reason`` keeps the line that says why and what to do.

The one key spelled here is the store-wide change counter, which the incidents stage:

    meta:generation        bumped by every commit that changed an incident
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import diskcache

from app import jsonio
from app.errors import StoreDamagedError, StoreError
from app.store.codec import SCHEMA
from app.store.failures import describe_failure
from app.store.readonly import GET, PREFIXED, PREFIXED_AFTER, ReadOnlyCache, after_all

log = logging.getLogger("toldfeed.store")

GENERATION = "meta:generation"

# ``Cache.set`` of many records in one statement: the row diskcache's ``set`` writes for a str
# key and a value kept in SQLite (mode raw, no file: values never go to files here), without
# its two statements and some 20 Python calls a record (a publish writes hundreds)
_UPSERT = (
    "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count, tag, size,"
    " mode, filename, value) VALUES (?1, 1, ?2, NULL, ?2, 0, NULL, 0, 1, NULL, ?3)"
    " ON CONFLICT(key, raw) DO UPDATE SET store_time = ?2, expire_time = NULL, access_time = ?2,"
    " access_count = 0, tag = NULL, size = 0, mode = 1, filename = NULL, value = ?3"
)

# ``Cache.delete`` of many records in one statement (its lookup first only finds a file to
# remove, and there are none)
_DELETE = "DELETE FROM Cache WHERE key = ? AND raw = 1"


def _dumps(value: Any) -> str:
    return jsonio.dumps_text({"v": SCHEMA, "data": value})


def _loads(raw: Any) -> Any:
    if raw is None:
        return None
    record = json.loads(raw)
    if not isinstance(record, dict) or record.get("v") != SCHEMA:
        raise StoreError(
            f"unsupported record version {record.get('v') if isinstance(record, dict) else '?'}"
        )
    return record["data"]


def store_error(path: Path, doing: str, error: BaseException, what: str = "store") -> StoreError:
    """A StoreError saying what went wrong with the ``what`` at ``path`` while ``doing`` and
    what to do (``app.store.failures``; diskcache's timeout is a busy store)."""
    return describe_failure(path, doing, error, what, busy=isinstance(error, diskcache.Timeout))


Reader = Callable[[str], Any]
"""Reads one JSON value by key inside a commit's transaction (None: absent)."""


class Batch:
    """Writes collected during a poll, committed together by ``Store.commit``.

    ``later`` adds a step that runs inside the commit's transaction, after the writes queued
    before it: it reads what the store holds at that moment (no other process can write in
    between) and returns the writes it decides. Numbering records after the highest one and
    queueing something only once by its id are such steps, so two processes doing them at
    once neither overwrite nor repeat each other.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.deleted: set[str] = set()
        self.raw: dict[str, bytes] = {}
        self.steps: list[Callable[[Reader], Batch]] = []
        self.statements: list[tuple[str, tuple[Any, ...]]] = []  # run after the writes
        self.required: set[str] = set()  # keys the batch must write (its statements read them)

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        """Queue an SQL statement on the store's own tables (``app.store.heads``), run in
        order after the key-value writes, in the same transaction."""
        self.statements.append((sql, args))

    def later(self, step: Callable[[Reader], Batch]) -> None:
        """Run ``step`` inside the commit's transaction and write the batch it returns."""
        self.steps.append(step)

    def put(self, key: str, value: Any) -> None:
        """Queue a JSON value."""
        self.deleted.discard(key)
        self.values[key] = value

    def put_bytes(self, key: str, value: bytes) -> None:
        """Queue raw bytes (rendered documents)."""
        self.deleted.discard(key)
        self.raw[key] = value

    def delete(self, key: str) -> None:
        """Queue a deletion (it cancels a write of the same key queued before it)."""
        self.values.pop(key, None)
        self.raw.pop(key, None)
        self.deleted.add(key)

    def requires(self, key: str) -> None:
        """Say that the batch's statements read ``key``, which it must therefore write."""
        self.required.add(key)

    def __bool__(self) -> bool:
        return bool(self.values or self.deleted or self.raw or self.steps or self.statements)


class StoreCore:
    """Opening, reading and committing the data directory's store; the typed reads and writes
    of each kind of record are in the per-domain mixins (``app.store.Store`` has them all)."""

    @staticmethod
    def location(directory: Path) -> Path:
        """Where the store of the data directory ``directory`` is (or would be)."""
        return directory / "store"

    def __init__(
        self, directory: Path, *, read_only: bool = False, read_only_reason: str = ""
    ) -> None:
        """Open the store (``read_only``: for reading only; ``read_only_reason`` says why)."""
        self.directory = directory
        self.path = self.location(directory)
        self.read_only = read_only
        self.read_only_reason = read_only_reason or f"store {self.path} is open read-only"
        self._cache: Any
        try:
            if read_only:
                self._cache = ReadOnlyCache(self.path / "cache.db", GENERATION)
                return
            directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(self.path),
                eviction_policy="none",  # an archive: never cull
                cull_limit=0,  # nothing expires: no search for expired keys at every write
                size_limit=2**50,
                disk_min_file_size=2**30,  # keep every value inside SQLite: one transaction
                statistics=False,
                timeout=30,
                # sized for a web worker, which holds a store open per process: no memory map
                # (diskcache's default maps 64 MiB, resident once read) and a 4 MiB page cache
                # (default 32 MiB); the records a request reads are few and small, and the
                # OS's file cache is shared by every process
                sqlite_mmap_size=0,
                sqlite_cache_size=1024,
                # what is deleted is overwritten, not left in free pages (a subscriber's
                # address is gone when they unsubscribe; Debian's SQLite does this by default,
                # other builds do not)
                sqlite_secure_delete=1,
            )
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "open", e) from e

    @classmethod
    def open(cls, directory: Path, *, read_only_fallback: bool = False) -> Self:
        """Open the store; with ``read_only_fallback``, read-only when it cannot be written
        (a full disk, a read-only file system, no permission), never when it is damaged.
        The store's ``read_only_reason`` then says why, and what to do."""
        try:
            return cls(directory)
        except StoreDamagedError:
            raise
        except StoreError as e:
            if not read_only_fallback:
                raise
            return cls(directory, read_only=True, read_only_reason=str(e))

    def close(self) -> None:
        """Close the SQLite connection."""
        self._cache.close()

    def _read(self, key: str) -> Any:
        # the row ``Cache.get`` reads (every value is kept in SQLite, mode raw, never expiring),
        # read with one SELECT: half its cost (a publish reads some 250 records)
        rows = self._query(GET, (key,))
        return rows[0][0] if rows else None

    def get(self, key: str) -> Any:
        """A JSON value, or None. A record that is not toldfeed's JSON is a damaged store."""
        return self._decode(key, self._read(key))

    def _decode(self, key: str, raw: Any) -> Any:
        try:
            return _loads(raw)
        except (ValueError, TypeError, StoreError) as e:  # JSONDecodeError is a ValueError
            raise StoreDamagedError(
                f"store {self.path} is damaged: record {key!r} cannot be read ({e}); stop "
                "toldfeed and restore cache.db from a backup (docs/operations.md: How to recover)"
            ) from e

    def get_bytes(self, key: str) -> bytes | None:
        """Raw bytes, or None."""
        value = self._read(key)
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None

    def commit(self, batch: Batch) -> None:
        """Write a batch atomically; StoreError (naming what to do) when it cannot."""
        if not batch:
            return
        if self.read_only:  # why, and what to do, as found when it was opened
            raise StoreError(f"{self.read_only_reason} (the store is open read-only)")
        try:
            self._write(batch)
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "write", e) from e

    def _write(self, batch: Batch) -> None:
        """The one transaction of a batch (a subclass may stand in for a failing disk)."""
        with self._cache.transact():  # BEGIN IMMEDIATE: no other writer until COMMIT
            self._apply(batch)

    def _apply(self, batch: Batch) -> None:
        """A batch's writes, then its steps, inside the open transaction."""
        if missing := batch.required - batch.values.keys():
            raise StoreError(f"a commit must write {', '.join(sorted(missing))} (a bug)")
        self._cache._con.executemany(_DELETE, [(key,) for key in batch.deleted])
        now = time.time()
        rows: list[tuple[str, float, str | bytes]] = [
            (key, now, _dumps(value)) for key, value in batch.values.items()
        ]
        rows += [(key, now, raw) for key, raw in batch.raw.items()]
        self._cache._con.executemany(_UPSERT, rows)
        for sql, args in batch.statements:
            self._cache._sql(sql, args)
        for step in batch.steps:  # reads this connection: the transaction's own state
            self._apply(step(self.get))

    def _prefixed(
        self, prefix: str, after: str | None = None, limit: int = -1
    ) -> list[tuple[str, Any]]:
        """(key, JSON value) of every record whose key starts with ``prefix``, in key order;
        with ``after``, only those whose key is greater than ``prefix + after``, at most
        ``limit`` (-1: all)."""
        args: tuple[str | int, ...]
        if after is None:
            sql, args = PREFIXED, (prefix, after_all(prefix))
        else:
            sql, args = PREFIXED_AFTER, (prefix + after, after_all(prefix), limit)
        # diskcache keeps str keys and values as they are (raw) in its Cache table
        return [(key, self._decode(key, raw)) for key, raw in self._query(sql, args)]

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one SELECT on the store's file (either mode)."""
        try:
            if isinstance(self._cache, ReadOnlyCache):
                return self._cache.query(sql, args)
            return self._cache._sql(sql, args).fetchall()  # type: ignore[no-any-return]
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "read", e) from e

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Reads and commits inside are one SQLite transaction: a read-modify-write that no
        other process or thread interleaves with (they wait, up to the store's timeout)."""
        if self.read_only:
            raise StoreError(f"{self.read_only_reason} (the store is open read-only)")
        try:
            with self._cache.transact():
                yield
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "write", e) from e

    def erase_freed(self) -> None:
        """Copy the write-ahead log into the database and empty it, so that what was deleted
        is gone from the files too, not only from the records (best effort: while another
        process reads, the log is emptied at a later checkpoint)."""
        if self.read_only:
            return
        try:
            self._cache._sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            log.warning("%s", store_error(self.path, "write", e))

    def _keys(self) -> list[Any]:
        """Every key in the store, read at once."""
        try:
            return list(self._cache.iterkeys())
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "read", e) from e
