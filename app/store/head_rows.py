"""The archive's indexes as SQL tables: their schema, the rows of one incident, the SQL that
writes them, and the same tables in memory (``app.store.heads`` reads and writes them).

Tables (each spelled here only):

    toldfeed_heads     key → head (JSON), updated, published, status, kind, window start,
                       time to close, reach, mark (32 bits that change with every version)
    toldfeed_members   (system, key) → the same columns, per system the incident names
    toldfeed_systems   system → how many incidents name it, the sum of their marks, how many
                       are open: kept by triggers as members come and go
    toldfeed_before    (generation, key) → the head a commit replaced (NULL: it was new), so a
                       publish after a poll knows where the changed incidents stood

Times are microseconds since the epoch (UTC), so the columns sort as the instants do.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from app import jsonio
from app.model import Head, Incident, Kind, Status, close_duration, head_of, reach
from app.store.codec import (
    decode_required_time,
    decode_time,
    encode_time,
    incident_to_dict,
    micros,
    window_from_dict,
    window_to_dict,
)
from app.store.core import GENERATION
from app.store.readonly import value_of

HEADS_VERSION = 3  # bump when the tables or what they hold change: they are built again
HEADS, MEMBERS, BEFORE = "toldfeed_heads", "toldfeed_members", "toldfeed_before"
SYSTEMS = "toldfeed_systems"
BEFORE_KEPT = 1000  # generations whose replaced heads are kept (older: render everything)
_COLUMNS = "key, updated, published, status, kind, window_start, duration, reach, mark"
SCHEMA: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {HEADS} (key TEXT PRIMARY KEY NOT NULL, head TEXT NOT NULL, "
    "updated INTEGER NOT NULL, published INTEGER NOT NULL, status TEXT NOT NULL, "
    "kind TEXT NOT NULL, window_start INTEGER, duration INTEGER, reach INTEGER, "
    "mark INTEGER NOT NULL) WITHOUT ROWID",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_updated ON {HEADS} (updated, key)",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_status ON {HEADS} (status, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_kind ON {HEADS} (kind, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_window ON {HEADS} (window_start, key) "
    "WHERE window_start IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_kind_window ON {HEADS} (kind, window_start, key) "
    "WHERE window_start IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {HEADS}_duration ON {HEADS} (duration) WHERE duration IS NOT NULL",
    f"CREATE TABLE IF NOT EXISTS {MEMBERS} (system TEXT NOT NULL, key TEXT NOT NULL, "
    "updated INTEGER NOT NULL, published INTEGER NOT NULL, status TEXT NOT NULL, "
    "kind TEXT NOT NULL, window_start INTEGER, duration INTEGER, reach INTEGER, "
    "mark INTEGER NOT NULL, head TEXT NOT NULL, PRIMARY KEY (system, key)) WITHOUT ROWID",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_key ON {MEMBERS} (key)",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_updated ON {MEMBERS} (system, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_status ON {MEMBERS} (system, status, updated, key)",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_published ON {MEMBERS} (system, published, key)",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_reach ON {MEMBERS} (system, reach)",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_duration ON {MEMBERS} (system, duration) "
    "WHERE duration IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {MEMBERS}_window ON {MEMBERS} (system, window_start, key) "
    "WHERE window_start IS NOT NULL",
    f"CREATE TABLE IF NOT EXISTS {BEFORE} (generation INTEGER NOT NULL, key TEXT NOT NULL, "
    "head TEXT, PRIMARY KEY (generation, key)) WITHOUT ROWID",
)
# per system, the sums its figures' token reads, kept by triggers as members come and go
SCHEMA += (
    f"CREATE TABLE IF NOT EXISTS {SYSTEMS} (system TEXT PRIMARY KEY NOT NULL, "
    "count INTEGER NOT NULL, marks INTEGER NOT NULL, opened INTEGER NOT NULL) WITHOUT ROWID",
    f"CREATE TRIGGER IF NOT EXISTS {MEMBERS}_in AFTER INSERT ON {MEMBERS} BEGIN "
    f"INSERT OR IGNORE INTO {SYSTEMS} VALUES (new.system, 0, 0, 0); "
    f"UPDATE {SYSTEMS} SET count = count + 1, marks = marks + new.mark, "
    "opened = opened + (new.reach IS NULL) WHERE system = new.system; END",
    f"CREATE TRIGGER IF NOT EXISTS {MEMBERS}_out AFTER DELETE ON {MEMBERS} BEGIN "
    f"UPDATE {SYSTEMS} SET count = count - 1, marks = marks - old.mark, "
    "opened = opened - (old.reach IS NULL) WHERE system = old.system; END",
)
DROP = tuple(f"DROP TABLE IF EXISTS {t}" for t in (HEADS, MEMBERS, BEFORE, SYSTEMS))
# the generation a commit is writing (``app.store.core`` writes ``meta:generation`` with the
# records, before the statements): the replaced heads are kept under it
_WRITING = f"(SELECT json_extract({value_of(GENERATION)}, '$.data'))"


def _us_or_none(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


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
    return jsonio.dumps_text(record)


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


def rows_of(incident: Incident) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The heads row of ``incident`` and its members rows."""
    head = head_of(incident)
    duration = close_duration(head)
    reached = reach(head)
    columns = (
        head.key,
        micros(head.updated_at),
        micros(head.published_at),
        head.status.value,
        head.kind.value,
        _us_or_none(head.window.start_at if head.window is not None else None),
        None if duration is None else duration // timedelta(microseconds=1),
        _us_or_none(reached),
        mark_of(incident),
    )
    text = head_to_json(head)
    systems = dict.fromkeys(head.systems)  # a system named twice counts once
    return (text, *columns), [(system, *columns, text) for system in systems]


PUT_HEAD = f"INSERT OR REPLACE INTO {HEADS} (head, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
# a plain INSERT (the incident's rows are deleted first): the triggers see every row come and go
PUT_MEMBER = f"INSERT INTO {MEMBERS} (system, {_COLUMNS}, head) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
DELETE_HEAD = f"DELETE FROM {HEADS} WHERE key = ?"
# the head an incident had before this commit, kept once per generation (the first wins)
KEEP_BEFORE = (
    f"INSERT OR IGNORE INTO {BEFORE} (generation, key, head) "
    f"SELECT {_WRITING}, ?, (SELECT head FROM {HEADS} WHERE key = ?) WHERE {_WRITING} IS NOT NULL"
)
FORGET_BEFORE = f"DELETE FROM {BEFORE} WHERE generation <= {_WRITING} - {BEFORE_KEPT}"
DELETE_MEMBERS = f"DELETE FROM {MEMBERS} WHERE key = ?"


class MemoryHeads:
    """The tables in memory, for a store that can only be read and whose tables are not
    current (built from its incidents as of ``generation``)."""

    def __init__(self, incidents: Iterable[Incident], generation: int) -> None:
        self.generation = generation
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        for sql in SCHEMA:
            self._db.execute(sql)
        for incident in incidents:
            row, members = rows_of(incident)
            self._db.execute(PUT_HEAD, row)
            self._db.executemany(PUT_MEMBER, members)

    def query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()
