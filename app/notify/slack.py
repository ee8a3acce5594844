"""Slack through an incoming webhook: ``text`` (notifications, screen readers) plus ``blocks``.

Slack allows about one message a second per webhook; the deliverer spaces them
(``Deliverer.slack_interval``) and honours the ``Retry-After`` of a 429.
"""

from __future__ import annotations

from typing import Any

from app.fetch import Poster
from app.notify.channel import Answer, post_json
from app.notify.message import Message
from app.notify.targets import Target


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


def send(target: Target, message: Message, poster: Poster, timeout: float) -> Answer:
    """Post to the target's incoming-webhook URL (Slack answers 200 ``ok``)."""
    return post_json(poster, target.url, payload(message), timeout)
