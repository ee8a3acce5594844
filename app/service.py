"""Running toldfeed: the poll loop, the poll lock, health bookkeeping and publishing.

Several processes may share one data directory (gunicorn workers, several ``toldfeed serve``).
A poll runs under an exclusive ``flock`` on ``<data_dir>/poll.lock`` taken without waiting,
and only if no poll started within the last interval (recorded in the store), so together
they poll at most once per interval. A poll has a time budget; a poll that overruns it is
cut short (its sources report the budget) and never stacks up behind the next one.

With ``TOLDFEED_PUBLISH_S3``, the poll then uploads the documents that differ from the last
upload (``app.publish.s3``), after its commit and after rendering; a bucket that cannot be
reached leaves them pending for the next poll and changes nothing else.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from app.courier import Courier
from app.errors import StoreError
from app.ingest import PollReport
from app.ingest.remerge import remerge_if_needed
from app.ingest.report import log_report
from app.model import Incident, SourceKind
from app.publish.publisher import Publisher
from app.publish.render_key import render_key
from app.render.health import page_context
from app.runtime import Runtime
from app.site.documents import Feed
from app.site.health import CLOCK_SLACK, assess_health, count_poll, due, update_health
from app.store import Batch, Store
from app.store.locks import PollLock
from app.store.records import Health
from app.store.rendered import PageContext

if TYPE_CHECKING:  # the bucket's and the hub's code is imported where they are configured
    from app.publish.s3 import Uploader
    from app.publish.upload_plan import UploadRequest, UploadResult

log = logging.getLogger("toldfeed.service")
CLOCK_SECONDS = 60.0  # the poller looks at least this often (the clock, other pollers)


class Service(Courier):
    """Polls and publishes for one process; tells (``app.courier``)."""

    def __init__(
        self, runtime: Runtime, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.publisher = Publisher(
            runtime.store,
            runtime.urls,
            runtime.renderer,
            render_key(runtime.settings, runtime.catalogue, runtime.code_digest),
            runtime.settings.poll_seconds,
        )
        self.clock = clock
        self.lock = PollLock(runtime.settings.data_dir / "poll.lock")
        self.last_published = 0  # documents the last publish wrote (for benchmarks and logs)
        self.uploader: Uploader | None = None
        if runtime.settings.publish_target is not None:
            from app.publish.s3 import Uploader

            self.uploader = Uploader.from_settings(runtime.settings, runtime.store)
        self.last_upload: UploadResult | None = None  # the last upload run, if any

    def upstream_url(self) -> str:
        """The official page readers are pointed to when toldfeed is blind."""
        pages = [s for s in self.runtime.sources if s.kind is SourceKind.PAGE]
        return (pages or list(self.runtime.sources))[0].url

    def page_context(self) -> tuple[PageContext, Incident | None]:
        """What the pages show besides incidents now (freshness, notices), from the health."""
        state = assess_health(self.runtime.store.health(), self.settings, self.clock())
        return page_context(state, self.settings.base_url, self.upstream_url())

    def publish(
        self, changed: list[str] | None, context: tuple[PageContext, Incident | None] | None = None
    ) -> int:
        """Render and store documents with ``context`` (default: the current health's)."""
        ctx, notice = context or self.page_context()
        self.last_published = self.publisher.publish(ctx, notice, changed)
        self.wake_deliverer()  # a poll may have queued notifications
        return self.last_published

    def ping_hub(self) -> None:
        """One WebSub publish ping naming the feeds the last publish changed (if a hub is set)."""
        hub = self.settings.websub_hub
        urls = [self.publisher.urls.url(d) for d in self.publisher.changed if isinstance(d, Feed)]
        if not hub or not urls or self.settings.demo:  # the demo's feeds are sample data
            return
        from app.notify.websub import ping_hub

        ping_hub(self.runtime.poster, hub, urls, min(5.0, self.settings.notify_timeout_seconds))

    def ensure_published(self, wait_seconds: float = 120.0) -> bool:
        """Render every document once if the stored ones are not current (first run, upgrade).

        Runs under the poll lock, so several workers starting together render once between
        them; the others wait for it (at most ``wait_seconds``) and find the documents current.
        Returns True when this call rendered.
        """
        if self.publisher.up_to_date():
            return False
        if not self.lock.acquire(wait_seconds):
            return False  # someone else is busy for long; serve what is stored meanwhile
        try:
            if self.publisher.up_to_date():
                return False
            # everything after an upgrade; after a new poll interval, what shows it
            self.publish(None if self.publisher.needs_everything() else [])
            return True
        finally:
            self.lock.release()

    def upload(
        self,
        verify: bool = False,
        quiet: bool = False,
        context: tuple[PageContext, Incident | None] | None = None,
    ) -> UploadResult | None:
        """Put the stored documents that the bucket lacks; None without ``TOLDFEED_PUBLISH_S3``.

        ``context``: the poll's page context, when it has just published with it.
        ``quiet``: the poll changed no incident; when the state of the systems, the notices
        and the sources' health read as at the last upload too, the documents that only show
        the time of the poll wait (at most ``TOLDFEED_PUBLISH_REFRESH_SECONDS``): a poll that
        changes nothing puts nothing. Call under the poll lock. A bucket that fails is
        reported in the result, never raised.
        """
        if self.uploader is None:
            return None
        self.last_upload = self.uploader.run(
            self._upload_request(self.uploader, verify, quiet, context)
        )
        return self.last_upload

    def _upload_request(
        self,
        uploader: Uploader,
        verify: bool,
        quiet: bool,
        context: tuple[PageContext, Incident | None] | None,
    ) -> UploadRequest:
        """What the next upload run is to do, read from the store before anything is put."""
        from app.publish.upload_plan import Freshness, UploadRequest, reads_change_log

        mark = self.publisher.stored_mark()
        status = self.runtime.store.publish_status()
        incremental, header_known = reads_change_log(
            status, str(uploader.bucket.target), uploader.cache_control, verify
        )
        only = None
        if incremental and status is not None:
            changed = self.publisher.changed_since(status.serial)
            if changed is not None:  # else: the change log is lost, everything is read
                only = changed | set(status.pending_paths)
        now = self.clock()
        signature = self.publisher.signature(*(context or self.page_context()))
        fresh = None
        if quiet and not verify and status is not None and status.signature == signature:
            refresh = timedelta(seconds=self.settings.publish_refresh_seconds)
            fresh = Freshness(self.publisher.time_paths, now, refresh)
        return UploadRequest(
            self.publisher.stored(only),
            now,
            serial=mark.serial if mark is not None else 0,
            verify=verify,
            budget_seconds=None if verify else self.settings.poll_budget_seconds,
            fresh=fresh,
            signature=signature,
            header_known=header_known,
        )

    def sync_bucket(self, wait_seconds: float = 120.0) -> UploadResult | None:
        """``toldfeed publish``: render if needed, then make the bucket equal to the export.

        None when another process held the poll lock for ``wait_seconds``.
        """
        self.ensure_published(wait_seconds)
        if not self.lock.acquire(wait_seconds):
            return None
        try:
            return self.upload(verify=True)
        finally:
            self.lock.release()

    def poll_once(self, force: bool = False) -> PollReport | None:
        """Poll if this process gets the lock and no poll ran within the interval (``force``:
        whatever the interval). Read sources → plan detail pages → read them → decide →
        apply (``Runtime.poll``), then publish → upload → ping the hub; delivery runs apart."""
        if not self.lock.acquire():
            return None
        try:
            now = self.clock()
            if not force and self._polled_within_interval(now):
                return None
            self._stamp_poll_start(now)
            health = self.runtime.store.health()
            skip = self._sources_backing_off(health, now)
            rederived = self._derive_again_if_rules_changed()
            report, seconds = self._read_and_apply(now, skip)
            self._record_health(health, report, seconds, now)
            changed = [*report.new_keys, *report.changed_keys, *report.removed_keys]
            context = self.page_context()  # what this poll's pages and upload both show
            self.publish(changed, context)
            # quiet when nothing but the time changed: no incident, no re-derivation, no full
            # render (a failing bucket only leaves work pending)
            quiet = not changed and not rederived and not self.publisher.last_full
            self.upload(quiet=quiet, context=context)
            self.ping_hub()  # after the upload: the hub's fetch must find the new documents
            log_report(report)
            return report
        finally:
            self.lock.release()

    def _polled_within_interval(self, now: datetime) -> bool:
        """True when a poll started within the interval (less jitter), by any process."""
        started = self.runtime.store.poll_started_at()
        if started is not None and started > now + CLOCK_SLACK:
            # stamped by a clock that was ahead (and has been corrected): never wait for it
            log.warning(
                "stored poll start %s is in the future (now %s): clock went back? polling",
                started.isoformat(),
                now.isoformat(),
            )
            return False
        interval = timedelta(seconds=self.settings.poll_seconds * (1 - self.settings.poll_jitter))
        return started is not None and now - started < interval

    def _stamp_poll_start(self, now: datetime) -> None:
        batch = Batch()
        Store.stage_poll_started_at(batch, now)
        self.runtime.store.commit(batch)

    def _sources_backing_off(self, health: Health, now: datetime) -> frozenset[str]:
        """The sources whose backoff or max-age has not passed (a wait longer than any the
        backoff can set comes from a wrong clock: that source is read)."""
        longest = self.settings.max_backoff_seconds + CLOCK_SLACK.total_seconds()
        sources = self.runtime.sources
        return frozenset(s.url for s in sources if not due(health.get(s.url), now, longest))

    def _derive_again_if_rules_changed(self) -> bool:
        """After an upgrade that changed the merge rules, derive every incident again from the
        kept observations; True when that changed any."""
        store = self.runtime.store
        remerged = remerge_if_needed(store)
        if remerged is None:
            return False
        if store.generation() > 0:
            log.info(
                "merge rules changed: derived incidents again incidents=%d changed=%d "
                "new=%d removed=%d",
                remerged.incidents,
                len(remerged.changed_keys),
                len(remerged.new_keys),
                len(remerged.removed_keys),
            )
        return bool(remerged.changed_keys or remerged.new_keys or remerged.removed_keys)

    def _read_and_apply(self, now: datetime, skip: frozenset[str]) -> tuple[PollReport, float]:
        """The poll itself (one transaction); with the seconds it took."""
        began = self.clock()
        report = self.runtime.poll(now, skip, clock=self.clock)
        return report, (self.clock() - began).total_seconds()

    def _record_health(
        self, health: Health, report: PollReport, seconds: float, now: datetime
    ) -> None:
        store = self.runtime.store
        batch = Batch()
        Store.stage_health(batch, update_health(health, report, self.settings, now))
        Store.stage_counters(batch, count_poll(store.counters(), report, seconds))
        store.commit(batch)

    def run(self, stop: threading.Event) -> None:
        """Render stored documents if they are not current, then poll every ``poll_seconds``
        (with jitter) and look at the clock at least every minute, until ``stop`` is set;
        never raises."""
        try:
            self.ensure_published()
        except StoreError as e:
            log.error("rendering at start failed: %s; serving the documents already stored", e)
        except Exception:
            log.exception("rendering at start failed; serving the documents already stored")
        while not stop.is_set():
            for step, name in ((self.poll_once, "poll"), (self.look_at_the_clock, "clock pass")):
                try:
                    step()
                except StoreError as e:  # a full disk, a damaged store: one line, what to do
                    log.error("%s failed: %s", name, e)
                except Exception:  # the loop must survive anything a step can throw
                    log.exception("%s failed", name)
            jitter = 1 + random.uniform(-self.settings.poll_jitter, self.settings.poll_jitter)
            # wake up often enough to notice when another process's interval has passed, and
            # to look at the clock at least every minute (reminders, window events, digests)
            stop.wait(min(self.settings.poll_seconds * jitter, CLOCK_SECONDS))

    def start(self) -> threading.Event:
        """Run the loop in a daemon thread, and delivery in another; set the returned event to
        stop them."""
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name="toldfeed-poller", daemon=True).start()
        self.start_delivery(stop)
        return stop
