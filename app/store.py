"""The store (the only importer of diskcache): versioned JSON records in one SQLite file.

Keys (values are JSON text with a schema version ``v``; never pickles):

    obs:<oid>        every distinct observation of one message
    ref:<ref>        the oids whose primary reference is <ref>
    key:<oid>        the incident key an oid belongs to
    inc:<key>        the derived incident
    src:<url>        per-source state (detail links, discovered feed URL, health)
    doc:<path>       rendered documents (written by the renderer)
    meta:<name>      generation counter, last poll report, HTTP validators of every URL ...

Everything one poll writes goes through one ``Batch`` committed in a single SQLite
transaction, so a reader (or a process killed mid-poll) sees the poll entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from app.errors import StoreError
from app.model import Incident, Observation


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

    # typed helpers -------------------------------------------------------------------------

    def observations(self, oid: int) -> list[Observation]:
        """Every stored observation of one message."""
        return [observation_from_dict(d) for d in self.get(f"obs:{oid}") or []]

    def oids_for_ref(self, ref: str) -> set[int]:
        """Messages whose primary reference is ``ref``."""
        return set(self.get(f"ref:{ref}") or [])

    def key_for_oid(self, oid: int) -> str | None:
        """The incident key ``oid`` belongs to."""
        value = self.get(f"key:{oid}")
        return str(value) if value else None

    def incident(self, key: str) -> Incident | None:
        """One incident, or None."""
        data = self.get(f"inc:{key}")
        return incident_from_dict(data) if data else None

    def iter_incidents(self) -> Iterator[Incident]:
        """Every stored incident (order unspecified)."""
        for key in self._cache.iterkeys():
            if isinstance(key, str) and key.startswith("inc:"):
                data = self.get(key)
                if data:
                    yield incident_from_dict(data)

    def generation(self) -> int:
        """A counter bumped by every commit that changed an incident."""
        return int(self.get("meta:generation") or 0)

    @staticmethod
    def stage_observations(batch: Batch, oid: int, observations: list[Observation]) -> None:
        """Queue the observation set of one message."""
        batch.put(f"obs:{oid}", [observation_to_dict(o) for o in observations])

    @staticmethod
    def stage_incident(batch: Batch, incident: Incident) -> None:
        """Queue one incident and its oid index."""
        batch.put(f"inc:{incident.key}", incident_to_dict(incident))
        for oid in incident.oids:
            batch.put(f"key:{oid}", incident.key)
