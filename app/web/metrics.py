"""Prometheus metrics (the only importer of prometheus_client).

Poll figures are kept in the store, so every worker reports the same numbers; request
counters are per process unless ``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus_client's
multiprocess mode), which docs/operations.md recommends under gunicorn with several workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from app.notify.outbox import channel_names, target_figures
from app.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_KINDS = {"feeds", "embed", "badge", "api", "feeds.opml", "index", "healthz", "metrics"}


class StoreCollector(Collector):
    """Poll counters and gauges read from the store at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        counters = self.store.counters()
        polls = CounterMetricFamily("toldfeed_polls", "Polls run")
        polls.add_metric([], counters.polls)
        yield polls
        seconds = CounterMetricFamily(
            "toldfeed_poll_duration_seconds", "Total wall time spent polling"
        )
        seconds.add_metric([], counters.poll_seconds_total)
        yield seconds
        last = GaugeMetricFamily(
            "toldfeed_last_poll_duration_seconds", "Wall time of the last poll"
        )
        last.add_metric([], counters.last_poll_seconds)
        yield last
        not_modified = CounterMetricFamily("toldfeed_upstream_not_modified", "Upstream 304 answers")
        not_modified.add_metric([], counters.not_modified)
        yield not_modified
        failures = CounterMetricFamily(
            "toldfeed_source_failures", "Failed reads per source", labels=["source"]
        )
        for url, count in counters.failures.items():
            failures.add_metric([url], count)
        yield failures
        stored = GaugeMetricFamily("toldfeed_incidents_stored", "Incidents in the store")
        stored.add_metric([], self.store.incident_count())
        yield stored
        consecutive = GaugeMetricFamily(
            "toldfeed_source_consecutive_failures", "Consecutive failed reads", labels=["source"]
        )
        for url, record in self.store.health().items():
            consecutive.add_metric([url], record.consecutive_failures)
        yield consecutive
        yield from self._publish()

    def _publish(self) -> Iterator[Any]:
        """Uploads to the object-storage bucket (only once an upload ran)."""
        status = self.store.publish_status()
        if status is None:
            return
        uploads = CounterMetricFamily("toldfeed_publish_uploads", "Objects put into the bucket")
        uploads.add_metric([], status.uploads)
        yield uploads
        failures = CounterMetricFamily("toldfeed_publish_failures", "Upload runs that failed")
        failures.add_metric([], status.failures)
        yield failures
        pending = GaugeMetricFamily(
            "toldfeed_publish_pending", "Documents that differ from what the bucket holds"
        )
        pending.add_metric([], status.pending)
        yield pending
        for name, help_text, at in (
            (
                "toldfeed_publish_last_success_timestamp_seconds",
                "When an upload run last succeeded (Unix time; 0: never)",
                status.last_success_at,
            ),
            (
                "toldfeed_publish_failing_since_timestamp_seconds",
                "Since when upload runs fail (Unix time; 0: the last run succeeded)",
                status.failing_since,
            ),
        ):
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], at.timestamp() if at is not None else 0.0)
            yield gauge


class NotifyCollector(Collector):
    """Push notifications per target, read from the store at scrape time."""

    def __init__(self, store: Store, targets: Sequence[str], subscribers: bool = False) -> None:
        self.store = store
        self.targets = channel_names(targets, subscribers)
        self.subscribers = subscribers

    def collect(self) -> Iterator[Any]:
        figures = target_figures(self.store, self.targets)
        total = CounterMetricFamily(
            "toldfeed_notifications",
            "Notification attempts by outcome (delivered, failed, given_up)",
            labels=["target", "outcome"],
        )
        pending = GaugeMetricFamily(
            "toldfeed_notifications_pending", "Notifications waiting to be sent", labels=["target"]
        )
        for name, f in figures.items():
            total.add_metric([name, "delivered"], f.stats.delivered)
            total.add_metric([name, "failed"], f.stats.failed)
            total.add_metric([name, "given_up"], f.stats.given_up)
            pending.add_metric([name], f.pending)
        yield total
        yield pending
        if self.subscribers:  # how many, never who
            # confirmed only: the sign-ups waiting would tell anyone who signs an address up
            # whether it is subscribed already (it then adds none); `toldfeed subscribers
            # count` says both to the operator
            counts = GaugeMetricFamily(
                "toldfeed_subscribers",
                "Confirmed self-service e-mail subscriptions",
                labels=["state"],
            )
            confirmed, _ = self.store.subscription_counts()
            counts.add_metric(["confirmed"], confirmed)
            yield counts


class Metrics:
    """Request counters plus the store collector, rendered in the Prometheus text format."""

    def __init__(
        self, store: Store, targets: Sequence[str] = (), subscribers: bool = False
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(store))
        self.registry.register(NotifyCollector(store, targets, subscribers))
        self.requests = Counter(
            "toldfeed_requests",
            "HTTP requests served",
            ["kind", "status"],
            registry=self.registry if "PROMETHEUS_MULTIPROC_DIR" not in os.environ else None,
        )
        self._children: dict[tuple[str, int], Any] = {}  # (path, status) -> counter child
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]

    def observe(self, path: str, status: int) -> None:
        """Count one response (``kind`` is the first path segment: feeds, embed, ...)."""
        child = self._children.get((path, status))
        if child is None:
            kind = path.strip("/").removeprefix("da/").split("/", 1)[0] or "index"
            kind = kind if kind in _KINDS else "other"
            child = self.requests.labels(kind=kind, status=str(status))
            if len(self._children) < 4096:  # bounded: paths come from clients
                self._children[(path, status)] = child
        child.inc()

    def render(self) -> bytes:
        """The exposition text."""
        data: bytes = generate_latest(self.registry)
        return data
