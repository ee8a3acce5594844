"""The store's state around a poll: sources, HTTP validators, health, counters, reports.

Keys (each spelled here only):

    src:<url>              per-source state (detail links, advertised feeds, discovered feed)
    meta:http              HTTP validators and detail bookkeeping of every URL
    meta:last_poll         the last poll's report
    meta:poll_started_at   when the last poll began (polls are at most one per interval)
    meta:counters          poll figures for /metrics
    health:sources         per-source health
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.store.core import Batch, StoreCore
from app.store.records import Counters, Health, HttpState, PollReport, SourceHealth, SourceState
from app.store.records_codec import (
    counters_from_dict,
    counters_to_dict,
    http_state_from_dict,
    http_state_to_dict,
    poll_report_from_dict,
    poll_report_to_dict,
    source_health_from_dict,
    source_health_to_dict,
    source_state_from_dict,
    source_state_to_dict,
)

_SRC = "src:"
_HTTP = "meta:http"
_LAST_POLL = "meta:last_poll"
_POLL_STARTED_AT = "meta:poll_started_at"
_COUNTERS = "meta:counters"
_HEALTH = "health:sources"


class PollStateMixin(StoreCore):
    """What one poll leaves for the next, for /healthz and for /metrics."""

    def http_states(self) -> dict[str, HttpState]:
        """Validators and detail bookkeeping of every URL read recently."""
        return {u: http_state_from_dict(d) for u, d in (self.get(_HTTP) or {}).items()}

    @staticmethod
    def stage_http_states(batch: Batch, states: Mapping[str, HttpState]) -> None:
        """Queue the HTTP state of every URL (one record: the poll rewrites it whole)."""
        batch.put(_HTTP, {u: http_state_to_dict(s) for u, s in states.items()})

    def source_state(self, url: str) -> SourceState | None:
        """What the last good read of the source ``url`` left, or None."""
        data = self.get(f"{_SRC}{url}")
        return source_state_from_dict(data) if data else None

    @staticmethod
    def stage_source_state(batch: Batch, url: str, state: SourceState) -> None:
        """Queue the state of one source."""
        batch.put(f"{_SRC}{url}", source_state_to_dict(state))

    def health(self) -> dict[str, SourceHealth]:
        """Per-source health, by source URL."""
        return {u: source_health_from_dict(d) for u, d in (self.get(_HEALTH) or {}).items()}

    @staticmethod
    def stage_health(batch: Batch, health: Health) -> None:
        """Queue per-source health."""
        batch.put(_HEALTH, {u: source_health_to_dict(h) for u, h in health.items()})

    def counters(self) -> Counters:
        """Poll figures summed over every poll."""
        return counters_from_dict(self.get(_COUNTERS) or {})

    @staticmethod
    def stage_counters(batch: Batch, counters: Counters) -> None:
        """Queue the poll figures."""
        batch.put(_COUNTERS, counters_to_dict(counters))

    def last_poll(self) -> PollReport | None:
        """The report of the last poll, or None before the first."""
        data = self.get(_LAST_POLL)
        return poll_report_from_dict(data) if data else None

    @staticmethod
    def stage_last_poll(batch: Batch, report: PollReport) -> None:
        """Queue the report of a poll."""
        batch.put(_LAST_POLL, poll_report_to_dict(report))

    def poll_started_at(self) -> datetime | None:
        """When the last poll (of any process) began."""
        value = self.get(_POLL_STARTED_AT)
        return datetime.fromisoformat(value) if value else None

    @staticmethod
    def stage_poll_started_at(batch: Batch, at: datetime) -> None:
        """Queue the start time of a poll."""
        batch.put(_POLL_STARTED_AT, at.isoformat())
