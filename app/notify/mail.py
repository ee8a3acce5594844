"""E-mail over SMTP (smtplib): a text and an HTML part, one thread per incident.

Threading: the first message about an incident has the Message-ID ``<incident.<key>@<domain>>``
and every later one answers it (``In-Reply-To`` and ``References`` name it, the subject is the
title with ``Re:``), so mail readers show one conversation per incident. A reminder or window
event joins its incident's thread too, with a subject of its own that says it ("Service window
in 1 hour: DMS Import"); a digest is a message of its own. A message's own id is derived from
the notification, so a retried message keeps its Message-ID. ``smtps://`` is TLS
from the start; ``smtp://`` uses STARTTLS when the server offers it and refuses to log in
without it.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from typing import ClassVar

from app.notify.channel import Answer, Outgoing
from app.notify.message import Message
from app.notify.outbox import CREATED, TEST
from app.notify.targets import ChannelKind, Target
from app.store.records import Notification

_FIRST = frozenset({CREATED, TEST})  # events that start a thread (a test: its own, every time)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def thread_id(key: str, domain: str) -> str:
    """The Message-ID of an incident's first message, which every later one answers."""
    return f"<incident.{_slug(key)}@{domain}>"


def message_id(note: Notification, domain: str) -> str:
    """This notification's Message-ID (the same on every attempt)."""
    if note.digest is not None:
        return f"<{_slug(note.id.replace(':', '.'))}@{domain}>"
    assert note.incident is not None
    if note.timing is not None:  # "<entry id>#remind-3600@<start>": the part after the "#"
        return f"<incident.{_slug(note.key)}.{_slug(note.id.rpartition('#')[2])}@{domain}>"
    if note.event in _FIRST:
        return thread_id(note.key, domain)
    stamp = int(note.incident.updated_at.timestamp())
    return f"<incident.{_slug(note.key)}.{stamp}@{domain}>"


def _sections(message: Message) -> str:
    html = ""
    for section in message.sections:
        items = "".join(
            f"<li><a href='{escape(i.link)}'>{escape(i.text)}</a>"
            + (f"<br>{escape(i.detail)}" if i.detail else "")
            + "</li>"
            for i in section.items
        )
        body = f"<ul>{items}</ul>" if items else f"<p>{escape(section.none)}</p>"
        html += f"<h3>{escape(section.title)}</h3>{body}"
    return html


def html_body(message: Message) -> str:
    """The HTML part: headline, summary, a table of facts, window and fallback, newest update,
    sections, link."""
    rows = "".join(
        f"<tr><th align='left' style='padding-right:1em'>{escape(label)}</th>"
        f"<td>{escape(value)}</td></tr>"
        for label, value in message.facts
    )
    notes = "".join(f"<p>{escape(line)}</p>" for line in (message.window, message.fallback) if line)
    summary = f"<p>{escape(message.summary)}</p>" if message.summary else ""
    latest = (
        f"<p><strong>{escape(message.labels['latest'])}:</strong> {escape(message.latest)}</p>"
        if message.latest
        else ""
    )
    button = message.button or message.labels["related"]
    return (
        f"<!doctype html><html lang='{message.lang.value}'><body>"
        f"<h2>{escape(message.headline)}</h2>{summary}"
        + (f"<table>{rows}</table>" if rows else "")
        + f"{notes}{latest}{_sections(message)}"
        f"<p><a href='{escape(message.link)}'>{escape(button)}</a>"
        + (
            f" · <a href='{escape(message.official)}'>{escape(message.labels['official'])}</a>"
            if message.official
            else ""
        )
        + "</p>"
        "</body></html>"
    )


def build(target: Target, note: Notification, message: Message, now: datetime) -> EmailMessage:
    """The e-mail for ``note``."""
    domain = target.sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    prefix = "" if note.event in _FIRST or note.timing is not None else "Re: "
    msg["Subject"] = f"{prefix}{message.title}"
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.to)
    msg["Date"] = format_datetime(now)
    own = message_id(note, domain)
    root = thread_id(note.key, domain) if note.incident is not None else own
    msg["Message-ID"] = own
    if own != root:
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["X-Toldfeed-Id"] = note.id
    msg.set_content(message.text)
    msg.add_alternative(html_body(message), subtype="html")
    msg["Content-Language"] = message.lang.value  # after the parts: set_content clears it
    return msg


class Mail:
    """E-mail through the target's SMTP server, one thread per incident."""

    kind: ClassVar[ChannelKind] = ChannelKind.EMAIL
    pace_seconds: ClassVar[float] = 0.0

    def __init__(self, poster: object = None) -> None:
        """Mail needs no HTTP client (``poster`` is accepted so every channel is built alike)."""

    def send(self, out: Outgoing) -> Answer:
        """Hand the e-mail to the target's SMTP server."""
        return _send(out.target, out.note, out.message, out.timeout, out.now)


def _send(
    target: Target, note: Notification, message: Message, timeout: float, now: datetime
) -> Answer:
    """Hand the e-mail to the target's SMTP server."""
    server = target.smtp
    if server is None:
        return Answer(False, "no SMTP server configured")
    msg = build(target, note, message, now)
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if server.tls == "ssl":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with client:
            client.ehlo()
            if server.tls == "starttls" and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif server.user and server.tls != "ssl":
                return Answer(False, "the server offers no STARTTLS; not logging in without TLS")
            if server.user:
                client.login(server.user, server.password)
            refused = client.send_message(msg)
    except smtplib.SMTPResponseException as e:
        said = (
            e.smtp_error.decode("utf-8", "replace")
            if isinstance(e.smtp_error, bytes)
            else str(e.smtp_error)
        )
        return Answer(False, f"SMTP {e.smtp_code} {said}")
    except smtplib.SMTPRecipientsRefused as e:
        return Answer(False, f"every recipient refused: {', '.join(e.recipients)}")
    except (smtplib.SMTPException, OSError) as e:
        return Answer(False, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    accepted = len(target.to) - len(refused)
    said = f"SMTP accepted for {accepted} recipient(s)"
    if refused:
        said += f"; refused: {', '.join(refused)}"
    return Answer(True, said)
