"""Following the store with an archive in memory: what changed since the archive's
generation is applied to it (the store keeps the keys each generation changed), and only when
that is not known is every incident read again.

A web worker's library and a serving process's publisher both hold an archive; after another
process's poll they read the few incidents it changed, not the whole store.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model import Incident
from app.site.archive import Archive
from app.store import Store

CATCH_UP_MAX = 2000  # more changed incidents than this: reading everything is no dearer


@dataclass(frozen=True, slots=True)
class Followed:
    """The archive as the store holds it at ``generation``; ``changed`` the incidents applied
    to it (key → new version, None when gone), or None when it was read whole (then a new
    archive: the one given is left as it was)."""

    archive: Archive
    generation: int
    changed: dict[str, Incident | None] | None
    removed: frozenset[str] = frozenset()  # keys ``changed`` took out of the archive


def follow(archive: Archive | None, generation: int, store: Store) -> Followed:
    """``archive`` (as of ``generation``; None: none yet) brought up to the store's now."""
    current, keys = store.changed_since(generation if archive is not None else -1)
    if archive is not None and current == generation:
        return Followed(archive, current, {})
    if archive is None or keys is None or len(keys) > CATCH_UP_MAX:
        return Followed(Archive(store.iter_incidents()), current, None)
    changed = {key: store.incident(key) for key in sorted(keys)}
    removed = frozenset(k for k, i in changed.items() if i is None and k in archive.by_key)
    archive.apply(changed)
    return Followed(archive, current, changed, removed)
