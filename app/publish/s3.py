"""Publishing to S3-compatible object storage: putting what the plan says, recording it.

With ``TOLDFEED_PUBLISH_S3=s3://bucket/prefix`` the process that polls puts every stored
document under the prefix at its export path, so that a CDN in front of the bucket serves the
readers and one small machine polls the agency. An upload run, like a poll, has phases:

    read: stored documents ──► plan_uploads (pure) ──► put, one by one, ──► record: what was put,
          upload records          what to put            in stored() order     the status (one commit)
          [toldfeed publish: list and HEAD the bucket too]

- Only documents whose bytes differ from the last successful upload to this target are put.
  The content hash is our own SHA-256, kept per path in the store and sent along as
  ``x-amz-meta-sha256``; an S3 ETag is not always an MD5 (multipart uploads, SSE-KMS, other
  services), so it is never used.
- Order is ``Publisher.stored()``'s: what others link to (feeds, embeds, badges, calendars,
  APIs) first, index pages and OPML last, so a reader never follows a link to a missing object.
- Nothing is ever deleted.
- A bucket that cannot be reached costs one bounded request (timeouts and retries from the
  settings): the run stops at the first failure, records what it did put and leaves the rest
  pending for the next run. Errors are returned, never raised, so the poll's outcome stays the
  upstream's alone.

What to put is decided first, purely (``app.publish.upload_plan``); the bucket itself (boto3,
requests, timeouts) is ``app.publish.bucket``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from datetime import datetime

from app.config import Settings
from app.errors import PublishError
from app.publish.bucket import Bucket, RemoteObject
from app.publish.upload_plan import UploadRequest, UploadResult, Wanted, plan_uploads
from app.store import Batch, Store
from app.store.records import PublishStatus, UploadRecord

log = logging.getLogger("toldfeed.objectstore")


class Uploader:
    """Makes the bucket hold the stored documents; keeps upload records and status in the store.

    Call it under the poll lock: one process uploads at a time.
    """

    def __init__(self, store: Store, bucket: Bucket, max_age: int) -> None:
        self.store = store
        self.bucket = bucket
        self.cache_control = f"public, max-age={max_age}"

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> Uploader | None:
        """The uploader ``TOLDFEED_PUBLISH_S3`` asks for, or None."""
        target = settings.publish_target
        if target is None:
            return None
        bucket = Bucket(target, settings.publish_timeout_seconds, settings.publish_retries)
        return cls(store, bucket, int(settings.poll_seconds))

    def run(self, request: UploadRequest) -> UploadResult:
        """Put what differs from the last upload (with ``verify``: from the bucket itself).

        Never raises PublishError: a failure is in the result and in the stored status, and
        what was not put stays pending (and is kept for the next run, as are the documents
        ``fresh`` lets wait).
        """
        documents, now, verify = request.documents, request.now, request.verify
        fresh, header_known = request.fresh, request.header_known
        budget_seconds = request.budget_seconds
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        target = str(self.bucket.target)
        sent = self.bucket.requests
        wanted = [
            Wanted(path, hashlib.sha256(doc.body).hexdigest(), doc.content_type)
            for path, doc in documents.items()
        ]
        uploaded = self.store.uploads(documents)
        plan = plan_uploads(
            wanted, uploaded, target, self.cache_control, fresh=fresh, header_known=header_known
        )
        checked = 0
        remote: dict[str, RemoteObject] = {}
        done: list[tuple[Wanted, str]] = []  # with the ETag the bucket answered
        error = None
        try:
            if verify:
                remote = self.bucket.remote(documents)
                checked = len(remote)
                plan = plan_uploads(wanted, uploaded, target, self.cache_control, remote)
            for w in plan.put:
                if deadline is not None and time.monotonic() > deadline:
                    break  # what is left is pending: the next run goes on from here
                body = documents[w.path].body
                etag = self.bucket.put(w.path, body, w.content_type, self.cache_control, w.sha256)
                done.append((w, etag))
        except PublishError as e:
            error = str(e)
        batch = Batch()
        adopted = [
            (w, (there.etag or "") if (there := remote.get(w.path)) else "") for w in plan.adopt
        ]
        for w, etag in (*adopted, *done):
            record = UploadRecord(target, w.sha256, now, self.cache_control, etag or "")
            Store.stage_upload(batch, w.path, record)
        left = tuple(w.path for w in plan.put[len(done) :])
        requests = self.bucket.requests - sent
        reached = requests > 0
        status = replace(
            self._status(target, now, len(done), len(left), error, reached),
            serial=request.serial,
            pending_paths=left + tuple(w.path for w in plan.deferred),
            cache_control=self.cache_control,
        )
        if error is None and not left:
            status = replace(status, signature=request.signature)
        Store.stage_publish_status(batch, status)
        self.store.commit(batch)
        result = UploadResult(
            target,
            tuple(w.path for w, _ in done),
            checked,
            status.pending,
            requests,
            error,
            len(plan.deferred),
        )
        if error:
            log.warning(
                "upload failed target=%s put=%d pending=%d error=%s",
                target,
                len(done),
                result.pending,
                error,
            )
        elif not reached:
            log.info(
                "nothing to upload target=%s deferred=%d (the bucket was not contacted)",
                target,
                len(plan.deferred),
            )
        else:
            log.info(
                "upload done target=%s put=%d checked=%d deferred=%d",
                target,
                len(done),
                checked,
                len(plan.deferred),
            )
        return result

    def _status(
        self,
        target: str,
        now: datetime,
        put: int,
        pending: int,
        error: str | None,
        reached: bool,
    ) -> PublishStatus:
        """The status after this run. A run that asked the bucket nothing (nothing to put) is
        no attempt: it tells nothing of the bucket, so neither a success nor a failure."""
        old = self.store.publish_status() or PublishStatus(target)
        if old.target != target:
            old = PublishStatus(target, uploads=old.uploads, failures=old.failures)
        old = replace(old, pending=pending, uploads=old.uploads + put)
        if error is None and not reached:
            return old
        old = replace(old, last_attempt_at=now)
        if error is None:
            return replace(old, last_success_at=now, failing_since=None)
        return replace(
            old,
            last_failure_at=now,
            last_error=error,
            failing_since=old.failing_since or now,
            failures=old.failures + 1,
        )
