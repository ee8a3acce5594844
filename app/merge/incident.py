"""One incident derived from its observations, with when what subscribers see last changed. Pure.

The fields come from the most recently updated message and the best-ranked reading
(``app.merge.readings``); ``updated_at`` and ``closed_at`` come from replaying the observations
in change-time order (see ``app.merge``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.merge.derived import earlier_messages, incident_fallback, incident_window, message_texts
from app.merge.grouping import group_oids, incident_key
from app.merge.readings import (
    EPOCH,
    Slot,
    add_observations,
    change_time,
    fingerprint,
    ranking,
    reading_slot,
)
from app.merge.timeline import merge_updates
from app.model import Incident, Kind, Lang, Observation, SourceKind, Status
from app.upstream.links import link_problem
from app.upstream.text import update_identity


@dataclass(frozen=True, slots=True)
class _Fields:
    """Everything subscribers see, derived from one set of observations."""

    incident: Incident

    def signature(self, timeline: frozenset[tuple[Lang, str]]) -> tuple[object, ...]:
        """What subscribers see, ``timeline`` being ``self.timeline()``."""
        i = self.incident
        return (
            tuple(sorted(i.title.items())),
            i.status,
            i.systems,
            tuple(sorted(i.message_text.items())),
            tuple(sorted(timeline)),
        )

    def timeline(self) -> frozenset[tuple[Lang, str]]:
        """The update lines, each once however rendered."""
        return frozenset((u.lang, update_identity(u.text)) for u in self.incident.updates)


def _derive(key: str, observations: Sequence[Observation]) -> Incident:
    by_oid: dict[int, list[Observation]] = {}
    for obs in observations:
        by_oid.setdefault(obs.oid, []).append(obs)

    def message_time(oid: int) -> tuple[datetime, int]:
        times = [o.last_updated_at or o.created_at or EPOCH for o in by_oid[oid]]
        return (max(times), oid)

    latest_oid = max(by_oid, key=message_time)
    rank = ranking(observations)
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
        updates=merge_updates(observations),
        earlier=earlier_messages(by_oid, latest_oid, rank),
    )


def _edited_in_place(batch: Sequence[Observation], lines: dict[Slot, set[str]]) -> bool:
    """True when a reading in ``batch`` (read at one moment) shows a line of text (an update
    line, with a pattern or without) that its page (the same message, source kind and
    language) did not show in any reading with text before that moment; ``lines`` (the lines
    each page has shown so far) then takes the batch in. A page read for the first time, or
    without the message (a summary row), edits nothing."""
    read = [
        (reading_slot(o), {update_identity(line) for line in o.message_text.split("\n")})
        for o in batch
        if o.message_text
    ]
    edited = any(slot in lines and not shown <= lines[slot] for slot, shown in read)
    for slot, shown in read:
        lines.setdefault(slot, set()).update(shown)
    return edited


def derive_incident(observations: Iterable[Observation]) -> Incident:
    """Merge every observation of one incident into the entry subscribers see."""
    obs = add_observations((), observations)
    if not obs:
        raise ValueError("an incident needs at least one observation")
    key = incident_key(obs)
    incident = _derive(key, obs)

    # replay in change-time order: updated_at is when the visible content last changed
    timed = sorted(
        (((change_time(o), o.observed_at, fingerprint(o)), o) for o in obs), key=lambda t: t[0]
    )
    by_time = [o for _, o in timed]
    last_change = incident.published_at
    closed_at: datetime | None = None
    previous: tuple[object, ...] | None = None
    messages: set[int] = set()  # the messages (oids) the replay has taken in so far
    lines: dict[Slot, set[str]] = {}  # the lines of text each page has shown so far
    last_stamp = EPOCH  # the newest upstream time replayed so far (batches come in its order)
    timeline: frozenset[tuple[Lang, str]] = frozenset()  # the update lines it showed so far
    index = 0
    while index < len(by_time):
        stamp, seen_at = timed[index][0][:2]
        moment = stamp  # when the change came to be: the stamp, or when it was seen
        start = index
        while index < len(by_time) and timed[index][0][:2] == (stamp, seen_at):
            index += 1
        joined = {o.oid for o in by_time[start:index]} - messages
        messages |= joined
        edited = _edited_in_place(by_time[start:index], lines)
        fields = _Fields(_derive(key, by_time[:index]))
        shown = fields.timeline()
        signature = fields.signature(shown)
        if signature != previous:
            if (
                previous is not None
                and moment <= last_change
                and (
                    signature[1] != previous[1]
                    or (edited and not shown <= timeline)
                    or moment > last_stamp
                )
            ):
                # the status changed, or a page gained a line of the timeline, without an
                # upstream edit (its last-updated time did not move); or an upstream edit is
                # stamped before a change that was dated so: date it when it was seen
                moment = seen_at
            last_change = max(last_change, moment) if previous is not None else moment
            if signature[1] is Status.CLOSED and (
                previous is None or previous[1] != signature[1] or joined
            ):
                # when it became closed (again, if it was reopened), or when a message that
                # continues it (one reference, several messages) was closed: the incident is
                # over when its last message is
                closed_at = moment
            previous, timeline = signature, shown
        last_stamp = stamp
    texts = message_texts(obs)
    return replace(
        incident,
        updated_at=max(last_change, incident.published_at),
        window=incident_window(incident.kind, texts, incident.updates),
        fallback=incident_fallback(texts, incident.updates),
        closed_at=closed_at if incident.status is Status.CLOSED else None,
    )


def derive_incidents(observations: Iterable[Observation]) -> list[Incident]:
    """Group observations into incidents and derive each (the whole merge, for tests)."""
    obs = add_observations((), observations)
    groups = group_oids(obs)
    return [derive_incident([o for o in obs if o.oid in group]) for group in groups]
