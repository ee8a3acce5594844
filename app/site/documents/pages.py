"""The documents for people: the index, embeds, badges, system and incident pages. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.model import Head, Incident, Lang


@dataclass(frozen=True, slots=True)
class IndexPage:
    """The index page: per system its state now, latest messages, feed URLs."""

    lang: Lang

    kind: ClassVar[str] = "index"
    health_dependent: ClassVar[bool] = True
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """Every incident can change the index."""
        return True


@dataclass(frozen=True, slots=True)
class Embed:
    """The iframe fragment of one system."""

    lang: Lang
    system: str

    kind: ClassVar[str] = "embed"
    health_dependent: ClassVar[bool] = True
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` names the system."""
        return self.system in incident.systems


@dataclass(frozen=True, slots=True)
class Badge:
    """The SVG status badge of one system."""

    lang: Lang
    system: str

    kind: ClassVar[str] = "badge"
    health_dependent: ClassVar[bool] = True  # the state now: windows start and end with time
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` names the system."""
        return self.system in incident.systems


HISTORY_PAGE = 50  # incidents per page of a system's history


@dataclass(frozen=True, slots=True)
class SystemPage:
    """One system's page: its state now and history (page 1), or older incidents (page 2 on).

    Page 1 shows the state now, the next window, a 90-day strip, the last 12 months, time to
    close and the newest ``HISTORY_PAGE`` incidents; it depends on the time (the state and the
    strip move with it). Page N lists the incidents ``(N - 1) * HISTORY_PAGE`` onwards, newest
    first by publication, and is derived: it exists while the system has that many incidents.
    ``shows`` says whether an incident can appear on *some* page; which page it is on is the
    archive's to say (``Archive.history_position``).
    """

    lang: Lang
    system: str
    page: int = 1

    kind: ClassVar[str] = "system"

    @property
    def canonical(self) -> bool:
        """Page 1 is canonical; later pages are derived from the archive."""
        return self.page == 1

    @property
    def health_dependent(self) -> bool:
        """Page 1 shows the state now and a strip ending today; later pages only incidents."""
        return self.page == 1

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` names the system."""
        return self.system in incident.systems


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """``/incidents/<key>``: everything known about one incident. Derived: one per incident.

    ``key`` is the incident key (``INC…``, ``WO…`` or ``oid:<n>``; the URL spells the last
    ``oid-<n>``). The page depends on the incident alone, so its bytes change only with it.
    """

    lang: Lang
    key: str

    kind: ClassVar[str] = "incident"
    health_dependent: ClassVar[bool] = False
    canonical: ClassVar[bool] = False

    def shows(self, incident: Head | Incident) -> bool:
        """True for the incident itself."""
        return incident.key == self.key
