"""The store's record of uploads to object storage (``app.publish.s3``).

Keys (each spelled here only):

    upload:<path>          what was last put into the object-storage bucket at <path>
    meta:publish           how uploading to the bucket goes (failures, pending, figures)
"""

from __future__ import annotations

from collections.abc import Iterable

from app.store.core import Batch, StoreCore
from app.store.delivery_codec import (
    publish_status_from_dict,
    publish_status_to_dict,
    upload_record_from_dict,
    upload_record_to_dict,
)
from app.store.records import PublishStatus, UploadRecord

_UPLOAD, _PUBLISH = "upload:", "meta:publish"


class UploadsMixin(StoreCore):
    """What is in the bucket and how uploading goes."""

    def uploads(self, paths: Iterable[str]) -> dict[str, UploadRecord]:
        """What was last put into the bucket at each of ``paths`` (paths never put are absent)."""
        found = {}
        for path in paths:
            data = self.get(f"{_UPLOAD}{path}")
            if data:
                found[path] = upload_record_from_dict(data)
        return found

    @staticmethod
    def stage_upload(batch: Batch, path: str, record: UploadRecord) -> None:
        """Queue what was put into the bucket at ``path``."""
        batch.put(f"{_UPLOAD}{path}", upload_record_to_dict(record))

    def publish_status(self) -> PublishStatus | None:
        """How uploading to the bucket goes; None before the first upload run."""
        data = self.get(_PUBLISH)
        return publish_status_from_dict(data) if data else None

    @staticmethod
    def stage_publish_status(batch: Batch, status: PublishStatus) -> None:
        """Queue the upload status."""
        batch.put(_PUBLISH, publish_status_to_dict(status))
