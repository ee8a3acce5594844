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


_SECTION_CHARS = 3000  # Slack's limit for a section's text


def _sections(message: Message) -> list[dict[str, Any]]:
    """A digest's lists: one section block each, a line per item linking to its page."""
    blocks: list[dict[str, Any]] = []
    for section in message.sections:
        text = f"*{escape(section.title)}*"
        lines = [
            f"• <{i.link}|{escape(i.text)}>" + (f" ({escape(i.detail)})" if i.detail else "")
            for i in section.items
        ] or [escape(section.none)]
        for n, line in enumerate(lines):
            more = f"\n… +{len(lines) - n}"
            if len(text) + len(line) + len(more) + 1 > _SECTION_CHARS:
                text += more
                break
            text += f"\n{line}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks


def payload(message: Message) -> dict[str, Any]:
    """The webhook body."""
    fields = [
        {"type": "mrkdwn", "text": f"*{escape(label)}*\n{escape(value)}"}
        for label, value in message.facts
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.headline[:150]}},
    ]
    if message.summary:
        summary = escape(message.summary)[:_SECTION_CHARS]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    notes = [line for line in (message.window, message.fallback) if line]
    if notes:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(line)} for line in notes],
            }
        )
    if message.latest:
        latest = f"*{escape(message.labels['latest'])}:* {escape(message.latest)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": latest[:3000]}})
    blocks += _sections(message)
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {
                        "type": "plain_text",
                        "text": message.button or message.labels["related"],
                    },
                    "url": message.link,
                }
            ],
        }
    )
    text = message.headline
    if message.state:  # a change: its state and systems too
        text += f" ({message.state}; {message.systems})"
    return {"text": escape(text), "blocks": blocks}


class Slack(HttpChannel):
    """An incoming webhook; Slack asks for at most one message a second per webhook."""

    kind: ClassVar[ChannelKind] = ChannelKind.SLACK
    pace_seconds: ClassVar[float] = 1.0

    def send(self, out: Outgoing) -> Answer:
        """Post to the target's incoming-webhook URL (Slack answers 200 ``ok``)."""
        return post_json(self.poster, out.target.url, payload(out.message), out.timeout)
