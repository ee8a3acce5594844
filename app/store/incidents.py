"""The store's incidents and their indexes: observations, references, oids, the counts.

Keys (each spelled here only):

    obs:<oid>              every distinct observation of one message
    ref:<ref>              the oids whose primary reference is <ref>
    key:<oid>              the incident key an oid belongs to
    inc:<key>              the derived incident (its head: ``app.store.heads``)
    meta:incident_count    how many incidents are stored
    meta:merge_rules       the digest of the merge rules the stored incidents were derived by

and ``meta:generation`` (``app.store.core``), bumped with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from app.model import Incident, Observation
from app.store.codec import (
    incident_from_dict,
    incident_to_dict,
    observation_from_dict,
    observation_to_dict,
)
from app.store.core import GENERATION, Batch, StoreCore
from app.store.heads import HeadsMixin
from app.store.readonly import values_of

_OBS, _REF, _KEY, _INC = "obs:", "ref:", "key:", "inc:"
_INCIDENT_COUNT = "meta:incident_count"
_MERGE_RULES = "meta:merge_rules"
_PER_STATEMENT = 500  # keys read by one SELECT ... IN


class IncidentsMixin(HeadsMixin, StoreCore):
    """Observations, incidents and their indexes."""

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

    def incidents(self, keys: Sequence[str]) -> dict[str, Incident]:
        """The stored ones of the incidents ``keys`` names, read a few hundred per statement."""
        found: dict[str, Incident] = {}
        for at in range(0, len(keys), _PER_STATEMENT):
            wanted = [f"{_INC}{k}" for k in keys[at : at + _PER_STATEMENT]]
            for key, raw in self._query(values_of(len(wanted)), tuple(wanted)):
                if (data := self._decode(key, raw)) is not None:
                    found[key[len(_INC) :]] = incident_from_dict(data)
        return found

    def iter_incidents(self) -> Iterator[Incident]:
        """Every stored incident (order unspecified)."""
        for _, data in self._prefixed(_INC):
            if data:
                yield incident_from_dict(data)

    def iter_oids(self) -> Iterator[int]:
        """Every message with stored observations (order unspecified)."""
        for key in self._keys():
            if isinstance(key, str) and key.startswith(_OBS):
                yield int(key[len(_OBS) :])

    def merge_rules(self) -> str | None:
        """The digest of the merge rules the stored incidents were derived by (None: unknown)."""
        value = self.get(_MERGE_RULES)
        return value if isinstance(value, str) else None

    @staticmethod
    def stage_merge_rules(batch: Batch, digest: str) -> None:
        """Queue the digest of the merge rules the incidents are now derived by."""
        batch.put(_MERGE_RULES, digest)

    def generation(self) -> int:
        """A counter bumped by every commit that changed an incident."""
        return int(self.get(GENERATION) or 0)

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
        HeadsMixin.stage_head(batch, incident)

    @staticmethod
    def stage_forgotten(batch: Batch, oid: int) -> None:
        """Queue the deletion of one message's observations and its incident index entry."""
        batch.delete(f"{_OBS}{oid}")
        batch.delete(f"{_KEY}{oid}")

    @staticmethod
    def stage_incident_removed(batch: Batch, key: str) -> None:
        """Queue the deletion of an incident merged into another (its oids are re-keyed)."""
        batch.delete(f"{_INC}{key}")
        HeadsMixin.stage_head_removed(batch, key)

    @staticmethod
    def stage_generation(batch: Batch, generation: int, incident_count: int) -> None:
        """Queue a new generation and incident count (what each incident was before the
        commit is kept under it: ``app.store.heads``)."""
        batch.put(GENERATION, generation)
        batch.put(_INCIDENT_COUNT, incident_count)
        HeadsMixin.stage_heads_generation(batch, generation)
