"""A generic webhook, signed per the Standard Webhooks spec (the only importer of
standardwebhooks).

Body: ``{"type", "timestamp", "data"}``. For ``incident.created`` and ``incident.updated``
``data`` is the incident as in /api/incidents.json and ``timestamp`` when it changed; for
``window.reminder``, ``window.started`` and ``window.overrun`` it is the incident too (plus
``lead_seconds`` for a reminder) and ``timestamp`` the moment it is about; for ``digest``
``data`` is ``{"date", "open", "windows", "closed"}`` (lists of incidents). ``toldfeed
notify-test`` sends ``"type": "test"`` (with a made-up incident, ``sample`` naming the type it
shows), which a receiver must not take for an incident. Headers: ``webhook-id`` (the
notification id, the same on every attempt), ``webhook-timestamp`` (this attempt, Unix
seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from standardwebhooks.webhooks import Webhook

from app.fetch.poster import Poster
from app.notify.channel import Answer, HttpChannel, Outgoing, post_body
from app.notify.outbox import TEST
from app.notify.targets import ChannelKind, Target
from app.render.pages import api_incident
from app.store.records import Notification


def payload(note: Notification) -> dict[str, Any]:
    """The event: its type, when it happened, and the incident (or the digest)."""
    data: dict[str, Any]
    if note.digest is not None:
        digest = note.digest
        data = {
            "date": digest.day.isoformat(),
            "open": [api_incident(i) for i in digest.open],
            "windows": [api_incident(i) for i in digest.windows],
            "closed": [api_incident(i) for i in digest.closed],
        }
        at = digest.taken_at
    else:
        assert note.incident is not None
        data = api_incident(note.incident)
        at = note.incident.updated_at
    if note.timing is not None:
        at = note.timing.at
        if note.timing.lead_seconds is not None:
            data["lead_seconds"] = note.timing.lead_seconds
    event = {"type": TEST if note.test else note.event, "timestamp": at.isoformat(), "data": data}
    if note.test:
        event["sample"] = note.event  # the type this sample shows
    return event


def signed(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``at``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


class SignedWebhook(HttpChannel):
    """Any HTTP endpoint: the incident as JSON, signed per the Standard Webhooks spec."""

    kind: ClassVar[ChannelKind] = ChannelKind.WEBHOOK
    pace_seconds: ClassVar[float] = 0.0

    def send(self, out: Outgoing) -> Answer:
        """Post the signed event to the target's URL."""
        return _send(out.target, out.note, self.poster, out.timeout, out.now)


def _send(
    target: Target, note: Notification, poster: Poster, timeout: float, now: datetime
) -> Answer:
    """Post the signed event to the target's URL."""
    body = json.dumps(payload(note), ensure_ascii=False, separators=(",", ":"))
    headers = signed(target.secret, note.id, now, body)
    return post_body(poster, target.url, body.encode("utf-8"), timeout, headers)
