"""Slack through an incoming webhook: ``text`` (notifications, screen readers) plus ``blocks``.

Slack allows about one message a second per webhook: the channel's ``pace_seconds``, which
the deliverer keeps across processes; it honours the ``Retry-After`` of a 429 too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from app.notify.channel import Answer, HttpChannel, Outgoing, post_json
from app.notify.message import Message
from app.notify.targets import ChannelKind


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > are special."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(message: Message) -> dict[str, Any]:
    """The webhook body."""
    fields = [
        {"type": "mrkdwn", "text": f"*{escape(label)}*\n{escape(value)}"}
        for label, value in message.facts
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.headline[:150]}},
        {"type": "section", "fields": fields[:10]},
    ]
    notes = [line for line in (message.window, message.fallback) if line]
    if notes:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(line)} for line in notes],
            }
        )
    blocks += [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{escape(message.labels['latest'])}:* {escape(message.latest)}"[:3000],
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": message.labels["related"]},
                    "url": message.link,
                }
            ],
        },
    ]
    text = f"{message.headline} ({message.state}; {message.systems})"
    return {"text": escape(text), "blocks": blocks}


class Slack(HttpChannel):
    """An incoming webhook; Slack asks for at most one message a second per webhook."""

    kind: ClassVar[ChannelKind] = ChannelKind.SLACK
    pace_seconds: ClassVar[float] = 1.0

    def send(self, out: Outgoing) -> Answer:
        """Post to the target's incoming-webhook URL (Slack answers 200 ``ok``)."""
        return post_json(self.poster, out.target.url, payload(out.message), out.timeout)
