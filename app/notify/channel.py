"""A channel: one way of telling a target (``Channel``, the protocol every channel class
satisfies), what it is given (``Outgoing``) and what it answers (``Answer``), and the HTTP POST
shared by teams, slack and webhook.

A new channel is one class with ``kind``, ``pace_seconds`` and ``send``, one row in
``app.notify.registry`` and one word in ``ChannelKind``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from app.errors import FetchError
from app.fetch.poster import Poster
from app.notify.message import Message
from app.notify.targets import ChannelKind, Target
from app.store.records import Notification


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's outcome: ``said`` is what the target answered, in one line."""

    ok: bool
    said: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One attempt to tell one target about one change: the change (``note``), in the target's
    words (``message``), at ``now``, within ``timeout`` seconds."""

    target: Target
    note: Notification
    message: Message
    now: datetime
    timeout: float


class Channel(Protocol):
    """One way of telling a target. ``send`` records nothing and never raises: what the
    target answered (or why nothing was sent) is the ``Answer``."""

    kind: ClassVar[ChannelKind]
    pace_seconds: ClassVar[float]  # at least this long between two sends to one target

    def send(self, out: Outgoing) -> Answer:
        """Tell ``out.target`` about ``out.note`` once."""
        ...


class HttpChannel:
    """A channel that POSTs JSON with the process's notification client."""

    def __init__(self, poster: Poster) -> None:
        self.poster = poster


def post_json(
    poster: Poster,
    url: str,
    payload: Any,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST ``payload`` as JSON; any 2xx is success."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return post_body(poster, url, body, timeout, headers)


def post_body(
    poster: Poster,
    url: str,
    body: bytes,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST JSON ``body`` bytes as they are (a signature covers exactly these bytes)."""
    sent = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    try:
        answer = poster.post(url, body, sent, timeout=timeout)
    except FetchError as e:
        return Answer(False, e.reason)
    said = f"HTTP {answer.status} {answer.reason}".rstrip()
    text = " ".join(answer.body.split())
    if text:
        said += f": {text[:200]}"
    return Answer(answer.ok, said, answer.retry_after)
