"""What a poll writes: this poll's observations and the neighbourhood they touch → a Decision.

Pure: no I/O, no clock. The store is read before (``app.ingest.neighbourhood``) and written
after (``app.ingest.pipeline``), so the rules here can be checked against ``app.merge``'s
whole-set merge without a store: deciding any split of the observations poll by poll gives
the incidents ``derive_incidents`` gives for all of them at once (``tests/test_merge.py``).

A message (oid) changed when this poll adds an observation content it had not seen, or saw
a known content earlier than recorded, or read a known content again (its last reading moves:
written). Its incident is derived again, unless only the last readings of its current
readings moved (``_only_read_again``), together with every oid it shares an incident with:
those sharing a primary reference (the ref index) and those merged with it before (the stored
incident). An incident whose key is no longer produced was merged into another and is
removed. Invariant kept by the decisions: every stored incident's oids point to it in the
oid → key index, so the neighbourhood reaches every incident that a decision can touch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

from app.merge import add_observations, derive_incident, group_oids
from app.merge.readings import current_readings
from app.model import Incident, Observation

# an observation but when it was last read: its every other field, in one tuple (made in C, where
# ``replace(o, last_seen_at=None)`` built a whole observation through its constructor)
_READ = operator.attrgetter(*(f.name for f in fields(Observation) if f.name != "last_seen_at"))


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """What the store held, before this poll, around the oids the poll observed.

    ``observations`` has an entry (possibly empty) for every oid reached from them through
    shared references and stored incidents; ``ref_members`` one for every reference reached.
    """

    observations: Mapping[int, Sequence[Observation]] = field(default_factory=dict)
    ref_members: Mapping[str, frozenset[int]] = field(default_factory=dict)
    keys: Mapping[int, str] = field(default_factory=dict)  # oid → stored incident key
    incidents: Mapping[str, Incident] = field(default_factory=dict)  # by key
    generation: int = 0
    incident_count: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write after a poll; empty when the poll brought nothing new."""

    observations: Mapping[int, tuple[Observation, ...]] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()  # to put, each with its oid → key index
    refs: Mapping[str, frozenset[int]] = field(default_factory=dict)  # ref index entries
    new_keys: tuple[str, ...] = ()
    changed_keys: tuple[str, ...] = ()
    removed_keys: tuple[str, ...] = ()  # incidents merged into another: delete them
    generation: int | None = None  # set (with the count) when an incident changed
    incident_count: int | None = None


def decide(fresh: Iterable[Observation], around: Neighbourhood) -> Decision:
    """Merge this poll's observations into the neighbourhood; say what to write."""
    by_oid: dict[int, list[Observation]] = {}
    for obs in fresh:
        by_oid.setdefault(obs.oid, []).append(obs)
    current: dict[int, Sequence[Observation]] = dict(around.observations)
    written: dict[int, tuple[Observation, ...]] = {}
    moved: list[int] = []  # oids whose incident may derive otherwise
    for oid, new in sorted(by_oid.items()):
        existing = around.observations.get(oid, ())
        merged = tuple(add_observations(existing, new))
        if set(merged) != set(existing):
            current[oid] = written[oid] = merged
            if not _only_read_again(existing, merged):
                moved.append(oid)
    if not written:
        return Decision()
    if not moved:  # the last readings are kept; no incident can change
        return Decision(observations=written)
    affected, refs = _affected(moved, current, around)
    pool = [o for oid in sorted(affected) for o in current[oid]]
    return _rederive(pool, affected, around, written, refs)


def _only_read_again(existing: Sequence[Observation], merged: Sequence[Observation]) -> bool:
    """True when ``merged`` differs from ``existing`` only in when contents were last read,
    each of those contents was a current reading already, and the current readings stay the
    same contents: the reading of an unchanged page at every poll.

    Derivation reads ``last_seen_at`` only to tell which readings are current
    (``app.merge.readings``), in the whole set and in each prefix of its replay; a content
    that was current is the latest of its slot in every prefix that holds it, so reading it
    later changes neither. Not this: an older content read again, current once more or not
    (a clock set back can read it again before the current one's last reading)."""

    def unread(pool: Iterable[Observation]) -> set[tuple[object, ...]]:
        return set(map(_READ, pool))

    was_current = unread(current_readings(existing))
    return (
        unread(existing) == unread(merged)
        and unread(set(merged) - set(existing)) <= was_current
        and was_current == unread(current_readings(merged))
    )


def _rederive(
    pool: Sequence[Observation],
    affected: set[int],
    around: Neighbourhood,
    written: Mapping[int, tuple[Observation, ...]],
    refs: Mapping[str, frozenset[int]],
) -> Decision:
    """Derive the incidents of ``pool`` again and say which are new, changed or gone."""
    old_keys = {around.keys[oid] for oid in affected if oid in around.keys}
    produced: set[str] = set()
    put: list[Incident] = []
    new_keys: list[str] = []
    changed_keys: list[str] = []
    by_oid: dict[int, list[Observation]] = {}
    for o in pool:
        by_oid.setdefault(o.oid, []).append(o)
    for group in group_oids(pool):
        incident = derive_incident([o for oid in sorted(group) for o in by_oid[oid]])
        produced.add(incident.key)
        stored = around.incidents.get(incident.key)
        if stored == incident:
            continue
        put.append(incident)
        (changed_keys if stored else new_keys).append(incident.key)
    removed = tuple(sorted(old_keys - produced))
    bumped = bool(new_keys or changed_keys or removed)
    return Decision(
        observations=written,
        incidents=tuple(put),
        refs=refs,
        new_keys=tuple(new_keys),
        changed_keys=tuple(changed_keys),
        removed_keys=removed,
        generation=around.generation + 1 if bumped else None,
        incident_count=around.incident_count + len(new_keys) - len(removed) if bumped else None,
    )


def rederive_all(around: Neighbourhood) -> Decision:
    """Derive every incident again from its stored observations (``around`` holds all of them).

    For an upgrade that changed the merge rules: the observations and the ref index stay as
    they are; incidents whose derived form differs are put, keys no longer produced removed.
    """
    pool = [o for oid in sorted(around.observations) for o in around.observations[oid]]
    if not pool:
        return Decision()
    return _rederive(pool, set(around.observations), around, {}, {})


def forget(oid: int, around: Neighbourhood) -> Decision:
    """Drop every observation of ``oid``: what to write so that no trace of them is left.

    The incident ``oid`` belonged to is derived again from the messages merged with it (or
    removed when none is left, or split when ``oid`` held it together), and ``oid`` leaves the
    ref index. The caller deletes the oid's own records. Pure, like ``decide``: forgetting
    gives the incidents the whole-set merge gives without the oid's observations.
    """
    dropped = around.observations.get(oid, ())
    if not dropped:
        return Decision()
    current: dict[int, Sequence[Observation]] = {**around.observations, oid: ()}
    affected, _ = _affected([oid], current, around)
    pool = [o for x in sorted(affected - {oid}) for o in current[x]]
    refs = {
        ref: around.ref_members.get(ref, frozenset()) - {oid}
        for ref in sorted({o.ref for o in dropped if o.ref})
    }
    return _rederive(pool, affected, around, {}, refs)


def _affected(
    changed: Iterable[int], current: Mapping[int, Sequence[Observation]], around: Neighbourhood
) -> tuple[set[int], dict[str, frozenset[int]]]:
    """Changed oids plus every oid sharing an incident with one; the ref index entries grown."""
    affected: set[int] = set()
    members: dict[str, set[int]] = {}
    frontier = sorted(changed)
    while frontier:
        oid = frontier.pop()
        if oid in affected:
            continue
        if oid not in current:
            raise ValueError(f"the neighbourhood does not reach oid {oid}")
        affected.add(oid)
        linked: set[int] = set()
        for ref in {o.ref for o in current[oid] if o.ref}:
            group = members.setdefault(ref, set(around.ref_members.get(ref, ())))
            group.add(oid)
            linked |= group
        key = around.keys.get(oid)
        if key is not None and (stored := around.incidents.get(key)) is not None:
            linked |= set(stored.oids)
        frontier.extend(sorted(linked - affected))
    grown = {
        ref: frozenset(oids)
        for ref, oids in members.items()
        if oids != around.ref_members.get(ref, frozenset())
    }
    return affected, grown
