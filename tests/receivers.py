"""Local receivers of notifications, shared by the tests of push notifications: an HTTP
receiver on 127.0.0.1 (pytest-httpserver) that records every request and answers as told
(200 by default, any status, or hanging until released), and an SMTP server (aiosmtpd)
keeping every message. The fixtures are registered in ``conftest.py``.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

WAIT = 10.0  # seconds; only reached when something is broken


@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP receiver: records every request; ``answers[path]`` are used in turn (then
    200). An answer of None hangs until ``release`` is set."""

    server: HTTPServer
    hits: list[Hit] = field(default_factory=list)
    answers: dict[str, list[Response | None]] = field(default_factory=dict)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def handle(self, request: Request) -> Response:
        self.hits.append(
            Hit(request.path, dict(request.headers), request.get_data(), time.monotonic())
        )
        queue = self.answers.get(request.path, [])
        answer = queue.pop(0) if queue else Response("ok", status=200)
        self.arrived.set()
        if answer is None:
            self.release.wait(WAIT)
            return Response("late", status=200)
        return answer

    def to(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


class LocalServer(HTTPServer):
    """pytest-httpserver's server, stopping within 50 ms (its own stop() waits up to 0.5 s;
    tests also stop it to refuse connections)."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)  # stop() waits up to one interval


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[HTTPServer]:
    server = LocalServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def receiver(receiver_server: HTTPServer) -> Iterator[Receiver]:
    r = Receiver(receiver_server)
    receiver_server.clear_all_handlers()
    receiver_server.expect_request(re.compile(".*")).respond_with_handler(r.handle)
    yield r
    r.release.set()  # let hung answers finish


class Inbox:
    """aiosmtpd handler keeping every message it accepts: as it came over the wire (``raw``),
    parsed when first read (``messages``: parsing is most of a local SMTP server's work, and
    many tests read few of the messages they cause), and to whom the server delivered each
    (``delivered``: the envelope's recipients)."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.delivered: list[tuple[str, ...]] = []
        self._parsed: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.raw.append(envelope.content)
            self.delivered.append(tuple(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message accepted so far, parsed (a copy: ``clear`` forgets them)."""
        with self._lock:
            for content in self.raw[len(self._parsed) :]:
                parsed = email.message_from_bytes(content, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                self._parsed.append(parsed)
            return list(self._parsed)

    def clear(self) -> None:
        """Forget every message accepted so far."""
        with self._lock:
            self.raw.clear()
            self.delivered.clear()
            self._parsed.clear()


def free_port() -> int:
    """A local port nobody listens on (for now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(handler: Any, **options: Any) -> Iterator[int]:
    """aiosmtpd serving ``handler`` on a free local port with ``options`` (TLS, login,
    SMTPUTF8); yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port
