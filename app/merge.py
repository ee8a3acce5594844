"""Dedupe and timeline rules: observations in, incidents out. Pure: no I/O, no clock.

Design (see README "Dedupe rules"):

* The state is a *set* of observations, each content kept once with the earliest
  ``observed_at`` (when it was first seen) and the latest ``last_seen_at`` (when it was last
  read). Every incident field is a function of that set, so merging is order-independent and
  idempotent by construction: ``merge(a ∪ b) == merge(b ∪ a)`` (min and max commute).
* Messages (oids) that share a primary INC/WO reference form one incident; its key is that
  reference (the smallest one if a message's reference ever changed), else ``oid:<N>``.
* Title, status, link and text come from the most recently updated message; within it from
  the observation ranked highest by (upstream last-updated, *current*, observed_at,
  detail > list > rss). An observation is current when it is the latest reading of its slot
  (message, source kind, language): a fresh reading supersedes what the same slot said before
  even when it equals content seen earlier, so a bad reading (a lying charset, junk) is
  replaced by the next good one. An observation without text (a summary-table row) never
  blanks the text.
* Systems, references and update lines are unions; ``published_at`` is the earliest creation.
* ``updated_at`` is the change time of the last observation that changed what subscribers see
  (title, status, systems, text, timeline): replaying the observations in change-time order,
  a poll that finds nothing new cannot move it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.model import (
    Fallback,
    Incident,
    Kind,
    Lang,
    Message,
    Observation,
    SourceKind,
    Status,
    Update,
    Window,
)
from app.upstream.links import link_problem
from app.upstream.text import added_lines, update_identity
from app.upstream.windows import derive_fallback, derive_window

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PRIORITY = {SourceKind.RSS: 0, SourceKind.LIST: 1, SourceKind.DETAIL: 2}


def fingerprint(obs: Observation) -> str:
    """Identity of an observation's content (everything but when it was observed)."""
    return hashlib.blake2b(
        repr(replace(obs, observed_at=_EPOCH, last_seen_at=None)).encode(), digest_size=12
    ).hexdigest()


def last_seen(obs: Observation) -> datetime:
    """When toldfeed last read this content."""
    return obs.last_seen_at or obs.observed_at


def add_observations(
    existing: Iterable[Observation], new: Iterable[Observation]
) -> list[Observation]:
    """Union of two observation sets: each content once, first seen at its earliest
    ``observed_at`` and last seen at its latest reading."""
    kept: dict[str, Observation] = {}
    latest: dict[str, datetime] = {}
    for obs in (*existing, *new):
        fp = fingerprint(obs)
        old = kept.get(fp)
        if old is None or obs.observed_at < old.observed_at:
            kept[fp] = obs
        if fp not in latest or last_seen(obs) > latest[fp]:
            latest[fp] = last_seen(obs)
    merged: list[Observation] = []
    for fp in sorted(kept):
        obs = kept[fp]
        seen = latest[fp] if latest[fp] > obs.observed_at else None
        merged.append(obs if obs.last_seen_at == seen else replace(obs, last_seen_at=seen))
    return merged


def _slot(obs: Observation) -> tuple[int, SourceKind, Lang]:
    """What a fresh reading supersedes: earlier readings of the same message, kind, language."""
    return (obs.oid, obs.source_kind, obs.lang)


def current_readings(observations: Iterable[Observation]) -> list[Observation]:
    """The observations that are the latest reading of their slot."""
    pool = list(observations)
    newest: dict[tuple[int, SourceKind, Lang], datetime] = {}
    for obs in pool:
        slot = _slot(obs)
        if slot not in newest or last_seen(obs) > newest[slot]:
            newest[slot] = last_seen(obs)
    return [o for o in pool if last_seen(o) == newest[_slot(o)]]


def change_time(obs: Observation) -> datetime:
    """When the upstream state this observation shows came to be, as far as is known."""
    return obs.last_updated_at or obs.observed_at


def _ranking(
    observations: Iterable[Observation],
) -> Callable[[Observation], tuple[datetime, bool, datetime, int, str, str]]:
    """The sort key of ``observations``: later upstream time, then the current reading first."""
    current = {id(o) for o in current_readings(observations)}  # of these very objects

    def rank(obs: Observation) -> tuple[datetime, bool, datetime, int, str, str]:
        # the title and text close ties deterministically without hashing the whole record
        return (
            obs.last_updated_at or _EPOCH,
            id(obs) in current,
            obs.observed_at,
            _PRIORITY[obs.source_kind],
            obs.title,
            obs.message_text,
        )

    return rank


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


@dataclass(frozen=True, slots=True)
class _Fields:
    """Everything subscribers see, derived from one set of observations."""

    incident: Incident

    def signature(self) -> tuple[object, ...]:
        i = self.incident
        return (
            tuple(sorted(i.title.items())),
            i.status,
            i.systems,
            tuple(sorted(i.message_text.items())),
            tuple(sorted((u.lang, update_identity(u.text)) for u in i.updates)),
        )


def _poll_additions(observations: Sequence[Observation]) -> list[Update]:
    """Lines a message gained between the versions successive polls saw of the same list.

    Detail pages carry their own history (compared in the parser); list rows do not, so their
    texts over time are compared here: what a later text adds (and still shows) is an update,
    unless the change reads as a rewrite. Pattern-matched update lines merge with these.
    """
    texts: dict[tuple[int, Lang], dict[str, datetime]] = {}
    for obs in observations:
        if obs.source_kind is SourceKind.LIST and obs.message_text and obs.last_updated_at:
            versions = texts.setdefault((obs.oid, obs.lang), {})
            at = versions.get(obs.message_text)
            versions[obs.message_text] = min(at, obs.last_updated_at) if at else obs.last_updated_at
    found: list[Update] = []
    for (_, lang), versions in texts.items():
        ordered = sorted(versions.items(), key=lambda item: (item[1], item[0]))
        latest = {update_identity(line) for line in ordered[-1][0].split("\n")}
        for (older, _), (newer, at) in itertools.pairwise(ordered):
            for line in added_lines(older.split("\n"), newer.split("\n")):
                if update_identity(line) in latest:
                    found.append(Update(text=line, lang=lang, at=None, seen_at=at))
    return found


def _merge_updates(observations: Sequence[Observation]) -> tuple[Update, ...]:
    """Each update line once; its time from the most trusted source that names one."""
    best: dict[tuple[Lang, str], tuple[tuple[int, float, str], Update]] = {}
    seen: dict[tuple[Lang, str], datetime] = {}
    # additions found by comparing versions name no time: they never outrank a dated line
    additions = [(SourceKind.RSS, u) for u in _poll_additions(observations)]
    for kind, update in [
        *((o.source_kind, u) for o in observations for u in o.updates),
        *additions,
    ]:
        key = (update.lang, update_identity(update.text))
        if update.seen_at and (key not in seen or update.seen_at < seen[key]):
            seen[key] = update.seen_at
        strength = (
            _PRIORITY[kind] if update.at else -1,
            -(update.at or _EPOCH).timestamp(),
            update.text,
        )
        if key not in best or strength > best[key][0]:
            best[key] = (strength, update)
    merged = [replace(u, seen_at=seen.get(key)) for key, (_, u) in best.items()]
    merged.sort(key=lambda u: (u.sort_at or _EPOCH, u.lang, update_identity(u.text)), reverse=True)
    return tuple(merged)


def _derive(key: str, observations: Sequence[Observation]) -> Incident:
    by_oid: dict[int, list[Observation]] = {}
    for obs in observations:
        by_oid.setdefault(obs.oid, []).append(obs)

    def message_time(oid: int) -> tuple[datetime, int]:
        times = [o.last_updated_at or o.created_at or _EPOCH for o in by_oid[oid]]
        return (max(times), oid)

    latest_oid = max(by_oid, key=message_time)
    rank = _ranking(observations)
    latest = sorted(by_oid[latest_oid], key=rank, reverse=True)
    ranked_all = sorted(observations, key=rank, reverse=True)

    def pick(attr: str, lang: Lang | None = None) -> Observation | None:
        for pool in (latest, ranked_all):
            for obs in pool:
                if getattr(obs, attr) and (lang is None or obs.lang == lang):
                    return obs
        return None

    title: dict[str, str] = {}
    html: dict[str, str] = {}
    text: dict[str, str] = {}
    links: dict[str, str] = {}
    for lang in Lang:
        if (t := pick("title", lang)) is not None:
            title[lang] = t.title
        if (m := pick("message_text", lang)) is not None:
            html[lang], text[lang] = m.message_html, m.message_text
        # a list row or detail page first, else any reading; never a link that may not be
        # published (readings stored before links were checked may still carry one)
        candidates = itertools.chain(
            (o for o in latest if o.source_kind is not SourceKind.RSS), latest, ranked_all
        )
        for obs in candidates:
            if obs.lang == lang and obs.link and link_problem(obs.link, None) is None:
                links[lang] = obs.link
                break
    refs = sorted({r for o in observations for r in (*o.refs, *([o.ref] if o.ref else []))})
    ref = None if key.startswith("oid:") else key
    status_obs = pick("status")
    kind_obs = pick("kind")
    kind = kind_obs.kind if kind_obs and kind_obs.kind else None
    if kind is None:
        kind = Kind.SCHEDULED if ref and ref.startswith("WO") else Kind.DISRUPTION
    if status_obs is not None and status_obs.status is not None:
        status = status_obs.status
    else:
        status = Status.SCHEDULED if kind is Kind.SCHEDULED else Status.CURRENT
    created = [o.created_at for o in observations if o.created_at]
    updated = [o.last_updated_at for o in observations if o.last_updated_at]
    published = min(created or updated or [o.observed_at for o in observations])
    return Incident(
        key=key,
        refs=tuple(refs),
        oids=tuple(sorted(by_oid)),
        oid=latest_oid,
        links=links,
        title=title,
        message_html=html,
        message_text=text,
        systems=tuple(sorted({s for o in observations for s in o.systems})),
        unknown_systems=tuple(sorted({s for o in observations for s in o.unknown_systems})),
        status=status,
        kind=kind,
        published_at=published,
        updated_at=published,
        upstream_updated_at=max([*updated, published]),
        updates=_merge_updates(observations),
        earlier=_earlier(by_oid, latest_oid, rank),
    )


def _earlier(
    by_oid: dict[int, list[Observation]],
    latest_oid: int,
    rank: Callable[[Observation], tuple[datetime, bool, datetime, int, str, str]],
) -> tuple[Message, ...]:
    """The best text of every other message sharing the reference, per language, newest first."""
    found: list[Message] = []
    for oid, observations in by_oid.items():
        if oid == latest_oid:
            continue
        for lang in Lang:
            ranked = sorted(
                (o for o in observations if o.lang is lang and o.message_html),
                key=rank,
                reverse=True,
            )
            if ranked:
                best = ranked[0]
                link = next(
                    (o.link for o in ranked if o.link and link_problem(o.link, None) is None), ""
                )
                at = best.last_updated_at or best.created_at
                found.append(Message(oid, lang, best.title, best.message_html, link, at))
    found.sort(key=lambda m: (m.at or _EPOCH, m.oid, m.lang), reverse=True)
    return tuple(found)


def _texts(observations: Sequence[Observation]) -> list[tuple[datetime, str, list[str]]]:
    """Every text of the incident's messages as (upstream time, title, lines), oldest first."""
    texts: set[tuple[datetime, str, tuple[str, ...]]] = set()
    for obs in observations:
        if obs.message_text or obs.title:
            texts.add((change_time(obs), obs.title, tuple(obs.message_text.split("\n"))))
        for version in obs.versions:
            texts.add((version.at, "", tuple(version.text.split("\n"))))
    return [(at, title, list(lines)) for at, title, lines in sorted(texts)]


def _window(
    kind: Kind, texts: list[tuple[datetime, str, list[str]]], updates: Sequence[Update]
) -> Window | None:
    """The planned times of a service window (disruptions have none)."""
    return derive_window(texts, updates) if kind is Kind.SCHEDULED else None


def _fallback(
    texts: list[tuple[datetime, str, list[str]]], updates: Sequence[Update]
) -> Fallback | None:
    """The latest statement about the fallback procedure.

    A line is dated by the first text that carried it (an update line by its own time), so
    an old statement repeated in every later version never outranks a newer one.
    """
    first_seen: dict[str, tuple[datetime, str]] = {}
    for at, _, lines in texts:
        for line in lines:
            key = update_identity(line)
            if key and (key not in first_seen or at < first_seen[key][0]):
                first_seen[key] = (at, line)
    for update in updates:
        if update.sort_at is not None:
            first_seen[update_identity(update.text)] = (update.sort_at, update.text)
    return derive_fallback(sorted(first_seen.values()))


def derive_incident(observations: Iterable[Observation]) -> Incident:
    """Merge every observation of one incident into the entry subscribers see."""
    obs = add_observations((), observations)
    if not obs:
        raise ValueError("an incident needs at least one observation")
    key = incident_key(obs)
    incident = _derive(key, obs)

    # replay in change-time order: updated_at is when the visible content last changed
    def order(o: Observation) -> tuple[datetime, datetime, str]:
        return (change_time(o), o.observed_at, fingerprint(o))

    by_time = sorted(obs, key=order)
    last_change = incident.published_at
    closed_at: datetime | None = None
    previous: tuple[object, ...] | None = None
    index = 0
    while index < len(by_time):
        moment, seen_at = order(by_time[index])[:2]
        while index < len(by_time) and order(by_time[index])[:2] == (moment, seen_at):
            index += 1
        signature = _Fields(_derive(key, by_time[:index])).signature()
        if signature != previous:
            if previous is not None and signature[1] != previous[1] and moment <= last_change:
                # the status changed without an upstream edit: date it when it was seen
                moment = seen_at
            last_change = max(last_change, moment) if previous is not None else moment
            if signature[1] is Status.CLOSED and (previous is None or previous[1] != signature[1]):
                closed_at = moment  # when it became closed (again, if it was reopened)
            previous = signature
    texts = _texts(obs)
    return replace(
        incident,
        updated_at=max(last_change, incident.published_at),
        window=_window(incident.kind, texts, incident.updates),
        fallback=_fallback(texts, incident.updates),
        closed_at=closed_at if incident.status is Status.CLOSED else None,
    )


def derive_incidents(observations: Iterable[Observation]) -> list[Incident]:
    """Group observations into incidents and derive each (the whole merge, for tests)."""
    obs = add_observations((), observations)
    groups = group_oids(obs)
    return [derive_incident([o for o in obs if o.oid in group]) for group in groups]
