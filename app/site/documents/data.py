"""The documents for programs: feeds, OPML, calendars and the JSON APIs. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from app.model import Head, Incident, Lang, Status


class Format(StrEnum):
    """Feed formats, named by their file extension."""

    ATOM = "atom"
    RSS = "rss"
    JSON = "json"


class Scope(StrEnum):
    """Which incidents a feed is about."""

    ALL = "all"
    SYSTEM = "system"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed: every incident, one system's, or one status's; optionally filtered and limited.

    ``value`` is the system slug or status value for the SYSTEM and STATUS scopes. ``status``
    is the ``?status=`` filter; ``limit`` None means the configured default.
    """

    lang: Lang
    fmt: Format
    scope: Scope = Scope.ALL
    value: str = ""
    status: Status | None = None
    limit: int | None = None

    kind: ClassVar[str] = "feed"
    health_dependent: ClassVar[bool] = False

    @property
    def canonical(self) -> bool:
        """True for the default parameters (stored and exported)."""
        return self.status is None and self.limit is None

    @property
    def carries_notice(self) -> bool:
        """The ``all`` and ``current`` feeds carry the "cannot read the agency" entry."""
        if self.scope is Scope.ALL:
            return self.status in {None, Status.CURRENT}
        return self.scope is Scope.STATUS and self.value == Status.CURRENT.value

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` belongs to this feed."""
        if self.status is not None and incident.status is not self.status:
            return False
        if self.scope is Scope.SYSTEM:
            return self.value in incident.systems
        if self.scope is Scope.STATUS:
            return incident.status.value == self.value
        return True


@dataclass(frozen=True, slots=True)
class Opml:
    """Feeds as OPML outlines, to import into a reader in one go: by default the status feeds,
    which never share an entry (readers such as newsboat keep one copy of an entry id, under
    the last feed that carried it); with ``systems`` one feed per system, for readers that keep
    each feed's entries apart."""

    lang: Lang = Lang.EN
    systems: bool = False

    kind: ClassVar[str] = "opml"
    health_dependent: ClassVar[bool] = False
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """The OPML lists feeds, not incidents."""
        return False


@dataclass(frozen=True, slots=True)
class IncidentsApi:
    """``/api/incidents.json``: incidents with their timelines, optionally filtered."""

    lang: Lang
    system: str = ""
    status: Status | None = None
    limit: int | None = None

    kind: ClassVar[str] = "api"
    health_dependent: ClassVar[bool] = True  # carries generated_at, the last poll's time

    @property
    def canonical(self) -> bool:
        """True for the default parameters (stored and exported)."""
        return not self.system and self.status is None and self.limit is None

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` passes the filters."""
        if self.system and self.system not in incident.systems:
            return False
        return self.status is None or incident.status is self.status


@dataclass(frozen=True, slots=True)
class SystemsApi:
    """``/api/systems.json``: every system's state at the last poll."""

    lang: Lang = Lang.EN

    kind: ClassVar[str] = "systems"
    health_dependent: ClassVar[bool] = True  # a window starts or ends with time
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """Every incident can change a system's state."""
        return True


@dataclass(frozen=True, slots=True)
class Calendar:
    """The service windows (all, or one system's) as an iCalendar document."""

    lang: Lang
    system: str = ""

    kind: ClassVar[str] = "calendar"
    health_dependent: ClassVar[bool] = False  # bytes change only with the windows
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """True when ``incident`` has a window and names the system (if any)."""
        return incident.window is not None and (not self.system or self.system in incident.systems)


class StatuspagePart(StrEnum):
    """The documents of the Statuspage-compatible API, named by their path under ``/api/v2/``."""

    SUMMARY = "summary"
    STATUS = "status"
    COMPONENTS = "components"
    INCIDENTS = "incidents"
    UNRESOLVED = "incidents/unresolved"
    MAINTENANCES = "scheduled-maintenances"
    UPCOMING = "scheduled-maintenances/upcoming"
    ACTIVE = "scheduled-maintenances/active"


@dataclass(frozen=True, slots=True)
class StatuspageApi:
    """``/api/v2/<part>.json``: toldfeed in the shape of Atlassian Statuspage's Status API v2
    (``app.site.statuspage`` says what each part shows)."""

    lang: Lang
    part: StatuspagePart = StatuspagePart.SUMMARY

    kind: ClassVar[str] = "statuspage"
    health_dependent: ClassVar[bool] = True  # states move with time (its inputs say when)
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """Every incident can change a component, and every part shows one."""
        return True


@dataclass(frozen=True, slots=True)
class StatsApi:
    """``/api/stats.json``: per system and month the figures of the system pages."""

    lang: Lang = Lang.EN

    kind: ClassVar[str] = "stats"
    health_dependent: ClassVar[bool] = True  # open incidents count up to now
    canonical: ClassVar[bool] = True

    def shows(self, incident: Head | Incident) -> bool:
        """Every incident counts in some figure."""
        return True
