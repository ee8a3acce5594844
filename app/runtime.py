"""Wiring of one running toldfeed: settings, catalogue, sources, store and fetcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from app.catalogue import Catalogue, load_catalogue
from app.config import Settings, Source, load_sources
from app.fetch import Fetcher, Transport
from app.ingest import PollReport, run_poll
from app.store import Store


def clock_from(now: datetime) -> Callable[[], datetime]:
    """A clock that reads ``now`` plus the time elapsed since: right for replayed polls too."""
    began = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - began)


@dataclass
class Runtime:
    """Everything a poll, a request or an export needs, opened once."""

    settings: Settings
    catalogue: Catalogue
    sources: tuple[Source, ...]
    store: Store
    fetcher: Fetcher

    @classmethod
    def open(cls, settings: Settings, transport: Transport | None = None) -> Runtime:
        """Load the data files and open the store; ConfigError/StoreError on failure."""
        catalogue = load_catalogue(settings.systems)
        sources = load_sources(settings.sources)
        store = Store(settings.data_dir)
        fetcher = Fetcher(settings, {s.host for s in sources}, transport=transport)
        return cls(settings, catalogue, sources, store, fetcher)

    def poll(
        self,
        now: datetime,
        skip: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] | None = None,
    ) -> PollReport:
        """Run one poll at ``now`` (sources in ``skip`` are backing off).

        ``clock`` gives the finish time; by default ``now`` plus the time the poll took.
        """
        return run_poll(
            self.settings,
            self.store,
            self.fetcher,
            self.catalogue,
            self.sources,
            now=now,
            skip=skip,
            clock=clock or clock_from(now),
        )

    def close(self) -> None:
        """Release the store and connections."""
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
