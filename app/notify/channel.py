"""What one send to a target answered, and the HTTP POST shared by teams, slack and webhook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import FetchError
from app.fetch import Poster


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's outcome: ``said`` is what the target answered, in one line."""

    ok: bool
    said: str
    retry_after: float | None = None


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
