"""Microsoft Teams through a Workflows webhook: one message with one Adaptive Card.

The Workflows template "Post to a channel when a webhook request is received" posts each
attachment of type ``application/vnd.microsoft.card.adaptive`` as a card. It answers 202.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.notify.channel import Answer, HttpChannel, Outgoing, post_json
from app.notify.message import Message
from app.notify.targets import ChannelKind

CARD = "application/vnd.microsoft.card.adaptive"


def payload(message: Message) -> dict[str, Any]:
    """The webhook body: one Adaptive Card (1.4, what Teams renders)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.headline,
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": value} for label, value in message.facts],
        },
    ]
    body += [
        {"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
        for line in (message.window, message.fallback)
        if line
    ]
    body.append(
        {
            "type": "TextBlock",
            "text": f"**{message.labels['latest']}:** {message.latest}",
            "wrap": True,
        }
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": message.labels["related"], "url": message.link}
        ],
    }
    return {
        "type": "message",
        "summary": message.headline,
        "attachments": [{"contentType": CARD, "contentUrl": None, "content": card}],
    }


class Teams(HttpChannel):
    """A Workflows webhook (it answers 202)."""

    kind: ClassVar[ChannelKind] = ChannelKind.TEAMS
    pace_seconds: ClassVar[float] = 0.0

    def send(self, out: Outgoing) -> Answer:
        """Post the card to the target's URL."""
        return post_json(self.poster, out.target.url, payload(out.message), out.timeout)
