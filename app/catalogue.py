"""The system catalogue (``feeds/systems.toml``): canonical names, slugs and aliases."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from app.errors import ConfigError
from app.upstream.text import drop_format

OTHER = "other"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _fold(name: str) -> str:
    """The key a name is matched by: case, spacing, end punctuation and format characters
    (a zero-width space or soft hyphen pasted from Word or a CMS) ignored."""
    return " ".join(drop_format(name).replace("\xa0", " ").split()).casefold().strip(" .,;")


@dataclass(frozen=True, slots=True)
class System:
    """One system of the catalogue."""

    slug: str
    name: str
    name_da: str
    aliases: tuple[str, ...]
    legacy: bool = False

    def name_in(self, lang: str) -> str:
        """The display name in ``lang``."""
        return self.name_da if lang == "da" else self.name


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every known system, in display order, with an alias index."""

    systems: tuple[System, ...]
    _index: dict[str, str]

    @classmethod
    def from_systems(cls, systems: list[System]) -> Catalogue:
        """Build the alias index; a slug or alias used twice is a configuration error."""
        index: dict[str, str] = {}
        seen: set[str] = set()
        for system in systems:
            if not _SLUG.match(system.slug) or system.slug in seen:
                raise ConfigError(f"systems catalogue: bad or repeated slug {system.slug!r}")
            seen.add(system.slug)
            for alias in (system.name, *system.aliases):
                key = _fold(alias)
                if index.get(key, system.slug) != system.slug:
                    raise ConfigError(f"systems catalogue: alias {alias!r} names two systems")
                index[key] = system.slug
        if OTHER not in seen:
            raise ConfigError("systems catalogue: the 'other' system is required")
        return cls(tuple(systems), index)

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every slug in display order."""
        return tuple(s.slug for s in self.systems)

    def get(self, slug: str) -> System | None:
        """The system with ``slug``, or None."""
        return next((s for s in self.systems if s.slug == slug), None)

    def resolve(
        self, names: list[str] | tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Map upstream names to (slugs, unknown names); unknown names map to ``other``."""
        slugs: list[str] = []
        unknown: list[str] = []
        for raw in names:
            name = " ".join(drop_format(raw).split())  # reported as it reads
            if not name:
                continue
            slug = self._index.get(_fold(name))
            if slug is None:
                unknown.append(name)
                slug = OTHER
            if slug not in slugs:
                slugs.append(slug)
        return tuple(sorted(slugs)), tuple(unknown)


def load_catalogue(path: Path) -> Catalogue:
    """Read ``systems.toml``; raise ConfigError with the reason when it is unusable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read system catalogue {path}: {e}") from e
    systems: list[System] = []
    for i, entry in enumerate(data.get("system", [])):
        try:
            systems.append(
                System(
                    slug=str(entry["slug"]),
                    name=str(entry["name"]),
                    name_da=str(entry.get("name_da", entry["name"])),
                    aliases=tuple(str(a) for a in entry.get("aliases", [])),
                    legacy=bool(entry.get("legacy", False)),
                )
            )
        except (KeyError, TypeError) as e:
            raise ConfigError(f"{path}: system #{i + 1} lacks {e}") from e
        system = systems[-1]
        for text in (system.name, system.name_da):
            # names go into mail subjects and page titles: a line break would fail every mail
            # that names the system, at the first reminder rather than now
            if not text.strip() or any(not c.isprintable() for c in text):
                raise ConfigError(
                    f"{path}: system #{i + 1} ({system.slug}): the name {text!r} is empty or "
                    "holds a control character or line break"
                )
    return Catalogue.from_systems(systems)
