"""The store (the only importer of diskcache): versioned JSON records in one SQLite file.

Keys (values are JSON text with a schema version ``v``; never pickles). Each prefix below is
spelled here only; other modules use the typed methods.

    obs:<oid>              every distinct observation of one message
    ref:<ref>              the oids whose primary reference is <ref>
    key:<oid>              the incident key an oid belongs to
    inc:<key>              the derived incident
    src:<url>              per-source state (detail links, advertised feeds, discovered feed)
    meta:http              HTTP validators and detail bookkeeping of every URL
    meta:generation        bumped by every commit that changed an incident
    meta:incident_count    how many incidents are stored
    meta:last_poll         the last poll's report
    meta:poll_started_at   when the last poll began (polls are at most one per interval)
    meta:counters          poll figures for /metrics
    health:sources         per-source health
    upload:<path>          what was last put into the object-storage bucket at <path>
    meta:publish           how uploading to the bucket goes (failures, pending, figures)
    outbox:<n>             notification number <n> (written by a poll, in its batch)
    meta:outbox_seq        the highest notification number a poll has written
    notify:state           the deliverer's bookkeeping: what is pending, figures per target
    doc:<path>, docs:..., meta:context, meta:rendered*    rendered documents (app.docstore)

Everything one poll writes goes through one ``Batch`` committed in a single SQLite
transaction, so a reader (or a process killed mid-poll) sees the poll entirely or not at all.

Every SQLite or file-system failure becomes one ``StoreError`` line that names the store and
what to do: a damaged file (``StoreDamagedError``: restore a backup or ``sqlite3 .recover``),
a full disk (free space), a read-only directory, a busy store. A store that opens but cannot be
written (a full disk, a read-only file system) can be opened read-only instead
(``Store.open(..., read_only_fallback=True)``, what ``serve`` does): every read works, every
commit raises.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import diskcache

from app.codec import (
    SCHEMA,
    incident_from_dict,
    incident_to_dict,
    observation_from_dict,
    observation_to_dict,
)
from app.errors import StoreDamagedError, StoreError
from app.model import Incident, Observation
from app.state_codec import (
    counters_from_dict,
    counters_to_dict,
    http_state_from_dict,
    http_state_to_dict,
    notification_from_dict,
    notification_to_dict,
    outbox_state_from_dict,
    outbox_state_to_dict,
    poll_report_from_dict,
    poll_report_to_dict,
    publish_status_from_dict,
    publish_status_to_dict,
    source_health_from_dict,
    source_health_to_dict,
    source_state_from_dict,
    source_state_to_dict,
    upload_record_from_dict,
    upload_record_to_dict,
)
from app.state_records import (
    Counters,
    Health,
    HttpState,
    Notification,
    OutboxState,
    PollReport,
    PublishStatus,
    SourceHealth,
    SourceState,
    UploadRecord,
)

log = logging.getLogger("toldfeed.store")

_OBS, _REF, _KEY, _INC, _SRC = "obs:", "ref:", "key:", "inc:", "src:"
_HTTP = "meta:http"
_GENERATION = "meta:generation"
_INCIDENT_COUNT = "meta:incident_count"
_LAST_POLL = "meta:last_poll"
_POLL_STARTED_AT = "meta:poll_started_at"
_COUNTERS = "meta:counters"
_HEALTH = "health:sources"
_UPLOAD, _PUBLISH = "upload:", "meta:publish"
_OUTBOX, _OUTBOX_SEQ, _NOTIFY = "outbox:", "meta:outbox_seq", "notify:state"


def _dumps(value: Any) -> str:
    return json.dumps({"v": SCHEMA, "data": value}, ensure_ascii=False, separators=(",", ":"))


def _loads(raw: Any) -> Any:
    if raw is None:
        return None
    record = json.loads(raw)
    if not isinstance(record, dict) or record.get("v") != SCHEMA:
        raise StoreError(
            f"unsupported record version {record.get('v') if isinstance(record, dict) else '?'}"
        )
    return record["data"]


class Batch:
    """Writes collected during a poll, committed together by ``Store.commit``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.deleted: set[str] = set()
        self.raw: dict[str, bytes] = {}

    def put(self, key: str, value: Any) -> None:
        """Queue a JSON value."""
        self.deleted.discard(key)
        self.values[key] = value

    def put_bytes(self, key: str, value: bytes) -> None:
        """Queue raw bytes (rendered documents)."""
        self.raw[key] = value

    def delete(self, key: str) -> None:
        """Queue a deletion."""
        self.values.pop(key, None)
        self.deleted.add(key)

    def __bool__(self) -> bool:
        return bool(self.values or self.deleted or self.raw)


_DAMAGED = ("not a database", "malformed", "corrupt", "no such table", "file is encrypted")
_FULL = ("disk is full", "disk i/o error", "no space")


def store_error(path: Path, doing: str, error: BaseException) -> StoreError:
    """One line naming the store, what failed and what to do about it."""
    reason = str(error) or type(error).__name__
    said = reason.lower()
    if isinstance(error, diskcache.Timeout) or "locked" in said:
        return StoreError(f"store {path} is busy ({reason}): another process holds it; retry")
    if isinstance(error, sqlite3.DatabaseError) and any(w in said for w in _DAMAGED):
        return StoreDamagedError(
            f"store {path} is damaged ({reason}): stop toldfeed, restore cache.db from a backup "
            "or recover it with sqlite3 '.recover' (README: How to recover)"
        )
    if getattr(error, "errno", None) == errno.ENOSPC or any(w in said for w in _FULL):
        return StoreError(
            f"cannot {doing} store {path}: the data disk is full or failing ({reason}); "
            "free space on it (README: How to recover)"
        )
    if isinstance(error, PermissionError) or "readonly" in said or "read-only" in said:
        return StoreError(
            f"cannot {doing} store {path}: not writable ({reason}); "
            "make the data directory writable by toldfeed"
        )
    return StoreError(f"cannot {doing} store {path}: {reason}")


class _ReadOnlyCache:
    """diskcache's table read with SQLite in read-only mode (what a full disk still allows).

    Every value toldfeed stores is a str key with its value inside the table (``raw`` keys,
    values of mode raw), so a plain SELECT reads exactly what ``diskcache.Cache.get`` would.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no store file at {path}")
        self._lock = threading.Lock()
        try:
            self._db = self._connect(path, "mode=ro")
        except sqlite3.OperationalError:
            # read-only WAL needs a -shm file, which a full disk cannot hold; a store closed
            # cleanly has no -wal left, so its one file is the whole store: read it as is
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise
            self._db = self._connect(path, "immutable=1")

    def _connect(self, path: Path, mode: str) -> sqlite3.Connection:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, check_same_thread=False)
        try:
            db.execute("SELECT value FROM Cache WHERE key = ?", ("meta:generation",)).fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def get(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM Cache WHERE key = ? AND raw = 1", (key,)
            ).fetchone()
        return row[0] if row else None

    def iterkeys(self) -> Iterator[Any]:
        with self._lock:
            keys = [k for (k,) in self._db.execute("SELECT key FROM Cache WHERE raw = 1")]
        return iter(keys)

    def close(self) -> None:
        self._db.close()


class Store:
    """Typed access to the data directory's store."""

    def __init__(self, directory: Path, *, read_only: bool = False) -> None:
        self.directory = directory
        self.path = directory / "store"
        self.read_only = read_only
        self._cache: Any
        try:
            if read_only:
                self._cache = _ReadOnlyCache(self.path / "cache.db")
                return
            directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(self.path),
                eviction_policy="none",  # an archive: never cull
                size_limit=2**50,
                disk_min_file_size=2**30,  # keep every value inside SQLite: one transaction
                statistics=False,
                timeout=30,
            )
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "open", e) from e

    @classmethod
    def open(cls, directory: Path, *, read_only_fallback: bool = False) -> Store:
        """Open the store; with ``read_only_fallback``, read-only when it cannot be written
        (a full disk, a read-only file system), never when it is damaged."""
        try:
            return cls(directory)
        except StoreDamagedError:
            raise
        except StoreError as e:
            if not read_only_fallback:
                raise
            store = cls(directory, read_only=True)
            log.error("%s; serving what it holds, read-only", e)
            return store

    def close(self) -> None:
        """Close the SQLite connection."""
        self._cache.close()

    def _read(self, key: str) -> Any:
        try:
            return self._cache.get(key)
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "read", e) from e

    def get(self, key: str) -> Any:
        """A JSON value, or None."""
        return _loads(self._read(key))

    def get_bytes(self, key: str) -> bytes | None:
        """Raw bytes, or None."""
        value = self._read(key)
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None

    def commit(self, batch: Batch) -> None:
        """Write a batch atomically; StoreError (naming what to do) when it cannot."""
        if not batch:
            return
        if self.read_only:
            raise StoreError(
                f"cannot write store {self.path}: it is open read-only (the disk was full or "
                "not writable when toldfeed started); free space, then restart toldfeed"
            )
        try:
            self._write(batch)
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "write", e) from e

    def _write(self, batch: Batch) -> None:
        """The one transaction of a batch (a subclass may stand in for a failing disk)."""
        with self._cache.transact():
            for key in batch.deleted:
                self._cache.delete(key)
            for key, value in batch.values.items():
                self._cache.set(key, _dumps(value))
            for key, raw in batch.raw.items():
                self._cache.set(key, raw)

    # incidents and their indexes -------------------------------------------------------

    def observations(self, oid: int) -> list[Observation]:
        """Every stored observation of one message."""
        return [observation_from_dict(d) for d in self.get(f"{_OBS}{oid}") or []]

    def oids_for_ref(self, ref: str) -> set[int]:
        """Messages whose primary reference is ``ref``."""
        return set(self.get(f"{_REF}{ref}") or [])

    def key_for_oid(self, oid: int) -> str | None:
        """The incident key ``oid`` belongs to."""
        value = self.get(f"{_KEY}{oid}")
        return str(value) if value else None

    def incident(self, key: str) -> Incident | None:
        """One incident, or None."""
        data = self.get(f"{_INC}{key}")
        return incident_from_dict(data) if data else None

    def iter_incidents(self) -> Iterator[Incident]:
        """Every stored incident (order unspecified)."""
        try:
            keys = list(self._cache.iterkeys())
        except (OSError, sqlite3.Error, diskcache.Timeout) as e:
            raise store_error(self.path, "read", e) from e
        for key in keys:
            if isinstance(key, str) and key.startswith(_INC):
                data = self.get(key)
                if data:
                    yield incident_from_dict(data)

    def generation(self) -> int:
        """A counter bumped by every commit that changed an incident."""
        return int(self.get(_GENERATION) or 0)

    def incident_count(self) -> int:
        """How many incidents are stored."""
        return int(self.get(_INCIDENT_COUNT) or 0)

    @staticmethod
    def stage_observations(batch: Batch, oid: int, observations: Sequence[Observation]) -> None:
        """Queue the observation set of one message."""
        batch.put(f"{_OBS}{oid}", [observation_to_dict(o) for o in observations])

    @staticmethod
    def stage_ref(batch: Batch, ref: str, oids: Iterable[int]) -> None:
        """Queue the oids whose primary reference is ``ref``."""
        batch.put(f"{_REF}{ref}", sorted(oids))

    @staticmethod
    def stage_incident(batch: Batch, incident: Incident) -> None:
        """Queue one incident and its oid index."""
        batch.put(f"{_INC}{incident.key}", incident_to_dict(incident))
        for oid in incident.oids:
            batch.put(f"{_KEY}{oid}", incident.key)

    @staticmethod
    def stage_forgotten(batch: Batch, oid: int) -> None:
        """Queue the deletion of one message's observations and its incident index entry."""
        batch.delete(f"{_OBS}{oid}")
        batch.delete(f"{_KEY}{oid}")

    @staticmethod
    def stage_incident_removed(batch: Batch, key: str) -> None:
        """Queue the deletion of an incident merged into another (its oids are re-keyed)."""
        batch.delete(f"{_INC}{key}")

    @staticmethod
    def stage_generation(batch: Batch, generation: int, incident_count: int) -> None:
        """Queue a new generation and incident count."""
        batch.put(_GENERATION, generation)
        batch.put(_INCIDENT_COUNT, incident_count)

    # the outbox of push notifications (app.notify) -----------------------------------------
    # A poll only adds numbers above ``outbox_seq`` (under the poll lock); only the deliverer
    # rewrites a notification or ``notify:state`` (under its own lock): no lost updates.

    def outbox_seq(self) -> int:
        """The highest notification number any poll has written (0: none)."""
        return int(self.get(_OUTBOX_SEQ) or 0)

    @staticmethod
    def stage_notifications(batch: Batch, after: int, notes: Sequence[Notification]) -> None:
        """Queue new notifications, numbered from ``after + 1``."""
        for n, note in enumerate(notes, start=after + 1):
            batch.put(f"{_OUTBOX}{n}", notification_to_dict(note))
        if notes:
            batch.put(_OUTBOX_SEQ, after + len(notes))

    def notification(self, n: int) -> Notification | None:
        """Notification number ``n``, or None (delivered ones are removed)."""
        data = self.get(f"{_OUTBOX}{n}")
        return notification_from_dict(data) if data else None

    @staticmethod
    def stage_notification(batch: Batch, n: int, note: Notification | None) -> None:
        """Queue notification number ``n`` as it stands now; None removes it."""
        if note is None:
            batch.delete(f"{_OUTBOX}{n}")
        else:
            batch.put(f"{_OUTBOX}{n}", notification_to_dict(note))

    def outbox_state(self) -> OutboxState:
        """The deliverer's bookkeeping."""
        return outbox_state_from_dict(self.get(_NOTIFY) or {})

    @staticmethod
    def stage_outbox_state(batch: Batch, state: OutboxState) -> None:
        """Queue the deliverer's bookkeeping."""
        batch.put(_NOTIFY, outbox_state_to_dict(state))

    # the state around a poll -------------------------------------------------------------

    def http_states(self) -> dict[str, HttpState]:
        """Validators and detail bookkeeping of every URL read recently."""
        return {u: http_state_from_dict(d) for u, d in (self.get(_HTTP) or {}).items()}

    @staticmethod
    def stage_http_states(batch: Batch, states: Mapping[str, HttpState]) -> None:
        """Queue the HTTP state of every URL (one record: the poll rewrites it whole)."""
        batch.put(_HTTP, {u: http_state_to_dict(s) for u, s in states.items()})

    def source_state(self, url: str) -> SourceState | None:
        """What the last good read of the source ``url`` left, or None."""
        data = self.get(f"{_SRC}{url}")
        return source_state_from_dict(data) if data else None

    @staticmethod
    def stage_source_state(batch: Batch, url: str, state: SourceState) -> None:
        """Queue the state of one source."""
        batch.put(f"{_SRC}{url}", source_state_to_dict(state))

    def health(self) -> dict[str, SourceHealth]:
        """Per-source health, by source URL."""
        return {u: source_health_from_dict(d) for u, d in (self.get(_HEALTH) or {}).items()}

    @staticmethod
    def stage_health(batch: Batch, health: Health) -> None:
        """Queue per-source health."""
        batch.put(_HEALTH, {u: source_health_to_dict(h) for u, h in health.items()})

    def counters(self) -> Counters:
        """Poll figures summed over every poll."""
        return counters_from_dict(self.get(_COUNTERS) or {})

    @staticmethod
    def stage_counters(batch: Batch, counters: Counters) -> None:
        """Queue the poll figures."""
        batch.put(_COUNTERS, counters_to_dict(counters))

    def last_poll(self) -> PollReport | None:
        """The report of the last poll, or None before the first."""
        data = self.get(_LAST_POLL)
        return poll_report_from_dict(data) if data else None

    @staticmethod
    def stage_last_poll(batch: Batch, report: PollReport) -> None:
        """Queue the report of a poll."""
        batch.put(_LAST_POLL, poll_report_to_dict(report))

    def poll_started_at(self) -> datetime | None:
        """When the last poll (of any process) began."""
        value = self.get(_POLL_STARTED_AT)
        return datetime.fromisoformat(value) if value else None

    @staticmethod
    def stage_poll_started_at(batch: Batch, at: datetime) -> None:
        """Queue the start time of a poll."""
        batch.put(_POLL_STARTED_AT, at.isoformat())

    # uploads to object storage (app.objectstore) -----------------------------------------

    def uploads(self, paths: Iterable[str]) -> dict[str, UploadRecord]:
        """What was last put into the bucket at each of ``paths`` (paths never put are absent)."""
        found = {}
        for path in paths:
            data = self.get(f"{_UPLOAD}{path}")
            if data:
                found[path] = upload_record_from_dict(data)
        return found

    @staticmethod
    def stage_upload(batch: Batch, path: str, record: UploadRecord) -> None:
        """Queue what was put into the bucket at ``path``."""
        batch.put(f"{_UPLOAD}{path}", upload_record_to_dict(record))

    def publish_status(self) -> PublishStatus | None:
        """How uploading to the bucket goes; None before the first upload run."""
        data = self.get(_PUBLISH)
        return publish_status_from_dict(data) if data else None

    @staticmethod
    def stage_publish_status(batch: Batch, status: PublishStatus) -> None:
        """Queue the upload status."""
        batch.put(_PUBLISH, publish_status_to_dict(status))
