"""The Statuspage-compatible API (``/api/v2/...``) as JSON: a ``View`` in, bytes out. Pure.

Every field Atlassian Statuspage's Status API v2 gives for a page, its status, components,
incidents, their updates and scheduled maintenances is present, ``null`` where toldfeed has no
value; what each one is made from is in docs/statuspage.md. Times are ISO 8601 in UTC, in the
same form as /api/incidents.json. ``StatuspageRenderer`` renders a part again only when the
digest of what it shows moved.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime

from app import jsonio
from app.catalogue import Catalogue
from app.model import Incident, Lang, public_key
from app.render.entry import timeline
from app.render.i18n import word
from app.render.inputs import digest
from app.render.per_version import PerVersion
from app.site.archive import Archive
from app.site.documents import IncidentPage, StatuspageApi, StatuspagePart
from app.site.horizon import ends_horizon
from app.site.statuspage import (
    LIMIT,
    Component,
    IncidentStatus,
    Listed,
    MaintenanceStatus,
    View,
    components,
    view_of,
)
from app.site.urls import Urls
from app.store.codec import encode_time
from app.store.rendered import Document, PageContext

PAGE_ID = "toldfeed"
TIME_ZONE = "Europe/Copenhagen"
Json = dict[str, object]


def _component(component: Component, catalogue: Catalogue, lang: Lang) -> Json:
    system = catalogue.get(component.slug)
    assert system is not None  # components are made from the catalogue
    return {
        "id": component.slug,
        "name": system.name_in(lang),
        "status": component.status.value,
        "created_at": None,
        "updated_at": encode_time(component.updated_at),
        "position": component.position,
        "description": None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": PAGE_ID,
        "group": False,
        "only_show_if_degraded": False,
    }


def _update_status(listed: Listed, at: datetime) -> str:
    """What an update line's status was when it was written (as far as is known)."""
    window = listed.incident.window
    if not listed.maintenance or window is None:
        return IncidentStatus.INVESTIGATING.value
    if at < window.start_at:
        return MaintenanceStatus.SCHEDULED.value
    return MaintenanceStatus.IN_PROGRESS.value


def _updates(listed: Listed, lang: Lang) -> list[Json]:
    """The timeline newest first, ending with the message the incident was created with; the
    newest update has the incident's status now."""
    incident = listed.incident
    lines = [(u.sort_at or incident.published_at, u.text) for u in timeline(incident, lang)]
    message = incident.message_text.get(lang) or next(iter(incident.message_text.values()), "")
    lines.append((incident.published_at, message or incident.title_in(lang)))
    key = public_key(incident.key)
    updates: list[Json] = []
    for n, (at, body) in enumerate(lines):
        seed = f"{incident.key}\0{lang}\0{at.isoformat()}\0{body}".encode()
        stamp = encode_time(at)
        updates.append(
            {
                "id": hashlib.blake2b(seed, digest_size=6).hexdigest(),
                "status": listed.status.value if n == 0 else _update_status(listed, at),
                "body": body,
                "incident_id": key,
                "created_at": stamp,
                "updated_at": stamp,
                "display_at": stamp,
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        )
    return updates


def _resolved_at(listed: Listed, now: datetime) -> datetime | None:
    """When a resolved incident or a completed maintenance ended: its closing, else the planned
    end it passed, else its last change (a cancelled window)."""
    incident = listed.incident
    if listed.status not in {IncidentStatus.RESOLVED, MaintenanceStatus.COMPLETED}:
        return None
    if incident.closed_at is not None:
        return incident.closed_at
    end = incident.window.end_at if incident.window is not None else None
    return end if end is not None and end <= now else incident.updated_at


def _incident(
    listed: Listed, view: View, components: dict[str, Json], lang: Lang, urls: Urls
) -> Json:
    incident: Incident = listed.incident
    body: Json = {
        "id": public_key(incident.key),
        "name": incident.title_in(lang),
        "status": listed.status.value,
        "created_at": encode_time(incident.published_at),
        "updated_at": encode_time(incident.updated_at),
        "monitoring_at": None,
        "resolved_at": encode_time(_resolved_at(listed, view.now)),
        "impact": "maintenance" if listed.maintenance else "minor",
        "shortlink": urls.url(IncidentPage(lang, incident.key)),
        "started_at": encode_time(incident.published_at),
        "page_id": PAGE_ID,
        "incident_updates": _updates(listed, lang),
        "components": [components[s] for s in dict.fromkeys(incident.systems) if s in components],
    }
    if listed.maintenance and incident.window is not None:
        body["scheduled_for"] = encode_time(incident.window.start_at)
        body["scheduled_until"] = encode_time(incident.window.end_at)
    return body


def _status(view: View, lang: Lang) -> Json:
    description = word(lang, f"statuspage_{view.indicator.value}")
    if not view.known:
        description = word(lang, "statuspage_unknown", last=description)
    return {"indicator": view.indicator.value, "description": description}


def render_statuspage(view: View, catalogue: Catalogue, lang: Lang, urls: Urls) -> bytes:
    """One part of the API as JSON: the page, then what the part lists."""
    components = {c.slug: _component(c, catalogue, lang) for c in view.components}
    page = {
        "id": PAGE_ID,
        "name": word(lang, "statuspage_name"),
        "url": urls.base,
        "time_zone": TIME_ZONE,
        "updated_at": encode_time(view.updated_at),
    }
    doc: Json = {"page": page}
    part = view.part
    if part in {StatuspagePart.SUMMARY, StatuspagePart.COMPONENTS}:
        doc["components"] = list(components.values())
    if part in {StatuspagePart.SUMMARY, StatuspagePart.INCIDENTS, StatuspagePart.UNRESOLVED}:
        doc["incidents"] = [_incident(x, view, components, lang, urls) for x in view.incidents]
    if part in _LISTS_MAINTENANCES:
        doc["scheduled_maintenances"] = [
            _incident(x, view, components, lang, urls) for x in view.maintenances
        ]
    if part in {StatuspagePart.SUMMARY, StatuspagePart.STATUS}:
        doc["status"] = _status(view, lang)
    return jsonio.dumps(doc)


_LISTS_MAINTENANCES = {
    StatuspagePart.SUMMARY,
    StatuspagePart.MAINTENANCES,
    StatuspagePart.UPCOMING,
    StatuspagePart.ACTIVE,
}


class StatuspageRenderer:
    """Renders the parts of the API, each again only when what it shows changed."""

    def __init__(self, catalogue: Catalogue, urls: Urls, content_type: str) -> None:
        self.catalogue = catalogue
        self.urls = urls
        self.content_type = content_type
        self._kept: dict[StatuspageApi, tuple[str, Document]] = {}
        # per part, the view and its digest for (archive serial, moment, state known): a
        # publish asks for the inputs and then, when they moved, the document
        self._shown: dict[StatuspageApi, tuple[tuple[int, datetime, bool], View, str]] = {}
        self._versions: PerVersion[str, str] = PerVersion(4 * LIMIT)
        # the components every part shows, for the last (archive serial, moment)
        self._components: tuple[tuple[int, datetime], tuple[Component, ...]] | None = None
        self._lock = threading.Lock()  # web workers render from several threads

    def _view(self, doc: StatuspageApi, archive: Archive, ctx: PageContext) -> tuple[View, str]:
        """What ``doc`` shows now, and its digest (made once per archive version and moment)."""
        now = ctx.refreshed_at or archive.latest
        at = (archive.serial, now, ctx.state_known)
        with self._lock:
            shown = self._shown.get(doc)
        if shown is not None and shown[0] == at:
            return shown[1], shown[2]
        with self._lock:
            kept = self._components
        if kept is None or kept[0] != at[:2]:
            kept = (at[:2], components(archive, self.catalogue, now))
            with self._lock:
                self._components = kept
        view = view_of(doc, archive, self.catalogue, now, ctx.state_known, kept[1])
        said = self._digest(doc, view)
        with self._lock:
            self._shown[doc] = (at, view, said)
        return view, said

    def _version(self, incident: Incident) -> str:
        """A digest of everything in ``incident`` (a text can change while its ``updated_at``
        stays), made once per version in this process and the same in any."""
        return self._versions.get(
            incident.key,
            incident,
            lambda: digest(incident),
        )

    def _digest(self, doc: StatuspageApi, view: View) -> str:
        """Everything ``doc``'s bytes depend on: the part, its view (the listed incidents by
        version) and the base URL of its links."""
        listed = [
            (x.incident.key, self._version(x.incident), x.status, _resolved_at(x, view.now))
            for x in view.all_listed
        ]
        shown = (view.updated_at, view.indicator, view.components, listed, view.known)
        return digest((doc, shown, self.urls.base))

    def inputs(self, doc: StatuspageApi, archive: Archive, ctx: PageContext) -> str:
        """A digest of everything ``doc`` shows (the same in any process)."""
        return self._view(doc, archive, ctx)[1]

    def horizon(self, doc: StatuspageApi, archive: Archive, ctx: PageContext) -> datetime:
        """Up to when time alone leaves ``inputs`` as they are now (``app.site.horizon``): the
        states' next moment, or a listed incident's planned end (it says when it ended)."""
        view = self._view(doc, archive, ctx)[0]
        ends = ends_horizon((x.incident for x in view.all_listed), view.now)
        states = archive.states_horizon(view.now)
        return states if ends is None else min(states, ends)

    def render(self, doc: StatuspageApi, archive: Archive, ctx: PageContext) -> Document:
        """``doc`` as a document; the one made last time when it shows the same."""
        view, key = self._view(doc, archive, ctx)
        with self._lock:
            kept = self._kept.get(doc)
        if kept is not None and kept[0] == key:
            return kept[1]
        body = render_statuspage(view, self.catalogue, doc.lang, self.urls)
        document = Document.of(body, self.content_type, view.updated_at)
        with self._lock:
            self._kept[doc] = (key, document)
        return document
