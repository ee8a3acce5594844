"""The store's file read with SQLite alone, in read-only mode: what ``StoreCore`` reads when
the store cannot be written (a full disk, a read-only file system, no permission), and the
statements that read every record under a key prefix (both modes use them).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# one record, as ``diskcache.Cache.get`` reads it (both modes read records with it)
GET = "SELECT value FROM Cache WHERE key = ? AND raw = 1"
# every record whose key starts with a prefix, read in one statement (the keys are indexed):
# what a per-key get would return for each, without listing every key of the store
PREFIXED = "SELECT key, value FROM Cache WHERE raw = 1 AND key >= ? AND key < ? ORDER BY key"
# and deleted in one statement
PREFIXED_DELETE = "DELETE FROM Cache WHERE raw = 1 AND key >= ? AND key < ?"
# the same after a key, a page at a time
PREFIXED_AFTER = (
    "SELECT key, value FROM Cache WHERE raw = 1 AND key > ? AND key < ? ORDER BY key LIMIT ?"
)


def value_of(key: str) -> str:
    """A subquery giving one record's value (``key``: a constant of toldfeed's, never input)."""
    assert "'" not in key
    return f"(SELECT value FROM Cache WHERE key = '{key}' AND raw = 1)"


def values_of(count: int) -> str:
    """A statement reading (key, value) of ``count`` keys given as its parameters."""
    return f"SELECT key, value FROM Cache WHERE raw = 1 AND key IN ({','.join('?' * count)})"


def after_all(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class ReadOnlyCache:
    """diskcache's table read with SQLite in read-only mode (what a full disk still allows).

    Every value toldfeed stores is a str key with its value inside the table (``raw`` keys,
    values of mode raw), so a plain SELECT reads exactly what ``diskcache.Cache.get`` would.
    """

    def __init__(self, path: Path, probe: str) -> None:
        """Open ``path``, reading the record ``probe`` to know the file is a store."""
        if not path.is_file():
            raise FileNotFoundError(f"no store file at {path}")
        self._lock = threading.Lock()
        try:
            self._db = self._connect(path, "mode=ro", probe)
        except sqlite3.OperationalError:
            # read-only WAL needs a -shm file, which a full disk cannot hold; a store closed
            # cleanly has no -wal left, so its one file is the whole store: read it as is
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise
            self._db = self._connect(path, "immutable=1", probe)

    def _connect(self, path: Path, mode: str, probe: str) -> sqlite3.Connection:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, check_same_thread=False)
        try:
            db.execute("SELECT value FROM Cache WHERE key = ?", (probe,)).fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def iterkeys(self) -> Iterator[Any]:
        with self._lock:
            keys = [k for (k,) in self._db.execute("SELECT key FROM Cache WHERE raw = 1")]
        return iter(keys)

    def query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        self._db.close()
