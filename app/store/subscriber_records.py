"""Records of self-service e-mail subscriptions (``app.notify.signup``): frozen, no I/O; JSON
forms in ``app.store.subscriber_codec``.

    Interest         what a subscriber wants to be told (changes by kind, reminders, digest)
    Choices          one subscriber's systems, interests and language: a recipient's filters
    Subscription     one address: what it gets now, what it asked for, the mails it was sent
    FanOutProgress   how far one outbox notification has gone out to the subscribers

Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.model import Incident, Kind, Lang


class Interest(StrEnum):
    """What a subscriber may ask to be told (the form's "what" checkboxes)."""

    DISRUPTIONS = "disruptions"  # changes of disruptions
    WINDOWS = "windows"  # changes of service windows
    REMIND_24H = "remind-24h"  # a reminder 24 hours before a window's planned start
    REMIND_1H = "remind-1h"  # a reminder 1 hour before it
    DIGEST = "digest"  # the daily digest


# the reminders' leads in seconds, by interest
LEAD_SECONDS = {Interest.REMIND_24H: 86400, Interest.REMIND_1H: 3600}
_CHANGES = {Kind.DISRUPTION: Interest.DISRUPTIONS, Kind.SCHEDULED: Interest.WINDOWS}
DEFAULT_INTERESTS = frozenset({Interest.DISRUPTIONS, Interest.WINDOWS})


@dataclass(frozen=True, slots=True)
class Choices:
    """What one subscriber gets: a recipient's filters, as a target's are.

    ``systems`` empty means every system, those added to the catalogue later too (what a
    subscriber who left every box ticked asked for).
    """

    systems: frozenset[str] = frozenset()
    interests: frozenset[Interest] = DEFAULT_INTERESTS
    lang: Lang = Lang.EN

    def names(self, incident: Incident) -> bool:
        """True when ``incident`` names one of the chosen systems."""
        return not self.systems or bool(self.systems & set(incident.systems))

    def wants(self, incident: Incident) -> bool:
        """True when a change of ``incident`` is news to this subscriber (its kind and systems)."""
        return _CHANGES[incident.kind] in self.interests and self.names(incident)

    @property
    def leads(self) -> tuple[int, ...]:
        """The reminders asked for, as leads in seconds (longest first)."""
        return tuple(
            sorted((s for i, s in LEAD_SECONDS.items() if i in self.interests), reverse=True)
        )

    @property
    def digest(self) -> bool:
        """True when the daily digest is asked for."""
        return Interest.DIGEST in self.interests


@dataclass(frozen=True, slots=True)
class Subscription:
    """One address and what it gets.

    ``id`` is derived from the address (``app.store.subscribers``), so a second sign-up finds
    the first; ``nonce`` is new with each subscription, so the links of a deleted one never
    work for a later one of the same address. ``choices`` is None until the address confirmed;
    ``requested`` is what the last sign-up asked for, until confirmed (or 48 h passed).
    """

    id: str
    address: str
    nonce: str
    created_at: datetime
    choices: Choices | None = None
    confirmed_at: datetime | None = None
    requested: Choices | None = None
    requested_at: datetime | None = None
    mails_at: tuple[datetime, ...] = ()  # confirmation mails sent (the last 24 hours')

    @property
    def confirmed(self) -> bool:
        """True once the address confirmed (it gets mail)."""
        return self.choices is not None

    @property
    def lang(self) -> Lang:
        """The language of its mails and pages: as chosen, else as asked for."""
        chosen = self.choices or self.requested
        return chosen.lang if chosen else Lang.EN


@dataclass(frozen=True, slots=True)
class RecipientRetry:
    """One subscriber whose mail of a fan-out failed for a reason that may pass."""

    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass(frozen=True, slots=True)
class FanOutProgress:
    """How far the fan-out of one outbox notification has got.

    Subscribers are taken in id order: ``cursor`` is the last id handled (sent, refused or put
    among the ``retries``); ``swept`` once every subscriber was handled once. The figures count
    mails.
    """

    cursor: str = ""
    swept: bool = False
    retries: Mapping[str, RecipientRetry] = field(default_factory=dict)
    delivered: int = 0
    failed: int = 0
    given_up: int = 0
