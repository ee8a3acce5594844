"""Records that flow through toldfeed: frozen, slotted, no I/O.

Every datetime here is timezone-aware UTC. Upstream local times are converted at the parsing
edge (``app.upstream.dates``) and never travel further as naive values. What an incident is
and what the archive's indexes know of it are here; a system's figures (its strip, months and
time to close) are in ``app.model.figures``, named here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.model.figures import CloseStats as CloseStats
from app.model.figures import DayCell as DayCell
from app.model.figures import Figures as Figures
from app.model.figures import MonthStats as MonthStats
from app.model.figures import State as State


class Status(StrEnum):
    """Normalized status of a message or incident."""

    CURRENT = "current"
    SCHEDULED = "scheduled"
    CLOSED = "closed"


class Kind(StrEnum):
    """What a message is about: an unplanned disruption or a planned service window."""

    DISRUPTION = "disruption"
    SCHEDULED = "scheduled"


class SourceKind(StrEnum):
    """The one vocabulary of upstream documents: the RSS feed, a list page (in any of its
    forms), a message's detail page. The sources file names the first two (``kind = "page"``);
    an observation says which one it was read from."""

    RSS = "rss"
    PAGE = "page"
    DETAIL = "detail"

    @classmethod
    def _missing_(cls, value: object) -> SourceKind | None:
        # observations stored before the vocabulary was one said "list" for a list page
        return cls.PAGE if value == "list" else None


class Lang(StrEnum):
    """Languages toldfeed reads and publishes."""

    EN = "en"
    DA = "da"


@dataclass(frozen=True, slots=True)
class Update:
    """One progress line of a message.

    ``at`` is the time the line itself names (None when it names none); ``seen_at`` is the
    upstream time of the first version that carried it, used for ordering when ``at`` is None.
    """

    text: str
    lang: Lang
    at: datetime | None = None
    seen_at: datetime | None = None

    @property
    def sort_at(self) -> datetime | None:
        """The best time known for ordering this update."""
        return self.at or self.seen_at


@dataclass(frozen=True, slots=True)
class Version:
    """One earlier text of a message from a detail page's version history."""

    at: datetime
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Observation:
    """What one source said about one message (one oid) at one moment.

    A list row, an RSS item and a detail page each give one observation. ``observed_at`` is
    when toldfeed first saw this content and ``last_seen_at`` when it last read it (None: only
    then); every other field is upstream data.
    """

    oid: int
    lang: Lang
    source_kind: SourceKind
    observed_at: datetime
    link: str = ""
    title: str = ""
    ref: str | None = None
    refs: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    unknown_systems: tuple[str, ...] = ()
    status: Status | None = None
    kind: Kind | None = None
    created_at: datetime | None = None
    last_updated_at: datetime | None = None
    message_html: str = ""
    message_text: str = ""
    updates: tuple[Update, ...] = ()
    versions: tuple[Version, ...] = ()
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A service window's planned times (UTC), as read from an incident's title and text.

    ``end`` is None when the text names a start but no readable end. ``sequence`` counts how
    often the times changed after they were first read (an extension, a reschedule): it is the
    iCalendar ``SEQUENCE``. ``cancelled`` is set when a line calls the window cancelled.
    """

    start_at: datetime
    end_at: datetime | None = None
    cancelled: bool = False
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class Fallback:
    """The latest statement about the fallback (emergency) procedure.

    ``allowed`` is True only for an explicit permission; a restriction ("only if absolutely
    necessary") or a withdrawal ("no longer allowed") is False. ``since_at`` is when the
    statement was made, as far as is known.
    """

    allowed: bool
    since_at: datetime | None = None
    restricted: bool = False  # "only if absolutely necessary": not allowed, but not ruled out


@dataclass(frozen=True, slots=True)
class Message:
    """An earlier message of an incident: another oid sharing its reference, in one language.

    The newest message's text is the incident's own (``Incident.message_html``); what the
    earlier ones said is kept here so that nothing the agency said is lost from the entry.
    """

    oid: int
    lang: Lang
    title: str
    html: str
    link: str
    at: datetime | None = None


def public_key(key: str) -> str:
    """An incident key as users see it, in URLs and every document alike: the reference, or
    ``oid-<n>`` (stored as ``oid:<n>``; both are accepted wherever a key is read)."""
    return key.replace(":", "-", 1) if key.startswith("oid:") else key


@dataclass(frozen=True, slots=True)
class Incident:
    """One published entry: every message sharing a reference (or one oid) merged.

    Text fields are per language (``title["en"]``); ``updated_at`` moves only on a real change.
    """

    key: str
    refs: tuple[str, ...]
    oids: tuple[int, ...]
    oid: int
    links: dict[str, str]
    title: dict[str, str]
    message_html: dict[str, str]
    message_text: dict[str, str]
    systems: tuple[str, ...]
    unknown_systems: tuple[str, ...]
    status: Status
    kind: Kind
    published_at: datetime
    updated_at: datetime
    upstream_updated_at: datetime
    updates: tuple[Update, ...] = field(default_factory=tuple)
    window: Window | None = None
    fallback: Fallback | None = None
    closed_at: datetime | None = None
    earlier: tuple[Message, ...] = ()  # newest first

    @property
    def ref(self) -> str | None:
        """The reference the incident is keyed by, or None for an oid-keyed message."""
        return None if self.key.startswith("oid:") else self.key

    def title_in(self, lang: Lang) -> str:
        """The title in ``lang``, falling back to the other language."""
        return self.title.get(lang) or next(iter(self.title.values()), "")

    def earlier_in(self, lang: Lang) -> list[Message]:
        """Earlier messages in ``lang``; for an oid with none in ``lang``, its other language."""
        mine = {m.oid for m in self.earlier if m.lang is lang}
        return [m for m in self.earlier if m.lang is lang or m.oid not in mine]

    def link_in(self, lang: Lang) -> str:
        """The official detail page in ``lang``, falling back to the other language."""
        return self.links.get(lang) or next(iter(self.links.values()), "")


@dataclass(frozen=True, slots=True)
class Head:
    """What the archive's indexes know of an incident: enough to place it in every feed,
    history and figure, and to tell which documents show it, without its texts and timeline.

    The store keeps one per incident (``app.store.heads``); ``head_of`` makes it.
    """

    key: str
    systems: tuple[str, ...]
    status: Status
    kind: Kind
    published_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    window: Window | None = None


Marked = tuple[str, int]
"""An incident's key and mark (32 bits that change with every version of it)."""


@dataclass(frozen=True, slots=True)
class SystemContents:
    """What a system's figures depend on besides time: how many incidents name it, the sum
    of their marks, how far into time the closed ones reach (the latest), how many are open."""

    count: int = 0
    marks: int = 0
    latest_reach: datetime | None = None
    opened: int = 0


def head_of(incident: Incident) -> Head:
    """The head of ``incident``."""
    return Head(
        incident.key,
        incident.systems,
        incident.status,
        incident.kind,
        incident.published_at,
        incident.updated_at,
        incident.closed_at,
        incident.window,
    )


def reach(incident: Incident | Head) -> datetime | None:
    """The latest instant any interval of ``incident`` can end at; None while it is open.

    An open incident's intervals run up to now. Past its reach, an incident's figures no
    longer change with time (``app.site.stats``).
    """
    if incident.status is not Status.CLOSED:
        return None
    ended = max(incident.closed_at or incident.updated_at, incident.published_at)
    times = [incident.published_at, ended]
    if incident.window is not None:
        times.append(incident.window.start_at)
        if incident.window.end_at is not None:
            times.append(incident.window.end_at)
    return max(times)


def close_duration(incident: Incident | Head) -> timedelta | None:
    """How long a closed disruption stayed open; None for anything else."""
    if (
        incident.kind is not Kind.DISRUPTION
        or incident.status is not Status.CLOSED
        or incident.closed_at is None
    ):
        return None
    return max(incident.closed_at - incident.published_at, timedelta(0))
