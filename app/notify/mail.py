"""E-mail over SMTP (smtplib): a text and an HTML part, one thread per incident.

Threading: the first message about an incident has the Message-ID ``<incident.<key>@<domain>>``
and every later one answers it (``In-Reply-To`` and ``References`` name it, the subject is the
title with ``Re:``), so mail readers show one conversation per incident. A reminder or window
event joins its incident's thread too, with a subject of its own that says it ("Service window
in 1 hour: DMS Import"); a digest is a message of its own. A message's own id is derived from
the notification (a digest's also from its language and what it lists), so a retried message
keeps its Message-ID.
The connection (TLS, STARTTLS, login) is ``app.notify.smtp``'s.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime
from html import escape
from typing import ClassVar

from app.model import Lang
from app.notify.channel import Answer, Outgoing
from app.notify.message import Message
from app.notify.outbox import CREATED, TEST
from app.notify.smtp import Refused, RelayDown, SmtpSession
from app.notify.targets import ChannelKind, Target
from app.store.records import Notification

_FIRST = frozenset({CREATED, TEST})  # events that start a thread (a test: its own, every time)
_LONGEST_LINE = 998  # RFC 5322, 2.1.1


class _Verbatim(UnstructuredHeader, BaseHeader):
    """A header whose value is one token that must reach the reader as written (a URL in angle
    brackets, an id): neither folded nor made an RFC 2047 encoded word, which is what the
    default policy does with a word longer than a line and what no mail program reads as
    ``List-Unsubscribe``. A value that is not ASCII or would not fit a line is folded as usual.
    """

    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        if text.isascii() and len(self.name) + 2 + len(text) <= _LONGEST_LINE:
            return f"{self.name}: {text}{policy.linesep}"
        return str(super().fold(policy=policy))


class _Registry(HeaderRegistry):
    """The standard registry, but each header's class is made once: the standard one makes a
    new class with ``type()`` at every header of every mail, a fifth of building a mail."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.pop(name.lower(), None)


def _policy() -> email.policy.EmailPolicy[EmailMessage]:
    registry = _Registry()
    for name in ("list-unsubscribe", "list-unsubscribe-post", "x-toldfeed-id"):
        registry.map_to_type(name, _Verbatim)
    return email.policy.default.clone(header_factory=registry)


MAIL_POLICY = _policy()
"""The policy of every mail toldfeed writes (the default one, but for ``_Verbatim`` headers)."""


def mailable(address: str) -> bool:
    """Whether a mail's ``To`` header can carry ``address``, as it is, to the bytes sent. The
    email package parses and folds it, and an encoded word (``=?utf-8?q?...?=``), in an
    address the sign-up form took before it refused them, can decode into a line break, trip
    its parser, fail its folding, or read as another address than the envelope's: such a mail
    is given up alone, never every subscriber's."""
    try:
        _, header = MAIL_POLICY.header_store_parse("To", address)  # what msg["To"] = ... does
        if str(header) != address:  # the header would name another address
            return False
        header.fold(policy=MAIL_POLICY.clone(utf8=not address.isascii()))  # as smtplib folds it
    except Exception:  # whatever the email package raises for it: it cannot be written
        return False
    return True


_BOUNDARY = "=_toldfeed-alternative"
"""Every mail's one boundary. No quoted-printable part can hold it ("=_" is no escape there),
so it needs no search of the parts, which the email package makes with a new regex per mail."""


def add_bodies(msg: EmailMessage, text: str, html: str, lang: Lang) -> None:
    """The plain-text and HTML parts of ``msg`` in ``lang``. Quoted-printable: 7-bit clean, so
    no relay has to speak 8BITMIME (RFC 6152), whatever the lines' lengths (the email package
    writes a part of short lines as 8bit)."""
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    msg.set_boundary(_BOUNDARY)
    msg["Content-Language"] = lang.value  # after the parts: set_content clears it


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def thread_id(key: str, domain: str) -> str:
    """The Message-ID of an incident's first message, which every later one answers."""
    return f"<incident.{_slug(key)}@{domain}>"


def message_id(note: Notification, domain: str, lang: Lang) -> str:
    """This notification's Message-ID (the same on every attempt). A digest's also names its
    language and what it lists (each incident as it then stood): the subscribers' digest is
    narrowed to each one's systems and language, and two messages that differ may not share an
    id (RFC 5322 3.6.4); its words, links and names do not count (an attempt after an upgrade
    or a new base URL keeps its id)."""
    if note.digest is not None:
        d = note.digest
        listed = [f"{i.key}@{i.updated_at.isoformat()}" for i in (*d.open, *d.windows, *d.closed)]
        shows = hashlib.blake2b("|".join([lang.value, *listed]).encode(), digest_size=5)
        return f"<{_slug(note.id.replace(':', '.'))}.{lang.value}.{shows.hexdigest()}@{domain}>"
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


@dataclass(frozen=True, slots=True)
class Listing:
    """What makes a mail one to a self-service subscriber: the list headers (RFC 2369's
    ``List-Unsubscribe``, RFC 8058's one-click ``List-Unsubscribe-Post``, RFC 2919's
    ``List-Id``) and a visible link to the subscriber's own page, under ``footer``."""

    page: str  # the subscriber's page: change what they get, unsubscribe
    unsubscribe: str  # POST here unsubscribes (one click)
    list_id: str  # "toldfeed <subscribers.example.com>"
    footer: str  # the words before the link, in the subscriber's language


def add_listing(msg: EmailMessage, listing: Listing) -> None:
    """Put the list headers on ``msg`` (its parts already carry the footer)."""
    msg["List-Id"] = listing.list_id
    msg["List-Unsubscribe"] = f"<{listing.unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def footer_text(listing: Listing | None) -> str:
    """The plain-text footer: a signature separator, the words, the link."""
    return f"\n\n-- \n{listing.footer}\n{listing.page}\n" if listing else ""


def footer_html(listing: Listing | None) -> str:
    """The HTML footer: the words and the link."""
    if listing is None:
        return ""
    return (
        f"<hr><p style='font-size:small'>{escape(listing.footer)} "
        f"<a href='{escape(listing.page)}'>{escape(listing.page)}</a></p>"
    )


def html_body(message: Message, listing: Listing | None = None) -> str:
    """The HTML part: headline, summary, a table of facts, window and fallback, newest update,
    sections, link, and a subscriber's footer."""
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
        + footer_html(listing)
        + "</body></html>"
    )


def build(
    target: Target,
    note: Notification,
    message: Message,
    now: datetime,
    listing: Listing | None = None,
) -> EmailMessage:
    """The e-mail for ``note`` (``listing``: to a self-service subscriber)."""
    domain = target.sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage(policy=MAIL_POLICY)
    prefix = "" if note.event in _FIRST or note.timing is not None else "Re: "
    msg["Subject"] = f"{prefix}{message.title}"
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.to)
    msg["Date"] = format_datetime(now)
    own = message_id(note, domain, message.lang)
    root = thread_id(note.key, domain) if note.incident is not None else own
    msg["Message-ID"] = own
    if own != root:
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["X-Toldfeed-Id"] = note.id
    if listing is not None:
        add_listing(msg, listing)
    add_bodies(msg, message.text + footer_text(listing), html_body(message, listing), message.lang)
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
    if target.smtp is None:
        return Answer(False, "no SMTP server configured")
    msg = build(target, note, message, now)
    try:
        with SmtpSession(target.smtp, timeout) as session:
            result = session.send(msg, target.sender, list(target.to))
    except RelayDown as e:
        return Answer(False, e.said)
    if isinstance(result, Refused):
        return Answer(False, result.said)
    said = f"SMTP accepted for {len(target.to) - len(result)} recipient(s)"
    if result:
        said += f"; refused: {', '.join(result)}"
    return Answer(True, said)
