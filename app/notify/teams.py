"""Microsoft Teams through a Workflows webhook: one message with one Adaptive Card.

The Workflows template "Post to a channel when a webhook request is received" posts each
attachment of type ``application/vnd.microsoft.card.adaptive`` as a card. It answers 202.

A TextBlock's text, and in Teams a fact's value, is Markdown: upstream text put there as it is
would become markup, ``[Verify account](http://evil.example/phish)`` a live link posted by the
organisation's own workflow. Every text on the card goes through ``escape``, so it reads as
the text it is.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from app.notify.channel import Answer, HttpChannel, Outgoing, post_json
from app.notify.message import Message
from app.notify.targets import ChannelKind

CARD = "application/vnd.microsoft.card.adaptive"

# Characters that start inline markup wherever they stand: links and images ([ ] ( ), both
# sides, so that a renderer that ignored the backslashes would still find no "](" to link),
# emphasis and code (* _ `), autolinks and HTML (< >), and the backslash itself.
_INLINE = re.compile(r"([\\`*_\[\]()<>])")
# Characters that start a block only at the start of a line: headings, quotes, lists, rules,
# setext underlines, numbered lists ("1." here; the ")" of "1)" is escaped anywhere). Escaped
# there only, so "13:05 - fixed." keeps no backslash that a renderer might show.
_LINE_START = re.compile(r"^([ \t]*)(?:([#>+\-=])|(\d+)\.)", re.MULTILINE)


def escape(text: str) -> str:
    """``text`` as Adaptive Card Markdown that renders as exactly that text, never as markup."""
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\.", text)


def _text(text: str, **style: Any) -> dict[str, Any]:
    """A TextBlock showing ``text`` (Markdown) as it is written."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _sections(message: Message) -> list[dict[str, Any]]:
    """A digest's lists: a bold title, then a line per item linking to its page (a link of
    toldfeed's own; the text beside it is escaped)."""
    body: list[dict[str, Any]] = []
    for section in message.sections:
        body.append(_text(f"**{escape(section.title)}**", spacing="Medium"))
        lines = [
            f"- [{escape(i.text)}]({i.link})" + (f"  \n{escape(i.detail)}" if i.detail else "")
            for i in section.items
        ]
        body.append(_text("\n".join(lines) if lines else escape(section.none), spacing="Small"))
    return body


def payload(message: Message) -> dict[str, Any]:
    """The webhook body: one Adaptive Card (1.4, what Teams renders)."""
    facts = [{"title": escape(label), "value": escape(value)} for label, value in message.facts]
    body: list[dict[str, Any]] = [_text(escape(message.headline), size="Medium", weight="Bolder")]
    if message.summary:
        body.append(_text(escape(message.summary)))
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    body += [
        _text(escape(line), spacing="Small") for line in (message.window, message.fallback) if line
    ]
    if message.latest:
        body.append(_text(f"**{escape(message.labels['latest'])}:** {escape(message.latest)}"))
    body += _sections(message)
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": message.button or message.labels["related"],
                "url": message.link,
            }
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
