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
    doc:<path>, docs:..., meta:context, meta:rendered*    rendered documents (app.docstore)

Everything one poll writes goes through one ``Batch`` committed in a single SQLite
transaction, so a reader (or a process killed mid-poll) sees the poll entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import diskcache

from app.codec import (
    SCHEMA,
    counters_from_dict,
    counters_to_dict,
    http_state_from_dict,
    http_state_to_dict,
    incident_from_dict,
    incident_to_dict,
    observation_from_dict,
    observation_to_dict,
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
from app.errors import StoreError
from app.model import Incident, Observation
from app.state_records import (
    Counters,
    Health,
    HttpState,
    PollReport,
    PublishStatus,
    SourceHealth,
    SourceState,
    UploadRecord,
)

_OBS, _REF, _KEY, _INC, _SRC = "obs:", "ref:", "key:", "inc:", "src:"
_HTTP = "meta:http"
_GENERATION = "meta:generation"
_INCIDENT_COUNT = "meta:incident_count"
_LAST_POLL = "meta:last_poll"
_POLL_STARTED_AT = "meta:poll_started_at"
_COUNTERS = "meta:counters"
_HEALTH = "health:sources"
_UPLOAD, _PUBLISH = "upload:", "meta:publish"


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


class Store:
    """Typed access to the data directory's store."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(directory / "store"),
                eviction_policy="none",  # an archive: never cull
                size_limit=2**50,
                disk_min_file_size=2**30,  # keep every value inside SQLite: one transaction
                statistics=False,
                timeout=30,
            )
        except (OSError, diskcache.Timeout) as e:
            raise StoreError(f"cannot open store in {directory}: {e}") from e
        self.directory = directory

    def close(self) -> None:
        """Close the SQLite connection."""
        self._cache.close()

    def get(self, key: str) -> Any:
        """A JSON value, or None."""
        return _loads(self._cache.get(key))

    def get_bytes(self, key: str) -> bytes | None:
        """Raw bytes, or None."""
        value = self._cache.get(key)
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None

    def commit(self, batch: Batch) -> None:
        """Write a batch atomically."""
        if not batch:
            return
        try:
            with self._cache.transact():
                for key in batch.deleted:
                    self._cache.delete(key)
                for key, value in batch.values.items():
                    self._cache.set(key, _dumps(value))
                for key, raw in batch.raw.items():
                    self._cache.set(key, raw)
        except diskcache.Timeout as e:
            raise StoreError(f"store busy: {e}") from e

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
        for key in self._cache.iterkeys():
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
    def stage_incident_removed(batch: Batch, key: str) -> None:
        """Queue the deletion of an incident merged into another (its oids are re-keyed)."""
        batch.delete(f"{_INC}{key}")

    @staticmethod
    def stage_generation(batch: Batch, generation: int, incident_count: int) -> None:
        """Queue a new generation and incident count."""
        batch.put(_GENERATION, generation)
        batch.put(_INCIDENT_COUNT, incident_count)

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
