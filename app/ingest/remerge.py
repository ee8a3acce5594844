"""After an upgrade that changed how incidents are derived: derive every stored incident again.

The merge rules are the code of ``app.merge`` and of the text rules it applies
(``app.upstream``: phrases, window times, fallback statements) and the model; their digest is
stored beside the incidents (``meta:merge_rules``). When it differs from the running code's,
the next poll first derives every incident again from the stored observations (pure:
``decide.rederive_all``) and commits those whose derived form changed, in one transaction;
the documents are then rendered in full, as after any upgrade. Nothing is queued for push:
nothing happened upstream. A store without incidents only records the digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ingest.decide import Neighbourhood, rederive_all
from app.ingest.pipeline import stage_decision
from app.ingest.rules import merge_digest
from app.store import Batch, Store


@dataclass(frozen=True, slots=True)
class Remerged:
    """What deriving every incident again changed."""

    incidents: int  # how many incidents the stored observations give now
    changed_keys: tuple[str, ...] = ()
    new_keys: tuple[str, ...] = ()  # split off from an incident by the new rules
    removed_keys: tuple[str, ...] = ()  # merged into another by the new rules


def remerge_if_needed(store: Store, digest: str | None = None) -> Remerged | None:
    """Derive every incident again when the stored ones were made by other rules; commit.

    None when the stored incidents are current. Call under the poll lock.
    """
    digest = digest or merge_digest()
    if store.merge_rules() == digest:
        return None
    observations = {oid: tuple(store.observations(oid)) for oid in sorted(store.iter_oids())}
    keys = {oid: key for oid in observations if (key := store.key_for_oid(oid)) is not None}
    around = Neighbourhood(
        observations=observations,
        keys=keys,
        incidents={i.key: i for i in store.iter_incidents()},
        generation=store.generation(),
        incident_count=store.incident_count(),
    )
    decision = rederive_all(around)
    batch = Batch()
    stage_decision(batch, decision)
    Store.stage_merge_rules(batch, digest)
    store.commit(batch)
    return Remerged(
        incidents=decision.incident_count or around.incident_count,
        changed_keys=decision.changed_keys,
        new_keys=decision.new_keys,
        removed_keys=decision.removed_keys,
    )
