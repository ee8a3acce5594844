"""One poll, phase by phase: read sources → plan → read details → load → decide → apply.

Every source is read at once, so a slow or hung source never delays the others, and one
failing source never stops them (its error goes into the report). Everything the poll
learned is written in one transaction at the end, validators included: a poll killed
half-way leaves the store as it was, and the next poll repeats the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from app.catalogue import Catalogue
from app.config import Settings
from app.fetch import Fetcher
from app.ingest.decide import Decision, decide
from app.ingest.neighbourhood import load_neighbourhood
from app.ingest.plan import plan_details
from app.ingest.readers import DetailRead, Reader, SourceRead
from app.ingest.rules import merge_digest
from app.ingest.sources import Source
from app.model import Observation, SourceKind
from app.notify.outbox import queue_notifications
from app.notify.targets import Target
from app.store import Batch, Store
from app.store.records import HttpState, Outcome, PollReport, SourceState

FORGET_AFTER = timedelta(days=30)  # HTTP state of a URL no list has named for this long


def run_poll(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    catalogue: Catalogue,
    sources: Sequence[Source],
    *,
    now: datetime,
    skip: frozenset[str],
    clock: Callable[[], datetime],
    targets: Sequence[Target] = (),
    subscribers: bool = False,
) -> PollReport:
    """Run one poll at ``now`` and commit what it found; ``clock`` tells when it finished.

    Sources in ``skip`` (backing off) are not fetched; their stored detail links still are.
    The notifications of the real changes, one per matching target in ``targets`` (and with
    ``subscribers`` one for the self-service subscribers), are queued in the same commit
    (``app.notify.outbox``).
    """
    deadline = time.monotonic() + settings.poll_budget_seconds
    http = store.http_states()
    # read here, not in the fetch threads: each new thread would open its own SQLite connection
    stored = {s.url: store.source_state(s.url) for s in sources}
    reader = Reader(fetcher, catalogue, http, now, deadline)
    reads = read_sources(reader, sources, stored, skip)
    plan = plan_details(
        (link for r in reads for link in r.state.links),
        http,
        allowed=fetcher.allowed,
        now=now,
        refresh=timedelta(seconds=settings.detail_refresh_seconds),
        limit=settings.max_details_per_poll,
    )
    with ThreadPoolExecutor(max_workers=max(1, settings.fetch_workers)) as pool:
        details = list(pool.map(reader.detail, plan.links))
    observations = observations_of(reads, details)
    around = load_neighbourhood(store, observations)
    decision = decide(observations, around)
    learned = {url: s for r in reads for url, s in r.http.items()}
    learned |= {d.link.url: d.http for d in details if d.http is not None}
    report = _report(now, reads, details, plan.deferred, decision, clock())
    batch = Batch()
    stage_decision(batch, decision)
    backfill = store.generation() == 0
    if backfill and decision.incidents:
        # the newest change the store was filled with (the upstream's clock, not ours; never
        # later than now): what a later poll learns, dated before it, is old news
        newest = max(i.updated_at for i in decision.incidents)
        Store.stage_news_since(batch, min(now, newest))
        Store.stage_merge_rules(batch, merge_digest())  # derived by the running rules
    notes = queue_notifications(
        decision.incidents,
        around.incidents,
        targets,
        backfill=backfill,
        now=now,
        news_since=store.news_since(),
        subscribers=subscribers,
    )
    if notes:
        Store.stage_notifications(batch, notes)
    Store.stage_http_states(batch, _remembered({**http, **learned}, now - FORGET_AFTER))
    for source, read in zip(sources, reads, strict=True):
        if read.result is not None:
            Store.stage_source_state(batch, source.url, read.state)
    Store.stage_last_poll(batch, report)
    store.commit(batch)
    return report


def read_sources(
    reader: Reader,
    sources: Sequence[Source],
    stored: Mapping[str, SourceState | None],
    skip: frozenset[str],
) -> list[SourceRead]:
    """Read every source at once; for a failed RSS source, try the feeds the pages advertise."""
    with ThreadPoolExecutor(max_workers=max(1, len(sources))) as pool:
        reads = list(pool.map(lambda s: reader.source(s, stored[s.url], s.url in skip), sources))
    candidates = [
        url
        for s, r in zip(sources, reads, strict=True)
        if s.kind is SourceKind.PAGE
        for url in r.state.feed_links
    ]
    for i, (source, read) in enumerate(zip(sources, reads, strict=True)):
        if (
            source.kind is SourceKind.RSS
            and read.report.outcome == Outcome.FAILED
            and source.url not in skip
        ):
            found = reader.discover(source, stored[source.url], candidates)
            if found is not None:
                reads[i] = found
    return reads


def stage_decision(batch: Batch, decision: Decision) -> None:
    """Queue what the decider decided."""
    for oid, observations in decision.observations.items():
        Store.stage_observations(batch, oid, observations)
    for ref, oids in decision.refs.items():
        Store.stage_ref(batch, ref, oids)
    for incident in decision.incidents:
        Store.stage_incident(batch, incident)
    for key in decision.removed_keys:
        Store.stage_incident_removed(batch, key)
    if decision.generation is not None and decision.incident_count is not None:
        Store.stage_generation(batch, decision.generation, decision.incident_count)


def _remembered(http: Mapping[str, HttpState], since: datetime) -> dict[str, HttpState]:
    return {url: s for url, s in http.items() if s.checked_at >= since}


def _report(
    now: datetime,
    reads: Sequence[SourceRead],
    details: Sequence[DetailRead],
    deferred: int,
    decision: Decision,
    finished_at: datetime,
) -> PollReport:
    fetched = not_modified = failed = 0
    errors: list[str] = []
    for d in details:
        if d.error is not None:
            failed += 1
            errors.append(f"{d.link.url}: {d.error}")
        elif d.result is None:
            not_modified += 1
        else:
            fetched += 1
            failed += 0 if d.result.observations else 1
            errors.extend(d.result.warnings)
    return PollReport(
        started_at=now,
        finished_at=finished_at,
        sources=tuple(r.report for r in reads),
        details_fetched=fetched,
        details_not_modified=not_modified,
        details_failed=failed,
        details_deferred=deferred,
        new_keys=decision.new_keys,
        changed_keys=decision.changed_keys,
        removed_keys=decision.removed_keys,
        detail_errors=tuple(errors),
    )


def observations_of(
    reads: Sequence[SourceRead], details: Sequence[DetailRead]
) -> list[Observation]:
    """Every observation this poll read, sources first."""
    found = [o for r in reads if r.result for o in r.result.observations]
    return found + [o for d in details if d.result for o in d.result.observations]
