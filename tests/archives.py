"""Archives for tests: incidents written to a store as a poll writes them, read back through
the store's indexes (``app.site.archive.Archive`` reads nothing else)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.model import Incident
from app.site.archive import Archive
from app.store import Batch, Store


def put(store: Store, incidents: Iterable[Incident] = (), removed: Iterable[str] = ()) -> int:
    """Write ``incidents`` and remove the ``removed`` keys in one commit with a new
    generation, as a poll does; the generation."""
    batch = Batch()
    keys: list[str] = []
    for incident in incidents:
        Store.stage_incident(batch, incident)
        keys.append(incident.key)
    for key in removed:
        Store.stage_incident_removed(batch, key)
        keys.append(key)
    generation = store.generation() + 1
    count = store.incident_count() + len(keys)  # an upper bound is all the tests need
    Store.stage_generation(batch, generation, count)
    store.commit(batch)
    return generation


def archive_of(directory: Path, incidents: Iterable[Incident]) -> Archive:
    """An archive of ``incidents`` kept in a new store under ``directory``."""
    store = Store(directory)
    put(store, incidents)
    return Archive(store)
