"""What an HTTP exchange with the upstream leaves behind, and the header values toldfeed reads
(no I/O, no urllib3: ``app.fetch`` makes the requests).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Validators:
    """What a later conditional GET sends back to the server."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        """The conditional request headers."""
        out: dict[str, str] = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched document: ``not_modified`` means 304 and an empty body."""

    url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    max_age: float | None = None

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer."""
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value[:64])  # a date is some 30 characters
    except (TypeError, ValueError, OverflowError, IndexError):  # not a date: no wait said
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The ``max-age`` of a Cache-Control header, if any."""
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        value = value.strip()
        if name.lower() == "max-age" and value.isascii() and value.isdigit():
            return float(value)
    return None
