"""The sources file: the documents a poll reads directly (list pages, the RSS feed)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.errors import ConfigError
from app.model import Lang, SourceKind

POLLED_KINDS = (SourceKind.PAGE, SourceKind.RSS)  # what a sources file may name


@dataclass(frozen=True, slots=True)
class Source:
    """One upstream document polled directly (a list page or the RSS feed)."""

    kind: SourceKind  # RSS or PAGE
    url: str
    lang: Lang

    @property
    def host(self) -> str:
        """The URL's host name."""
        return urlsplit(self.url).hostname or ""


def load_sources(path: Path) -> tuple[Source, ...]:
    """Read the sources file; raise ConfigError saying what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read sources file {path}: {e}") from e
    sources: list[Source] = []
    for i, entry in enumerate(data.get("source", []), start=1):
        kind, url, lang = entry.get("kind"), entry.get("url"), entry.get("lang", "da")
        if kind not in POLLED_KINDS:
            words = " or ".join(f"'{k}'" for k in POLLED_KINDS)
            raise ConfigError(f"{path}: source #{i}: kind must be {words}, not {kind!r}")
        if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https"}:
            raise ConfigError(f"{path}: source #{i}: url must be an http(s) URL")
        if lang not in {"en", "da"}:
            raise ConfigError(f"{path}: source #{i}: lang must be 'en' or 'da', not {lang!r}")
        sources.append(Source(kind=SourceKind(kind), url=url, lang=Lang(lang)))
    if not sources:
        raise ConfigError(f"{path}: no [[source]] entries")
    return tuple(sources)
