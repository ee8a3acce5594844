"""What toldfeed publishes, as typed records: one frozen record per document kind. Pure.

A record names one document and its parameters; ``app.site.urls`` maps it to and from its URL,
``app.render.renderer`` renders it. Each record also says what it depends on, so that after a poll
only the documents whose content can have changed are rebuilt:

* ``shows(incident)``: the incident can appear in it (a feed's scope, a system's embed ...);
* ``health_dependent``: it shows freshness or the "cannot read the agency" state.

A new document kind is one record here (listed in ``app.site.sets.canonical_documents`` if
it is stored and exported), one rule in ``app.site.rules`` and one renderer in ``app.render.renderer``.

Two kinds exist once per incident or per 50 incidents, so which of them exist depends on the
archive: incident pages and a system's later history pages. They are *derived* documents
(``app.site.sets.is_derived``): not in ``canonical_documents``, listed from the archive by
the publisher, stored and exported all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from app.model import Incident, Lang, Status


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

    def shows(self, incident: Incident) -> bool:
        """True when ``incident`` belongs to this feed."""
        if self.status is not None and incident.status is not self.status:
            return False
        if self.scope is Scope.SYSTEM:
            return self.value in incident.systems
        if self.scope is Scope.STATUS:
            return incident.status.value == self.value
        return True


@dataclass(frozen=True, slots=True)
class IndexPage:
    """The index page: per system its state now, latest messages, feed URLs."""

    lang: Lang

    kind: ClassVar[str] = "index"
    health_dependent: ClassVar[bool] = True
    canonical: ClassVar[bool] = True

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
        """True when ``incident`` names the system."""
        return self.system in incident.systems


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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
        """Every incident can change a component, and every part shows one."""
        return True


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

    def shows(self, incident: Incident) -> bool:
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

    def shows(self, incident: Incident) -> bool:
        """True for the incident itself."""
        return incident.key == self.key


@dataclass(frozen=True, slots=True)
class StatsApi:
    """``/api/stats.json``: per system and month the figures of the system pages."""

    lang: Lang = Lang.EN

    kind: ClassVar[str] = "stats"
    health_dependent: ClassVar[bool] = True  # open incidents count up to now
    canonical: ClassVar[bool] = True

    def shows(self, incident: Incident) -> bool:
        """Every incident counts in some figure."""
        return True


Doc = (
    Feed
    | IndexPage
    | Embed
    | Badge
    | Opml
    | IncidentsApi
    | SystemsApi
    | Calendar
    | SystemPage
    | IncidentPage
    | StatsApi
    | StatuspageApi
)
