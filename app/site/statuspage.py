"""What the Statuspage-compatible API shows: toldfeed's incidents and system states in the
vocabulary of Atlassian Statuspage's Status API v2. Pure: no I/O, no clock.

The rules (INTERFACE.md, "A Statuspage-compatible API"):

- a *component* per catalogue system that is not legacy: ``partial_outage`` while an open
  disruption names it (the agency never says how much is down), ``under_maintenance`` while a
  window naming it is in progress, else ``operational``: the state of ``/api/systems.json``
  (``app.site.system_state``) in other words;
- the page's ``status.indicator``: ``minor`` when a component is in an outage, else
  ``maintenance`` when one is under maintenance, else ``none``;
- *incidents* are the disruptions: ``investigating`` while open, ``resolved`` once closed;
- *scheduled maintenances* are the service windows with a known start: ``in_progress`` while
  the window is in progress (the very rule that makes a system's state ``maintenance``),
  ``scheduled`` before its start, ``completed`` after its planned end, when cancelled, or once
  its incident is closed.

Statuspage lists the 50 most recent incidents and maintenances; so does this API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.catalogue import Catalogue
from app.model import Incident, Kind, State, Status
from app.site.archive import Archive
from app.site.documents import StatuspageApi, StatuspagePart
from app.site.system_state import SystemState, window_in_progress

LIMIT = 50  # the most recent incidents (maintenances) a list gives, as Statuspage's do


class ComponentStatus(StrEnum):
    """A component's status, in Statuspage's words (the three toldfeed can tell)."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    PARTIAL_OUTAGE = "partial_outage"


class Indicator(StrEnum):
    """The page's ``status.indicator``."""

    NONE = "none"
    MAINTENANCE = "maintenance"
    MINOR = "minor"


class IncidentStatus(StrEnum):
    """A disruption's status."""

    INVESTIGATING = "investigating"
    RESOLVED = "resolved"


class MaintenanceStatus(StrEnum):
    """A service window's status."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


_COMPONENT = {
    State.DISRUPTED: ComponentStatus.PARTIAL_OUTAGE,
    State.MAINTENANCE: ComponentStatus.UNDER_MAINTENANCE,
    State.OPERATIONAL: ComponentStatus.OPERATIONAL,
}


@dataclass(frozen=True, slots=True)
class Component:
    """One system as a component: its status now and when what concerns it last changed."""

    slug: str
    status: ComponentStatus
    position: int  # from 1, in catalogue order
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Listed:
    """An incident as a list shows it: the incident and its status in Statuspage's words."""

    incident: Incident
    status: IncidentStatus | MaintenanceStatus

    @property
    def maintenance(self) -> bool:
        """True for a scheduled maintenance (a service window), False for an incident."""
        return isinstance(self.status, MaintenanceStatus)


@dataclass(frozen=True, slots=True)
class View:
    """What one part of the API shows at one moment (``now``)."""

    part: StatuspagePart
    now: datetime
    updated_at: datetime  # the page's: the last change of anything it shows
    indicator: Indicator
    components: tuple[Component, ...]
    incidents: tuple[Listed, ...] = ()
    maintenances: tuple[Listed, ...] = ()
    known: bool = True  # False while toldfeed cannot tell the state (never read, or blind)

    @property
    def all_listed(self) -> tuple[Listed, ...]:
        """The incidents, then the maintenances."""
        return self.incidents + self.maintenances


def is_disruption(incident: Incident) -> bool:
    """Whether the incident is a Statuspage incident (a disruption)."""
    return incident.kind is Kind.DISRUPTION


def is_maintenance(incident: Incident) -> bool:
    """Whether the incident is a scheduled maintenance (a service window with a known start)."""
    return incident.kind is Kind.SCHEDULED and incident.window is not None


def incident_status(incident: Incident) -> IncidentStatus:
    """A disruption's status: investigating while open, resolved once closed."""
    if incident.status is Status.CLOSED:
        return IncidentStatus.RESOLVED
    return IncidentStatus.INVESTIGATING


def maintenance_status(incident: Incident, now: datetime) -> MaintenanceStatus:
    """A service window's status at ``now``."""
    window = incident.window
    assert window is not None  # only maintenances are asked
    if window_in_progress(incident, now):
        return MaintenanceStatus.IN_PROGRESS
    if incident.status is not Status.CLOSED and not window.cancelled and now < window.start_at:
        return MaintenanceStatus.SCHEDULED
    return MaintenanceStatus.COMPLETED


def component_status(state: SystemState) -> ComponentStatus:
    """A system's state as a component's status."""
    return _COMPONENT[state.state]


def indicator_of(components: Iterable[Component]) -> Indicator:
    """The page's indicator: the worst component status."""
    statuses = {c.status for c in components}
    if ComponentStatus.PARTIAL_OUTAGE in statuses:
        return Indicator.MINOR
    if ComponentStatus.UNDER_MAINTENANCE in statuses:
        return Indicator.MAINTENANCE
    return Indicator.NONE


def last_change(incidents: Iterable[Incident], now: datetime) -> datetime | None:
    """The last moment by ``now`` that any of ``incidents`` changed what the API shows: its
    own last change, or, for an open maintenance, its window starting or ending (its status
    and its systems' move with time)."""
    moments: list[datetime] = []
    for incident in incidents:
        moments.append(incident.updated_at)
        window = incident.window
        if is_maintenance(incident) and incident.status is not Status.CLOSED:
            assert window is not None
            if not window.cancelled:
                ends = (window.start_at, window.end_at)
                moments += [t for t in ends if t is not None and t <= now]
    return max(moments, default=None)


def components(archive: Archive, catalogue: Catalogue, now: datetime) -> tuple[Component, ...]:
    """Every system that is not legacy as a component, in catalogue order.

    A component's ``updated_at`` is its newest incident's last change, or a window of an open
    maintenance naming it starting or ending, whichever came last (None: nothing named it).
    """
    states = archive.states(catalogue, now)
    found = []
    for position, system in enumerate((s for s in catalogue.systems if not s.legacy), 1):
        # the open incidents naming it (its state lists them) and its newest
        named = archive.get_many(states[system.slug].incidents)
        named += archive.latest_of(system.slug, 1)
        status = component_status(states[system.slug])
        found.append(Component(system.slug, status, position, last_change(named, now)))
    return tuple(found)


def _by_start(listed: Listed) -> tuple[datetime, str]:
    window = listed.incident.window
    assert window is not None
    return (window.start_at, listed.incident.key)


def _maintenances(incidents: Iterable[Incident], now: datetime) -> list[Listed]:
    return [Listed(i, maintenance_status(i, now)) for i in incidents if is_maintenance(i)]


def view_of(
    doc: StatuspageApi,
    archive: Archive,
    catalogue: Catalogue,
    now: datetime,
    known: bool,
    comps: tuple[Component, ...] | None = None,
) -> View:
    """What ``doc`` shows at ``now`` (``known``: whether toldfeed can tell the state now;
    ``comps``: the ``components`` at ``now``, when the caller has them)."""
    part = doc.part
    comps = components(archive, catalogue, now) if comps is None else comps
    opened = archive.open_incidents()
    incidents: list[Incident] = []
    if part is StatuspagePart.INCIDENTS:
        incidents = archive.latest_of_kind(Kind.DISRUPTION, LIMIT)
    elif part in {StatuspagePart.UNRESOLVED, StatuspagePart.SUMMARY}:
        incidents = [i for i in opened if is_disruption(i)]
    maintenances: list[Listed] = []
    if part is StatuspagePart.MAINTENANCES:
        maintenances = _maintenances(archive.windows(LIMIT, kind=Kind.SCHEDULED), now)
    elif part in _WANTED:
        chosen = [m for m in _maintenances(opened, now) if m.status in _WANTED[part]]
        maintenances = sorted(chosen, key=_by_start)  # the soonest first
    return View(
        part,
        now,
        max(last_change(opened, now) or archive.latest, archive.latest),
        indicator_of(comps),
        comps,
        tuple(Listed(i, incident_status(i)) for i in incidents),
        tuple(maintenances),
        known,
    )


# which maintenances the parts that list open ones show
_WANTED = {
    StatuspagePart.UPCOMING: {MaintenanceStatus.SCHEDULED},
    StatuspagePart.ACTIVE: {MaintenanceStatus.IN_PROGRESS},
    StatuspagePart.SUMMARY: {MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS},
}
