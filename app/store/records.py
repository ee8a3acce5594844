"""Records of the state around a poll: frozen, slotted, no I/O; JSON forms in ``app.store.records_codec``.

    HttpState      validators and detail-page bookkeeping of one URL
    SourceState    what the last good read of one source left behind
    SourceHealth   success and failure history of one source
    Counters       poll figures for /metrics, summed over every poll
    PollReport     the outcome of one poll, with one SourceReport a source
    UploadRecord   what was last put into the object-storage bucket at one path
    PublishStatus  how uploading to the bucket goes: failures, pending, figures
    Notification   one change or moment to tell one target; OutboxState, TargetStats: delivery
    Timing         when a time-driven notification is due and when it is too late
    Digest         what one target's daily digest shows
    WindowKnown    when toldfeed first knew a window's current start and end
    DigestMark     the last digest queued for one target

Where each is kept is ``app.store``'s business (its typed methods). Every datetime is
timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from app.model import Incident
from app.upstream.result import DetailLink


class Outcome(StrEnum):
    """What reading one source gave."""

    FETCHED = "fetched"
    NOT_MODIFIED = "not modified"
    FAILED = "failed"
    SKIPPED = "skipped"  # backing off after failures, or within the upstream's max-age


READ = frozenset({Outcome.FETCHED, Outcome.NOT_MODIFIED})


@dataclass(frozen=True, slots=True)
class HttpState:
    """What toldfeed remembers about one upstream URL between polls.

    ``etag``/``last_modified`` are sent back in the next conditional GET; ``parsed`` says a
    detail page was read successfully at least once, ``last_updated_at`` the upstream
    last-updated time it showed then (a list row showing a later one means it changed).
    """

    checked_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    parsed: bool = False
    last_updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the last good read of one source left: its detail links and advertised feeds.

    ``discovered`` is the feed URL read instead of a configured RSS URL that failed.
    """

    links: tuple[DetailLink, ...] = ()
    feed_links: tuple[str, ...] = ()
    entries: int = 0
    discovered: str | None = None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """Success and failure history of one source; ``next_attempt_at`` is its backoff."""

    kind: str = ""
    last_outcome: Outcome | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    next_attempt_at: datetime | None = None
    entries: int = 0
    warnings: tuple[str, ...] = ()
    unknown_systems: tuple[str, ...] = ()


Health = Mapping[str, SourceHealth]
"""Per-source health, by configured source URL."""


@dataclass(frozen=True, slots=True)
class Counters:
    """Poll figures summed over every poll of a data directory (every worker reads these)."""

    polls: int = 0
    poll_seconds_total: float = 0.0
    last_poll_seconds: float = 0.0
    not_modified: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)  # by source URL


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one source gave in one poll."""

    url: str
    kind: str
    outcome: Outcome = Outcome.FAILED
    entries: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    unknown_systems: tuple[str, ...] = ()
    retry_after: float | None = None
    max_age: float | None = None
    via: str | None = None  # the autodiscovered URL actually read, if not the configured one


@dataclass(frozen=True, slots=True)
class PollReport:
    """The outcome of one poll; ``finished_at`` is None only in a hand-made report."""

    started_at: datetime
    finished_at: datetime | None = None
    sources: tuple[SourceReport, ...] = ()
    details_fetched: int = 0
    details_not_modified: int = 0
    details_failed: int = 0
    details_deferred: int = 0
    new_keys: tuple[str, ...] = ()
    changed_keys: tuple[str, ...] = ()
    removed_keys: tuple[str, ...] = ()
    detail_errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every source was read (fetched or not modified) or skipped on purpose."""
        return all(s.outcome in READ or s.outcome == Outcome.SKIPPED for s in self.sources)


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """What was last put into the bucket ``target`` at one export path: its content hash.

    Our own SHA-256 of the bytes decides whether a document must be put again (an S3 ETag is
    not always an MD5); a record for another target counts as no record.
    """

    target: str
    sha256: str
    uploaded_at: datetime
    cache_control: str = ""  # the header it was put with (a new poll interval: put again)
    etag: str = ""  # what the bucket answered (an object changed by hand: put again)


@dataclass(frozen=True, slots=True)
class PublishStatus:
    """How uploading to the bucket goes, as of the last upload run (``app.publish.s3``).

    ``pending`` documents differ from what the bucket holds and wait for the next run;
    ``uploads`` (objects put) and ``failures`` (runs that failed) are summed over every run.
    """

    target: str
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    failing_since: datetime | None = None
    pending: int = 0
    uploads: int = 0
    failures: int = 0
    serial: int = 0  # the publish serial the last run looked at (app.store.documents's change log)
    pending_paths: tuple[str, ...] = ()  # what that run could not put, or deferred
    cache_control: str = ""  # the Cache-Control of that run (another one: look at everything)
    signature: str = ""  # what the bucket's documents say besides the time (Publisher.signature)


class Delivery(StrEnum):
    """Where one notification stands."""

    PENDING = "pending"
    DELIVERED = "delivered"  # (a delivered notification is removed; its target counts it)
    GIVEN_UP = "given_up"


@dataclass(frozen=True, slots=True)
class Timing:
    """When a time-driven notification (a reminder, a window event, a digest) is due: ``at``;
    not delivered by ``until`` (a reminder: the window's start), it is too late and given up.
    ``lead_seconds`` is a reminder's lead."""

    at: datetime
    until: datetime
    lead_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """What one target's digest for the Danish local ``day`` shows, as taken at ``taken_at``:
    the open disruptions, the windows of the next 7 days, what closed after ``since``."""

    day: date
    taken_at: datetime
    since: datetime
    open: tuple[Incident, ...] = ()
    windows: tuple[Incident, ...] = ()
    closed: tuple[Incident, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing open, no window to come, nothing closed."""
        return not (self.open or self.windows or self.closed)


@dataclass(frozen=True, slots=True)
class Notification:
    """One real change of an incident, or one moment (``timing``), to be told to one target
    (``app.notify``).

    ``id`` (``<entry id>#<updated>`` for a change) is carried by every attempt, so receivers
    can drop duplicates; ``incident`` is the incident as it was at that change or moment (None
    for a digest, whose incidents are in ``digest``). ``test`` marks a sample of
    ``toldfeed notify-test`` (never queued).
    """

    id: str
    target: str
    event: str  # incident.created | incident.updated | window.* | digest
    incident: Incident | None
    queued_at: datetime
    state: Delivery = Delivery.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None  # None: as soon as possible
    last_error: str | None = None
    finished_at: datetime | None = None  # delivered or given up
    timing: Timing | None = None
    digest: Digest | None = None
    test: bool = False

    @property
    def key(self) -> str:
        """The incident's key ("" for a digest)."""
        return self.incident.key if self.incident is not None else ""


@dataclass(frozen=True, slots=True)
class WindowKnown:
    """When toldfeed first knew a window's current planned start and end (``start_known_at``,
    ``end_known_at``): a moment that had passed by then is not told (the news was the
    announcement)."""

    start_at: datetime
    start_known_at: datetime
    end_at: datetime | None
    end_known_at: datetime


@dataclass(frozen=True, slots=True)
class DigestMark:
    """The last digest queued for one target: its Danish local ``day`` and when it was taken
    (None: none yet; ``taken_at`` is then when the target was first seen)."""

    day: date | None
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class TargetStats:
    """Delivery figures of one notification target, summed over time."""

    delivered: int = 0
    failed: int = 0  # failed attempts
    given_up: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxState:
    """The deliverer's bookkeeping: ``cursor`` is the last outbox number taken into
    ``pending`` (number → target name); polls only ever add numbers above it."""

    cursor: int = 0
    pending: Mapping[int, str] = field(default_factory=dict)
    targets: Mapping[str, TargetStats] = field(default_factory=dict)
