"""Reading the store around a poll's observations, before deciding (``app.ingest.decide``).

From every oid the poll observed, follow the references its stored and new observations
carry (the ref index gives the other oids with that reference) and the incident it belongs
to (whose oids were merged with it), until nothing new is reached. That is a superset of
what the decider walks from the oids that changed, so it never needs the store itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app.ingest.decide import Neighbourhood
from app.model import Incident, Observation


class IndexReader(Protocol):
    """The reads the neighbourhood needs (``app.store.Store`` has them; tests use a dict)."""

    def observations(self, oid: int) -> list[Observation]:
        """Every stored observation of one message."""
        ...

    def oids_for_ref(self, ref: str) -> set[int]:
        """Messages whose primary reference is ``ref``."""
        ...

    def key_for_oid(self, oid: int) -> str | None:
        """The incident key ``oid`` belongs to."""
        ...

    def incident(self, key: str) -> Incident | None:
        """One incident, or None."""
        ...

    def generation(self) -> int:
        """The generation counter."""
        ...

    def incident_count(self) -> int:
        """How many incidents are stored."""
        ...


def load_neighbourhood(store: IndexReader, fresh: Iterable[Observation]) -> Neighbourhood:
    """Everything the decider may need about the oids in ``fresh``, read from ``store``."""
    fresh_refs: dict[int, set[str]] = {}
    for obs in fresh:
        refs = fresh_refs.setdefault(obs.oid, set())
        if obs.ref:
            refs.add(obs.ref)
    if not fresh_refs:
        return Neighbourhood()
    observations: dict[int, tuple[Observation, ...]] = {}
    ref_members: dict[str, frozenset[int]] = {}
    keys: dict[int, str] = {}
    incidents: dict[str, Incident] = {}
    frontier = sorted(fresh_refs)
    while frontier:
        oid = frontier.pop()
        if oid in observations:
            continue
        observations[oid] = tuple(store.observations(oid))
        linked: set[int] = set()
        for ref in {o.ref for o in observations[oid] if o.ref} | fresh_refs.get(oid, set()):
            if ref not in ref_members:
                ref_members[ref] = frozenset(store.oids_for_ref(ref))
            linked |= ref_members[ref]
        key = store.key_for_oid(oid)
        if key is not None:
            keys[oid] = key
            if key not in incidents and (stored := store.incident(key)) is not None:
                incidents[key] = stored
            if key in incidents:
                linked |= set(incidents[key].oids)
        frontier.extend(sorted(linked - observations.keys()))
    return Neighbourhood(
        observations=observations,
        ref_members=ref_members,
        keys=keys,
        incidents=incidents,
        generation=store.generation(),
        incident_count=store.incident_count(),
    )
