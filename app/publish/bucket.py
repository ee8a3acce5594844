"""One S3-compatible bucket and key prefix (the only importer of boto3 and botocore).

Requests have bounded timeouts and retries; every failure is a ``PublishError`` that names the
request. What to put and when is ``app.publish.s3``'s business.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from app.config import S3Target
from app.errors import PublishError


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """What the bucket holds at one path, as a HEAD request tells."""

    sha256: str | None
    content_type: str | None
    cache_control: str | None
    etag: str | None = None


_made = threading.Lock()
_loader: Any = None


def _session() -> Any:
    """A new boto3 session (each reads the AWS_* variables afresh) sharing this process's
    loader of botocore's service descriptions: reading those is most of making a client
    (some 80 of 110 ms), and they never change while the process runs."""
    import boto3
    import botocore.session

    global _loader
    with _made:
        core = botocore.session.Session()
        if _loader is None:
            _loader = core.get_component("data_loader")
        core.register_component("data_loader", _loader)
        return boto3.session.Session(botocore_session=core)


class Bucket:
    """One bucket and key prefix through boto3, with bounded timeouts and retries.

    The AWS_* variables (``AWS_ENDPOINT_URL``, credentials, region) are read by boto3. The
    client is made on first use, so a process that never uploads never imports boto3.
    ``requests`` counts every HTTP request sent, retries included.
    """

    HEAD_WORKERS = 8

    def __init__(self, target: S3Target, timeout_seconds: float = 5.0, retries: int = 2) -> None:
        self.target = target
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.requests = 0
        self._lock = threading.Lock()
        self._client: Any = None

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                from botocore.config import Config
                from botocore.exceptions import BotoCoreError

                config = Config(
                    connect_timeout=self.timeout_seconds,
                    read_timeout=self.timeout_seconds,
                    retries={"mode": "standard", "total_max_attempts": self.retries + 1},
                    # plain requests that every S3-compatible service takes (by default boto3
                    # adds CRC checksums that some of them reject)
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    max_pool_connections=self.HEAD_WORKERS,
                )
                try:
                    client = _session().client("s3", config=config)
                except (BotoCoreError, ValueError) as e:
                    raise PublishError(f"cannot set up the S3 client: {e}") from e
                client.meta.events.register("before-send.s3", self._count)
                self._client = client
            return self._client

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.requests += 1

    def _call(self, what: str, action: Callable[[Any], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return action(self._s3())
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = e.response.get("Error", {}).get("Code", "")
            raise PublishError(f"{what}: HTTP {status} {code}".rstrip()) from e
        except (BotoCoreError, OSError) as e:
            raise PublishError(f"{what}: {e}") from e

    def put(
        self, path: str, body: bytes, content_type: str, cache_control: str, sha256: str
    ) -> str:
        """Put one object at the prefix plus ``path``, with its headers and content hash;
        return the ETag the bucket answered ("" when none)."""
        key = self.target.prefix + path
        answer: dict[str, Any] = self._call(
            f"PUT {key}",
            lambda s3: s3.put_object(
                Bucket=self.target.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata={"sha256": sha256},
            ),
        )
        return str(answer.get("ETag") or "")

    def listing(self) -> set[str]:
        """The paths (below the prefix) of every object under the prefix; paginated."""

        def run(s3: Any) -> set[str]:
            found: set[str] = set()
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.target.bucket, Prefix=self.target.prefix
            )
            for page in pages:
                found.update(o["Key"][len(self.target.prefix) :] for o in page.get("Contents", ()))
            return found

        result: set[str] = self._call(f"LIST {self.target}", run)
        return result

    def head(self, path: str) -> RemoteObject | None:
        """What the bucket holds at ``path``; None when nothing."""
        key = self.target.prefix + path

        def run(s3: Any) -> RemoteObject | None:
            from botocore.exceptions import ClientError

            try:
                found = s3.head_object(Bucket=self.target.bucket, Key=key)
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None  # removed between the listing and now
                raise
            return RemoteObject(
                (found.get("Metadata") or {}).get("sha256"),
                found.get("ContentType"),
                found.get("CacheControl"),
                found.get("ETag"),
            )

        result: RemoteObject | None = self._call(f"HEAD {key}", run)
        return result

    def remote(self, paths: Iterable[str]) -> dict[str, RemoteObject]:
        """What the bucket holds at those of ``paths`` it has: one listing, HEADs in parallel."""
        listed = self.listing()
        present = [p for p in paths if p in listed]
        self._s3()  # made once, before the threads share it
        with ThreadPoolExecutor(self.HEAD_WORKERS) as pool:
            heads = list(pool.map(self.head, present))
        return {p: h for p, h in zip(present, heads, strict=True) if h is not None}
