"""What a parser returns: observations, links to follow, and warnings instead of exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.model import Lang, Observation


@dataclass(frozen=True, slots=True)
class DetailLink:
    """A detail page named by a list row or RSS item, with the row's last-updated hint."""

    url: str
    oid: int
    lang: Lang
    last_updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything one document yielded; ``warnings`` say what could not be read."""

    observations: tuple[Observation, ...] = ()
    links: tuple[DetailLink, ...] = ()
    feed_links: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    unknown_systems: tuple[str, ...] = ()
