"""Wiring of one running toldfeed process: settings, catalogue, sources, store, fetcher, and
the URL map, renderer and notification client, each built once and only when first needed.

Everything below the command line and ``create_app`` gets what it needs from here: settings
enter at those two edges and go no further than the parts that read them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from app.catalogue import Catalogue, load_catalogue
from app.config import Settings
from app.errors import ConfigError
from app.fetch import Fetcher, Transport
from app.ingest import PollReport, run_poll
from app.ingest.sources import Source, load_sources
from app.notify.targets import Target, load_targets, parse_smtp_url
from app.publish.render_key import code_digest
from app.render.renderer import Renderer
from app.site.urls import Urls
from app.store import Store
from app.store.secret import data_dir_secret

if TYPE_CHECKING:  # the subscribers' side is imported where it is first needed (mail, signing)
    from app.fetch.poster import Poster
    from app.notify.letters import Letters
    from app.notify.signup import Subscriptions
    from app.notify.tokens import Tokens


def clock_from(now: datetime) -> Callable[[], datetime]:
    """A clock that reads ``now`` plus the time elapsed since: right for replayed polls too."""
    began = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - began)


@dataclass
class Runtime:
    """Everything a poll, a request or an export needs, opened once per process."""

    settings: Settings
    catalogue: Catalogue
    sources: tuple[Source, ...]
    store: Store
    fetcher: Fetcher
    targets: tuple[Target, ...] = ()  # push notification targets (TOLDFEED_NOTIFY)
    # the digest of the code that renders documents ("": of the code that runs); a test gives
    # another to play an upgrade
    code: str = ""

    @cached_property
    def code_digest(self) -> str:
        """The digest of the rendering code, part of every stored document's render key."""
        return self.code or code_digest()

    @cached_property
    def urls(self) -> Urls:
        """The one URL map of this process (matching for the web, building for everyone)."""
        return Urls(self.settings, self.catalogue)

    @cached_property
    def renderer(self) -> Renderer:
        """The one renderer of this process, with its caches."""
        return Renderer(self.settings, self.catalogue, self.urls)

    @cached_property
    def tokens(self) -> Tokens:
        """Signs and reads subscription links (``TOLDFEED_SECRET_KEY``, else the data
        directory's own key)."""
        from app.notify.tokens import Tokens

        key = self.settings.secret_key.encode() or data_dir_secret(self.settings.data_dir)
        return Tokens(key)

    @cached_property
    def subscriptions(self) -> Subscriptions:
        """The self-service subscription rules over this process's store."""
        from app.notify.signup import Subscriptions

        return Subscriptions(self.store, self.tokens)

    @cached_property
    def letters(self) -> Letters:
        """The list headers, page links and confirmation mails of subscribers."""
        from app.notify.letters import Letters

        return Letters(self.settings, self.tokens, self.catalogue)

    @cached_property
    def poster(self) -> Poster:
        """The client that POSTs to targets and the hub (its TLS context only when used)."""
        from app.fetch.poster import Poster

        return Poster(self.settings)

    @classmethod
    def open(
        cls,
        settings: Settings,
        transport: Transport | None = None,
        *,
        read_only_fallback: bool = False,
        code: str = "",
    ) -> Runtime:
        """Load the data files and open the store; ConfigError/StoreError on failure.

        With ``read_only_fallback`` a store that cannot be written is opened read-only;
        ``code`` stands for the digest of the rendering code (tests play upgrades with it).
        """
        catalogue = load_catalogue(settings.systems)
        sources = load_sources(settings.sources)
        targets = load_targets(settings, catalogue.slugs)
        if settings.smtp_url:  # also unused: a bad value is an error now, not at the first mail
            try:
                parse_smtp_url(settings.smtp_url)
            except ValueError as e:
                raise ConfigError(f"TOLDFEED_SMTP_URL: {e}") from None
        store = Store.open(settings.data_dir, read_only_fallback=read_only_fallback)
        if not settings.base_url_set and (published := store.published_base_url()):
            # TOLDFEED_BASE_URL unset: keep the base URL the stored documents use (a `serve`
            # on its own address), so `toldfeed poll` or `export` beside it changes no link
            settings = replace(settings, base_url=published)
        fetcher = Fetcher(settings, {s.url for s in sources}, transport=transport)
        return cls(settings, catalogue, sources, store, fetcher, targets, code)

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
            targets=self.targets,
            subscribers=self.settings.subscriptions_on,
        )

    def close(self) -> None:
        """Release the store and connections."""
        self.fetcher.close()
        if "poster" in self.__dict__:  # built only if something was sent
            self.poster.close()
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
