"""What a self-service subscriber's mails carry besides a notification: the list headers and
the link to their own page (``Listing``), and the confirmation mail. Pure.

Every mail to a subscriber (the confirmation included) has ``List-Unsubscribe`` (the one-click
URL), ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), ``List-Id`` and a
visible link to the subscriber's page. The relay must DKIM-sign both ``List-Unsubscribe``
headers for mailbox providers to offer the one-click button (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from urllib.parse import urlsplit

from app.catalogue import Catalogue
from app.config import Settings
from app.notify.mail import (
    MAIL_POLICY,
    Listing,
    add_bodies,
    add_listing,
    footer_html,
    footer_text,
)
from app.notify.tokens import Purpose, Tokens
from app.render.subscription import describe_choices
from app.render.words import WORDS
from app.site.forms import CONFIRM, SUBSCRIPTION, UNSUBSCRIBE, form_url
from app.store.subscriber_records import Subscription


class Letters:
    """Builds the subscriber-specific parts of mails, signed with the process's key."""

    def __init__(self, settings: Settings, tokens: Tokens, catalogue: Catalogue) -> None:
        self.base_url = settings.base_url
        self.sender = settings.smtp_from
        self.tokens = tokens
        self.catalogue = catalogue
        host = urlsplit(settings.base_url).hostname or "localhost"
        self.list_id = f"toldfeed <subscribers.{host}>"
        self.domain = self.sender.rpartition("@")[2] or "localhost"

    def listing(self, sub: Subscription, now: datetime) -> Listing:
        """The list headers and footer of a mail to ``sub``, in their language."""
        token = self.tokens.make(sub, Purpose.MANAGE, now)
        return Listing(
            page=form_url(self.base_url, SUBSCRIPTION, token),
            unsubscribe=form_url(self.base_url, UNSUBSCRIBE, token),
            list_id=self.list_id,
            footer=WORDS[sub.lang]["sub_footer"],
        )

    def confirmation(self, sub: Subscription, now: datetime) -> EmailMessage | None:
        """The mail asking ``sub`` to confirm what it asked for (None: nothing is asked)."""
        choices = sub.requested
        if choices is None:
            return None
        lang = choices.lang
        w = WORDS[lang]
        link = form_url(self.base_url, CONFIRM, self.tokens.make(sub, Purpose.CONFIRM, now))
        lines = describe_choices(choices, self.catalogue, lang)
        # not yet a subscriber: the footer says why the mail came, not "you subscribed"
        listing = replace(self.listing(sub, now), footer=w["sub_footer_asked"])
        shown = [f"  {line}" for line in lines]
        text = "\n".join(
            [
                w["sub_mail_intro"],
                "",
                *shown,
                "",
                w["sub_mail_action"],
                link,
                "",
                w["sub_mail_ignore"],
            ]
        )
        html = (
            f"<!doctype html><html lang='{lang.value}'><body><p>{escape(w['sub_mail_intro'])}</p>"
            "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
            f"<p>{escape(w['sub_mail_action'])}<br><a href='{escape(link)}'>{escape(link)}</a></p>"
            f"<p>{escape(w['sub_mail_ignore'])}</p>{footer_html(listing)}</body></html>"
        )
        msg = EmailMessage(policy=MAIL_POLICY)
        msg["Subject"] = w["sub_mail_subject"]
        msg["From"] = self.sender
        msg["To"] = sub.address
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = make_msgid("confirm", self.domain)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        add_listing(msg, listing)
        add_bodies(msg, text + footer_text(listing), html, lang)
        return msg
