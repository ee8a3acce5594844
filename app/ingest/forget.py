"""``toldfeed forget``: drop every observation of one message, so that the next poll reads it
afresh (the way out of a bad reading that is not superseded on its own).

Reads the neighbourhood of the oid, lets the pure ``decide.forget`` say what to write, and
commits it in one transaction together with: the oid's own records deleted, the HTTP
validators of every URL cleared (so the next poll gets every list and feed in full rather
than ``304 Not Modified``) and the oid's detail pages marked never read (so they are read at
the next poll). Run it under the poll lock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.ingest.decide import forget
from app.ingest.neighbourhood import load_neighbourhood
from app.ingest.pipeline import stage_decision
from app.store import Batch, Store
from app.upstream.vocab import oid_of


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What forgetting one message did."""

    oid: int
    observations: int  # how many were dropped
    changed_keys: tuple[str, ...] = ()  # incidents derived again from what remains
    new_keys: tuple[str, ...] = ()  # incidents that split off
    removed_keys: tuple[str, ...] = ()  # incidents left with no observation

    @property
    def keys(self) -> list[str]:
        """Every incident key the change touched (for publishing)."""
        return [*self.new_keys, *self.changed_keys, *self.removed_keys]


def forget_message(store: Store, oid: int) -> Forgotten | None:
    """Drop the observations of ``oid`` and commit; None when none are stored."""
    stored = store.observations(oid)
    if not stored:
        return None
    decision = forget(oid, load_neighbourhood(store, stored))
    batch = Batch()
    stage_decision(batch, decision)
    Store.stage_forgotten(batch, oid)
    http = {
        url: replace(state, etag=None, last_modified=None)
        for url, state in store.http_states().items()
        if oid_of(url) != oid  # its detail pages: as if never read
    }
    Store.stage_http_states(batch, http)
    store.commit(batch)
    return Forgotten(
        oid=oid,
        observations=len(stored),
        changed_keys=decision.changed_keys,
        new_keys=decision.new_keys,
        removed_keys=decision.removed_keys,
    )
