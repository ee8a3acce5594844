"""The exceptions toldfeed raises.

    ToldfeedError
     ├── ConfigError          settings, sources file or catalogue unusable (CLI exit 2)
     ├── FetchError           an upstream document could not be read
     │    ├── HTTPStatusError     the server answered with an error status
     │    ├── TooLargeError       the body exceeded the size limit
     │    └── NotAllowedError     a URL outside the hosts of the sources file
     ├── StoreError           the data directory cannot be used or written (CLI exit 3)
     │    └── StoreDamagedError   the store's file is not a readable database (restore it)
     ├── PublishError         the object-storage bucket did not take a document (app.publish.s3)
     └── RequestError         a web request for an unknown document (404) or bad value (400)

Parse problems are not exceptions: parsers return warnings with what they could read.
Library exceptions are wrapped with ``raise ... from``.
"""

from __future__ import annotations


class ToldfeedError(Exception):
    """Base class of every toldfeed error."""


class ConfigError(ToldfeedError):
    """A configuration file or setting is invalid."""


class FetchError(ToldfeedError):
    """An upstream document could not be fetched."""

    def __init__(self, url: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retry_after = retry_after


class HTTPStatusError(FetchError):
    """The upstream answered with an error status."""

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(url, f"HTTP {status}", retry_after)
        self.status = status


class TooLargeError(FetchError):
    """The body was larger than the configured limit."""


class NotAllowedError(FetchError):
    """The URL's host is not one the sources file names."""


class StoreError(ToldfeedError):
    """The store could not be opened or written."""


class StoreDamagedError(StoreError):
    """The store's database file is damaged (restore it from a backup or recover it)."""


class PublishError(ToldfeedError):
    """The bucket could not be reached or refused a request (retried at the next poll)."""


class RequestError(ToldfeedError):
    """A request for something that does not exist (404) or with a bad parameter (400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
