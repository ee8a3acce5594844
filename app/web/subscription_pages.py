"""What the e-mail subscription's pages answer (``/subscribe``, ``/subscription...``), without
the framework: a ``FormRequest`` in, a ``Reply`` out (``app.web.routes`` adapts Flask's).

- Only a POST changes anything; every GET (a mail gateway's link scanner opens each link)
  shows a page with a button.
- A POST from another web site changes nothing: a browser names the page a form was sent from
  in ``Origin``, which must be toldfeed's own (its base URL, or the address it was reached
  at). The one-click unsubscribe is the exception (RFC 8058: the mailbox provider's server
  POSTs it, with the body ``List-Unsubscribe=One-Click``): its token alone is the proof.
- The answer to a sign-up is the same page for every address; its time does not depend on
  the address either (the mail is sent by another thread).
- At most ``SIGNUPS_PER_HOUR`` sign-ups per client address an hour, then 429 with
  ``Retry-After``; the client address is the connection's, or, when that is a trusted proxy
  (``TOLDFEED_TRUSTED_PROXIES``), the nearest ``X-Forwarded-For`` hop that is not one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from urllib.parse import urlsplit

from app.catalogue import Catalogue
from app.config import Settings
from app.model import Lang
from app.notify.signup import SIGNUPS_PER_HOUR, Gone, SignUp, Subscriptions
from app.notify.tokens import Purpose, TokenProblem
from app.render.subscription import (
    FormValues,
    PageParts,
    confirm_page,
    confirmed_page,
    describe_choices,
    form_page,
    manage_page,
    render_page,
    said_page,
    sent_page,
    unsubscribe_page,
)
from app.render.words import WORDS
from app.site.forms import SUBSCRIBE, form_url
from app.site.urls import Urls
from app.store.subscriber_records import Choices, Interest, Subscription

log = logging.getLogger("toldfeed.web")
Networks = Sequence[IPv4Network | IPv6Network]


@dataclass(frozen=True, slots=True)
class FormRequest:
    """What the pages read of one request."""

    method: str
    now: datetime
    form: Mapping[str, Sequence[str]]  # every value of each field
    token: str = ""
    origin: str | None = None  # the Origin header
    fetch_site: str | None = None  # the Sec-Fetch-Site header
    host_url: str = ""  # the address the request reached: scheme://host/
    remote_addr: str = ""
    forwarded_for: str = ""

    def value(self, name: str) -> str:
        """The first value of field ``name`` ("" if none)."""
        values = self.form.get(name) or [""]
        return values[0]


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: status, HTML, extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def client_address(remote_addr: str, forwarded_for: str, trusted: Networks) -> str:
    """The client: the connection's address, or, when that is a trusted proxy, the nearest
    hop of ``X-Forwarded-For`` (right to left) that is not one."""
    client = remote_addr
    if not _trusted(client, trusted):
        return client
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        client = hop
        if not _trusted(hop, trusted):
            break
    return client


def rate_key(client: str) -> str:
    """What the sign-up limit counts by: an IPv4 address, or an IPv6 address's /64 (one
    subscriber line holds a whole /64, and picks any address in it at will)."""
    try:
        ip = ip_address(client)
    except ValueError:
        return client
    if ip.version == 6 and ip.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(IPv6Network((ip, 64), strict=False))
    return str(ip)


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    # a proxy on a dual-stack socket (::ffff:10.0.0.1) is trusted as configured in either form
    mapped = ip.ipv4_mapped if ip.version == 6 else None
    return any(ip in network or (mapped is not None and mapped in network) for network in trusted)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SubscriptionPages:
    """Answers the subscription's URLs for one process."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        urls: Urls,
        subscriptions: Subscriptions,
        send_confirmations: Callable[[], object],
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.urls = urls
        self.subscriptions = subscriptions
        self.send_confirmations = send_confirmations

    def _page(self, status: int, lang: Lang, parts: PageParts, *extra: tuple[str, str]) -> Reply:
        other = ""
        if parts.form is not None and parts.form["with_address"]:  # the form: in the other language
            other = form_url(
                self.settings.base_url, SUBSCRIBE, lang=Lang.DA if lang is Lang.EN else Lang.EN
            )
        return Reply(status, render_page(self.urls, lang, parts, other), extra)

    def _same_site(self, req: FormRequest) -> bool:
        """False for a POST that a page of another site sent."""
        if req.origin is None:  # browsers send Origin with every POST; then Sec-Fetch-Site
            return req.fetch_site in (None, "same-origin", "same-site", "none")
        allowed = {_origin(self.settings.base_url), _origin(req.host_url)}
        return req.origin.lower() in allowed

    def _foreign(self, lang: Lang) -> Reply:
        log.info("subscription form refused: sent from another site")
        return self._page(403, lang, said_page(lang, "foreign"))

    @staticmethod
    def _interests(req: FormRequest) -> frozenset[Interest]:
        """The kinds of mail ticked in the form (unknown values dropped)."""
        known = {i.value for i in Interest}
        return frozenset(Interest(i) for i in req.form.get("what", ()) if i in known)

    def _values(self, req: FormRequest, lang: Lang, error: str, address: str = "") -> FormValues:
        """The form as ``req`` filled it in, with ``error`` above it."""
        return FormValues(
            frozenset(req.form.get("system", ())),
            self._interests(req),
            lang,
            address,
            error,
        )

    def _choices(self, req: FormRequest, lang: Lang) -> Choices | str:
        """The choices a form sent, or what is wrong with them (in ``lang``)."""
        slugs = set(self.catalogue.slugs)
        systems = frozenset(s for s in req.form.get("system", ()) if s in slugs)
        interests = self._interests(req)
        if not systems:
            return WORDS[lang]["sub_need_system"]
        if not interests:
            return WORDS[lang]["sub_need_what"]
        chosen = req.value("lang")
        return Choices(
            systems=frozenset() if systems == slugs else systems,  # all: those added later too
            interests=interests,
            lang=Lang(chosen) if chosen in {"en", "da"} else lang,
        )

    def subscribe(self, req: FormRequest, lang: Lang) -> Reply:
        """``/subscribe``: GET the form; POST a sign-up (the same answer for every address)."""
        if req.method != "POST":
            return self._page(
                200, lang, form_page(self.urls, self.catalogue, lang, FormValues(lang=lang))
            )
        if not self._same_site(req):
            return self._foreign(lang)
        client = client_address(req.remote_addr, req.forwarded_for, self.settings.trusted_networks)
        wait = self.subscriptions.admit(rate_key(client), req.now)
        if wait is not None:
            log.warning("sign-ups limited: more than %d from one client an hour", SIGNUPS_PER_HOUR)
            minutes = str(math.ceil(wait / 60))
            parts = said_page(lang, "limited", minutes=minutes)
            return self._page(429, lang, parts, ("Retry-After", str(int(wait))))
        choices = self._choices(req, lang)
        if isinstance(choices, str):  # the form again, as it was filled in, and what is wrong
            values = self._values(req, lang, choices, req.value("address")[:254])
            return self._page(400, lang, form_page(self.urls, self.catalogue, lang, values))
        outcome = self.subscriptions.sign_up(req.value("address"), choices, req.now)
        log.debug("sign-up %s", outcome.value)
        if outcome is SignUp.QUEUED:
            self.send_confirmations()
        return self._page(200, choices.lang, sent_page(choices.lang))

    def _problem(self, found: TokenProblem | Gone, lang: Lang) -> Reply:
        status = 400 if found is TokenProblem.INVALID else 410
        return self._page(status, lang, said_page(lang, found.value))

    def confirm(self, req: FormRequest) -> Reply:
        """``/subscription/confirm``: GET a page with the Confirm button; POST confirms."""
        base = self.settings.base_url
        found = self.subscriptions.find(req.token, Purpose.CONFIRM, req.now)
        if not isinstance(found, Subscription):
            return self._problem(found, Lang.EN)
        if req.method == "POST":
            if not self._same_site(req):
                return self._foreign(found.lang)
            done = self.subscriptions.confirm(req.token, req.now)
            if not isinstance(done, Subscription):
                return self._problem(done, found.lang)
            log.info("subscription confirmed")
            return self._confirmed(done, req.now)
        if found.requested is None:  # confirmed before: say so, change nothing
            return self._confirmed(found, req.now)
        summary = describe_choices(found.requested, self.catalogue, found.lang)
        return self._page(200, found.lang, confirm_page(base, found.lang, req.token, summary))

    def _confirmed(self, sub: Subscription, now: datetime) -> Reply:
        assert sub.choices is not None
        manage = self.subscriptions.tokens.make(sub, Purpose.MANAGE, now)
        summary = describe_choices(sub.choices, self.catalogue, sub.lang)
        return self._page(
            200, sub.lang, confirmed_page(self.settings.base_url, sub.lang, manage, summary)
        )

    def manage(self, req: FormRequest) -> Reply:
        """``/subscription``: GET the subscriber's page; POST saves what they chose."""
        found = self.subscriptions.find(req.token, Purpose.MANAGE, req.now)
        if not isinstance(found, Subscription):
            return self._problem(found, Lang.EN)
        lang = found.lang
        if req.method != "POST":
            return self._manage_page(200, req, found)
        if not self._same_site(req):
            return self._foreign(lang)
        choices = self._choices(req, lang)
        if isinstance(choices, str):
            return self._manage_page(400, req, found, error=choices)
        changed = self.subscriptions.change(req.token, choices, req.now)
        if not isinstance(changed, Subscription):
            return self._problem(changed, lang)
        log.info("subscription changed")
        return self._manage_page(200, req, changed, saved=True)

    def _manage_page(
        self,
        status: int,
        req: FormRequest,
        sub: Subscription,
        *,
        error: str = "",
        saved: bool = False,
    ) -> Reply:
        chosen = sub.choices or sub.requested or Choices()
        values = replace(FormValues.of(chosen), error=error)
        parts = manage_page(
            self.urls,
            self.catalogue,
            sub.lang,
            req.token,
            sub.address,
            values,
            confirmed=sub.confirmed,
            saved=saved,
        )
        return self._page(status, sub.lang, parts)

    def unsubscribe(self, req: FormRequest) -> Reply:
        """``/subscription/unsubscribe``: GET a page with the button; POST (a form's, or RFC
        8058's one click) deletes the subscription and its address at once."""
        if req.method != "POST":
            found = self.subscriptions.find(req.token, Purpose.MANAGE, req.now)
            if not isinstance(found, Subscription):
                return self._problem(found, Lang.EN)
            return self._page(
                200, found.lang, unsubscribe_page(self.settings.base_url, found.lang, req.token)
            )
        found = self.subscriptions.find(req.token, Purpose.MANAGE, req.now)
        lang = found.lang if isinstance(found, Subscription) else Lang.EN
        one_click = req.value("List-Unsubscribe") == "One-Click"  # RFC 8058: from anywhere
        if not one_click and not self._same_site(req):
            return self._foreign(lang)
        done = self.subscriptions.unsubscribe(req.token, req.now)
        if isinstance(done, TokenProblem):
            return self._problem(done, lang)
        if done:
            log.info("subscription removed: unsubscribed")
        return self._page(200, lang, said_page(lang, "unsubscribed"))
