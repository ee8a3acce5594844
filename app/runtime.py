"""Wiring of one running toldfeed: settings, catalogue, sources, store and fetcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import httpx

from app.catalogue import Catalogue, load_catalogue
from app.config import Settings, Source, load_sources
from app.fetch import Fetcher
from app.ingest import Poller, PollReport
from app.store import Store


@dataclass
class Runtime:
    """Everything a poll, a request or an export needs, opened once."""

    settings: Settings
    catalogue: Catalogue
    sources: tuple[Source, ...]
    store: Store
    fetcher: Fetcher

    @classmethod
    def open(cls, settings: Settings, transport: httpx.BaseTransport | None = None) -> Runtime:
        """Load the data files and open the store; ConfigError/StoreError on failure."""
        catalogue = load_catalogue(settings.systems)
        sources = load_sources(settings.sources)
        store = Store(settings.data_dir)
        fetcher = Fetcher(settings, {s.host for s in sources}, transport=transport)
        return cls(settings, catalogue, sources, store, fetcher)

    def poll(self, now: datetime, skip: frozenset[str] = frozenset()) -> PollReport:
        """Run one poll (sources in ``skip`` are backing off)."""
        poller = Poller(self.settings, self.store, self.fetcher, self.catalogue, self.sources)
        return poller.poll(now, skip)

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
