"""What an upload run to object storage is to do, decided before anything is put. Pure.

``UploadRequest`` is what the poll asks for (which documents, how long, what may wait);
``plan_uploads`` compares each document's hash with the record of the last upload (or, for
``toldfeed publish``, with the bucket's own listing) and says what to put, what to adopt as
already there and what to defer; ``Uploader.run`` (``app.publish.s3``) applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.publish.bucket import RemoteObject
from app.store.records import PublishStatus, UploadRecord
from app.store.rendered import Document


@dataclass(frozen=True, slots=True)
class Wanted:
    """One stored document as the bucket should hold it."""

    path: str
    sha256: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What an upload run puts (in order), what it records without putting, what it defers."""

    put: tuple[Wanted, ...]
    adopt: tuple[Wanted, ...] = ()  # the bucket already holds them as they are
    deferred: tuple[Wanted, ...] = ()  # changed only by the time of the poll: put later


@dataclass(frozen=True, slots=True)
class Freshness:
    """Which documents may wait: ``paths`` changed only with the time of the poll (nothing
    else changed), and wait while their last upload is younger than ``refresh``."""

    paths: frozenset[str]
    now: datetime
    refresh: timedelta


def plan_uploads(
    wanted: Sequence[Wanted],
    uploaded: Mapping[str, UploadRecord],
    target: str,
    cache_control: str,
    remote: Mapping[str, RemoteObject] | None = None,
    fresh: Freshness | None = None,
    header_known: bool = True,
) -> Plan:
    """Decide what to put, keeping ``wanted``'s order. Pure: no I/O.

    Without ``remote`` (after a poll) a document is put when the last upload to ``target`` at
    its path had other bytes or another ``Cache-Control``, or there was none; one of
    ``fresh.paths`` uploaded less than ``fresh.refresh`` ago is deferred instead (its bytes
    differ only by the time of the poll). With ``remote`` (``toldfeed publish``: what a
    listing and HEAD requests found, a path absent from it being missing from the bucket) the
    bucket decides: a document is put when the bucket lacks it or holds other bytes or
    headers, or an object other than the one last put (its ETag changed), and one the bucket
    holds as it should but that has no record is adopted (recorded).
    """
    put: list[Wanted] = []
    adopt: list[Wanted] = []
    deferred: list[Wanted] = []
    for w in wanted:
        record = uploaded.get(w.path)
        mine = record if record is not None and record.target == target else None
        # "": a record from before records kept the header: it was put with today's one
        # unless the header has changed since (``header_known`` False)
        same_header = mine is not None and (
            mine.cache_control == cache_control or (header_known and not mine.cache_control)
        )
        recorded = same_header and mine is not None and mine.sha256 == w.sha256
        if remote is None:
            if recorded:
                continue
            if (  # only its bytes differ, by the time of the poll: it may wait
                fresh is not None
                and mine is not None
                and same_header
                and w.path in fresh.paths
                and fresh.now - mine.uploaded_at < fresh.refresh
            ):
                deferred.append(w)
            else:
                put.append(w)
            continue
        there = remote.get(w.path)
        same = there is not None and (there.sha256, there.content_type, there.cache_control) == (
            w.sha256,
            w.content_type,
            cache_control,
        )
        replaced = bool(mine and mine.etag and there and there.etag and there.etag != mine.etag)
        if not same or replaced:
            put.append(w)
        elif not recorded:
            adopt.append(w)
    return Plan(tuple(put), tuple(adopt), tuple(deferred))


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """One upload run, decided before anything is put (``Uploader.run`` applies it).

    ``documents`` in ``Publisher.stored()`` order. ``verify``: compare with the bucket itself,
    not with the records of the last upload. ``budget_seconds``: stop putting when spent (the
    rest stays pending), so a slow bucket or a large first upload never holds the poll lock
    for long. ``fresh`` names the documents that may wait (``plan_uploads``). ``signature``
    (``Publisher.signature``) is kept with the status once the bucket holds what it
    describes, for the next run to tell a quiet poll. ``header_known`` False: the
    Cache-Control changed since the last run, so records that did not keep theirs are put.
    """

    documents: Mapping[str, Document]
    now: datetime
    serial: int = 0  # the publish serial the documents reflect
    verify: bool = False
    budget_seconds: float | None = None
    fresh: Freshness | None = None
    signature: str = ""
    header_known: bool = True


def reads_change_log(
    status: PublishStatus | None, target: str, cache_control: str, verify: bool
) -> tuple[bool, bool]:
    """(only what changed since the last run need be read, the stored header is current).

    The first run, a new target or Cache-Control, and ``toldfeed publish`` (``verify``) read
    everything; "" is a status from before the header was kept."""
    header_known = status is None or status.cache_control in ("", cache_control)
    incremental = not verify and status is not None and status.target == target and header_known
    return incremental, header_known


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What one upload run did."""

    target: str
    put: tuple[str, ...]  # paths put, in order
    checked: int  # objects compared with the bucket itself (toldfeed publish)
    pending: int  # documents that still differ from what the bucket holds
    requests: int  # HTTP requests sent, retries included
    error: str | None = None
    deferred: int = 0  # documents changed only by the time they show, put at their refresh

    @property
    def ok(self) -> bool:
        """True when nothing failed: the bucket holds every document as far as toldfeed knows
        (from its answers now, or from its records when nothing had to be asked)."""
        return self.error is None

    @property
    def reached(self) -> bool:
        """True when the bucket was asked anything: a run with nothing to put asks nothing, so
        its success says nothing about the bucket (its address, the credentials)."""
        return self.requests > 0
