"""Which messages make one incident, and the incident's key. Pure.

Messages (oids) that share a primary INC/WO reference form one incident; its key is that
reference (the smallest one if a message's reference ever changed), else ``oid:<N>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.model import Observation


def group_oids(observations: Iterable[Observation]) -> list[set[int]]:
    """Partition oids into incidents: oids sharing a primary reference are one incident."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_ref: dict[str, int] = {}
    for obs in observations:
        find(obs.oid)
        if obs.ref:
            other = by_ref.setdefault(obs.ref, obs.oid)
            parent[find(obs.oid)] = find(other)
    groups: dict[int, set[int]] = {}
    for oid in parent:
        groups.setdefault(find(oid), set()).add(oid)
    return sorted(groups.values(), key=min)


def incident_key(observations: Iterable[Observation]) -> str:
    """The stable key of the incident these observations make up."""
    obs = list(observations)
    refs = sorted({o.ref for o in obs if o.ref})
    return refs[0] if refs else f"oid:{min(o.oid for o in obs)}"
