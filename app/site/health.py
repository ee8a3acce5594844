"""Source health: per-source success and failure history, backoff, and what it all means
now (``HealthState``, computed once per poll or request). Pure: no I/O, no clock, no words.

A source that fails backs off exponentially (``poll_seconds`` doubled per consecutive failure,
capped at ``max_backoff_seconds``), or for as long as the upstream's ``Retry-After`` asks;
a source read successfully is next read no sooner than its ``Cache-Control: max-age``.
toldfeed is *blind* when no source has been read for ``blind_after_seconds``: then the ``all``
and ``current`` feeds carry one notice entry, dated when the blindness began. Pages show it
(``app.render.health``), ``/healthz`` reports it (``app.web.routes``), both from one
``HealthState``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.config import Settings
from app.store.records import READ, Counters, Health, Outcome, PollReport, SourceHealth


def update_health(
    health: Health, report: PollReport, settings: Settings, now: datetime
) -> dict[str, SourceHealth]:
    """Fold one poll's source outcomes into the per-source health records."""
    out = dict(health)
    for source in report.sources:
        record = replace(out.get(source.url, SourceHealth()), kind=source.kind)
        out[source.url] = record
        if source.outcome == Outcome.SKIPPED:
            continue
        if source.outcome in READ:
            record = replace(
                record,
                last_success_at=now,
                consecutive_failures=0,
                failing_since=None,
                last_outcome=Outcome(source.outcome),
                entries=source.entries,
            )
            wait = max(0.0, source.max_age or 0.0)
        else:
            failures = record.consecutive_failures + 1
            record = replace(
                record,
                last_failure_at=now,
                last_error=source.error,
                consecutive_failures=failures,
                failing_since=record.failing_since or now,
                last_outcome=Outcome.FAILED,
            )
            backoff = min(settings.max_backoff_seconds, settings.poll_seconds * 2 ** (failures - 1))
            wait = max(backoff if failures > 1 else 0.0, source.retry_after or 0.0)
        next_at = now + timedelta(seconds=min(wait, settings.max_backoff_seconds)) if wait else None
        out[source.url] = replace(
            record,
            last_attempt_at=now,
            warnings=tuple(source.warnings[:10]),
            next_attempt_at=next_at,
            unknown_systems=tuple(sorted({*record.unknown_systems, *source.unknown_systems})),
        )
    return out


def count_poll(counters: Counters, report: PollReport, seconds: float) -> Counters:
    """Add one poll, which took ``seconds``, to the poll counters."""
    failures = dict(counters.failures)
    for s in report.sources:
        if s.outcome == Outcome.FAILED:
            failures[s.url] = failures.get(s.url, 0) + 1
    not_modified = report.details_not_modified + sum(
        1 for s in report.sources if s.outcome == Outcome.NOT_MODIFIED
    )
    return Counters(
        polls=counters.polls + 1,
        poll_seconds_total=counters.poll_seconds_total + seconds,
        last_poll_seconds=seconds,
        not_modified=counters.not_modified + not_modified,
        failures=failures,
    )


CLOCK_SLACK = timedelta(minutes=2)  # clock steps smaller than this are not worth a warning


def due(record: SourceHealth | None, now: datetime, longest_wait: float | None = None) -> bool:
    """True when a source may be read now (its backoff or max-age has passed).

    A next attempt further ahead than ``longest_wait`` seconds cannot have been set by a
    correct clock (backoff is capped): it is treated as suspect and the source is read.
    """
    if record is None or record.next_attempt_at is None or record.next_attempt_at <= now:
        return True
    return longest_wait is not None and (record.next_attempt_at - now).total_seconds() > (
        longest_wait
    )


@dataclass(frozen=True, slots=True)
class Blindness:
    """Since when no source could be read, and the latest reason."""

    since: datetime
    reason: str


def _failing(health: Health) -> list[SourceHealth]:
    return [r for r in health.values() if r.last_outcome == Outcome.FAILED]


def blindness(health: Health, settings: Settings, now: datetime) -> Blindness | None:
    """The blind state, once no source has been read for ``blind_after_seconds``."""
    if not health:
        return None
    successes = [t for r in health.values() if (t := r.last_success_at)]
    failing = _failing(health)
    if len(failing) < len(health):
        return None
    since = max(successes) if successes else min(t for r in failing if (t := r.failing_since))
    if now - since < timedelta(seconds=settings.blind_after_seconds):
        return None
    latest = max(failing, key=lambda r: r.last_failure_at or since)
    return Blindness(since=since, reason=latest.last_error or "unknown error")


@dataclass(frozen=True, slots=True)
class FailingSource:
    """A source that fails while others are read."""

    url: str
    since: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class HealthState:
    """What the sources' health means at ``checked_at``: computed once, shown by the pages
    (``app.render.health``) and reported by ``/healthz``."""

    checked_at: datetime
    refreshed_at: datetime | None  # the newest successful read of any source
    last_success_at: datetime | None  # the same, leaving out times a wrong clock stamped
    clock_suspect_at: datetime | None  # a success stamped in the future, if any
    fresh: bool  # a source was read within ``stale_after_seconds``
    unreadable_since: datetime | None  # every source fails: the first failed read since
    unreadable_reason: str
    blind: Blindness | None
    failing: tuple[FailingSource, ...]  # sources failing while others are read
    unknown_systems: tuple[str, ...]


def assess_health(health: Health, settings: Settings, now: datetime) -> HealthState:
    """What ``health`` means at ``now``."""
    successes = [t for r in health.values() if (t := r.last_success_at)]
    # a success stamped in the future was stamped by a wrong clock: it proves nothing now
    suspect = [t for t in successes if t > now + CLOCK_SLACK]
    trusted = [t for t in successes if t <= now + CLOCK_SLACK]
    last_success = max(trusted) if trusted else None
    stale_after = timedelta(seconds=settings.stale_after_seconds)
    blind = blindness(health, settings, now)
    failing = _failing(health)
    unreadable = bool(health) and len(failing) == len(health)
    since: datetime | None = None
    reason = ""
    if unreadable:
        # the first failed read after the last good one, before and after blindness alike
        # (the time a reader sees never moves back)
        since = min((t for r in health.values() if (t := r.failing_since)), default=now)
        reason = blind.reason if blind else (next(iter(health.values())).last_error or "")
    return HealthState(
        checked_at=now,
        refreshed_at=max(successes) if successes else None,
        last_success_at=last_success,
        clock_suspect_at=max(suspect) if suspect else None,
        fresh=last_success is not None and now - last_success <= stale_after,
        unreadable_since=since,
        unreadable_reason=reason,
        blind=blind,
        failing=()
        if unreadable
        else tuple(
            FailingSource(url, r.failing_since or now, r.last_error or "")
            for url, r in sorted(health.items())
            if r.last_outcome == Outcome.FAILED
        ),
        unknown_systems=tuple(sorted({n for r in health.values() for n in r.unknown_systems})),
    )
