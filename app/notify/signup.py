"""Self-service e-mail subscriptions: sign up, confirm, change, unsubscribe, and the upkeep.

Double opt-in: a sign-up only stores what was asked for and queues a confirmation mail; the
address gets nothing else until a POST with the mail's confirmation token confirms it (a GET
of any link changes nothing: mail gateways open every link). The answer to a sign-up never
depends on the address (``SignUp`` is for logs at debug level and tests, not for the page).

Limits: at most ``CONFIRM_MAILS_PER_DAY`` confirmation mails to one address in 24 hours; at
most ``SIGNUPS_PER_HOUR`` sign-ups from one client address in an hour. A sign-up not confirmed
within 48 hours is removed (``sweep``), and unsubscribing deletes the address at once.

Every read-modify-write runs in one store transaction, so two workers answering two requests
at once cannot both send a third mail.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.notify.tokens import CONFIRM_FOR, Purpose, TokenClaim, TokenProblem, Tokens
from app.store import Batch, Store
from app.store.subscriber_records import Choices, Subscription

CONFIRM_MAILS_PER_DAY = 3
SIGNUPS_PER_HOUR = 20
DAY, HOUR = timedelta(hours=24), timedelta(hours=1)
UNCONFIRMED_FOR = CONFIRM_FOR  # a sign-up lives as long as its confirmation link

# one address, as forms take it: no spaces, control characters, quotes, brackets or commas (no
# header tricks), a domain of at least two labels
_ADDRESS = re.compile(
    r"[^\s\x00-\x1f\x7f@\"(),:;<>\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
)


class SignUp(StrEnum):
    """What a sign-up did (the page says the same for each)."""

    QUEUED = "queued"  # a confirmation mail is on its way
    LIMITED = "limited"  # three mails went to the address within 24 hours: none now
    IGNORED = "ignored"  # not an address


class Gone(StrEnum):
    """A good token for a subscription that no longer exists (unsubscribed, or expired)."""

    GONE = "gone"


def normalize_address(text: str) -> str | None:
    """The address as kept (the domain in lower case), or None when ``text`` is not one."""
    text = text.strip()
    # "=?" opens an RFC 2047 encoded word, which has no place in an address and which the mail
    # headers would decode (into a line break, say) when the mail is written
    if len(text) > 254 or "=?" in text or not _ADDRESS.fullmatch(text):
        return None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


@dataclass(frozen=True, slots=True)
class Upkept:
    """What one sweep removed."""

    removed: int = 0  # sign-ups never confirmed
    expired_requests: int = 0  # changes asked for by a confirmed address, never confirmed


class Subscriptions:
    """The subscription rules over one store, with one signing key."""

    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.store = store
        self.tokens = tokens

    def admit(self, client: str, now: datetime) -> float | None:
        """Count a sign-up from ``client`` (an IP address); None when it may go on, else the
        seconds until it may (``Retry-After``)."""
        key = self.store.keyed_hash(f"client {client}")
        with self.store.transaction():
            times = tuple(t for t in self.store.signups(key) if now - t < HOUR)
            if len(times) >= SIGNUPS_PER_HOUR:
                return max(1.0, math.ceil((times[0] + HOUR - now).total_seconds()))
            batch = Batch()
            Store.stage_signups(batch, key, (*times, now))
            self.store.commit(batch)
        return None

    def sign_up(self, text: str, choices: Choices, now: datetime) -> SignUp:
        """Ask for ``choices`` to go to the address ``text``: queue a confirmation mail,
        unless three went to it within 24 hours."""
        address = normalize_address(text)
        if address is None:
            return SignUp.IGNORED
        sid = self.store.subscriber_id(address)
        with self.store.transaction():
            sub = self.store.subscription(sid) or Subscription(
                id=sid, address=address, nonce=secrets.token_hex(8), created_at=now
            )
            recent = tuple(t for t in sub.mails_at if now - t < DAY)
            # a mail not sent yet goes once, saying what was asked last; the sender counts it
            waiting = self.store.confirmation_waiting(sid) is not None
            if not waiting and len(recent) >= CONFIRM_MAILS_PER_DAY:
                return SignUp.LIMITED
            sub = replace(sub, requested=choices, requested_at=now, mails_at=recent)
            batch = Batch()
            Store.stage_subscription(batch, sub)
            Store.stage_confirmation_mail(batch, sid, secrets.token_hex(8))
            self.store.commit(batch)
        return SignUp.QUEUED

    def find(
        self, token: str, purpose: Purpose, now: datetime
    ) -> Subscription | TokenProblem | Gone:
        """The subscription ``token`` opens for ``purpose`` (for a page: changes nothing)."""
        claim = self.tokens.read(token, purpose, now)
        if isinstance(claim, TokenProblem):
            return claim
        return self._current(claim)

    def _current(self, claim: TokenClaim) -> Subscription | Gone:
        sub = self.store.subscription(claim.sid)
        if sub is None or not claim.matches(sub):
            return Gone.GONE
        return sub

    def confirm(self, token: str, now: datetime) -> Subscription | TokenProblem | Gone:
        """Confirm what the sign-up of ``token`` asked for (again: nothing more happens)."""
        claim = self.tokens.read(token, Purpose.CONFIRM, now)
        if isinstance(claim, TokenProblem):
            return claim
        with self.store.transaction():
            sub = self._current(claim)
            if isinstance(sub, Gone) or sub.requested is None:
                return sub
            sub = replace(
                sub,
                choices=sub.requested,
                confirmed_at=sub.confirmed_at or now,
                requested=None,
                requested_at=None,
            )
            batch = Batch()
            Store.stage_subscription(batch, sub)
            self.store.commit(batch)
        return sub

    def change(
        self, token: str, choices: Choices, now: datetime
    ) -> Subscription | TokenProblem | Gone:
        """Make what a subscriber gets ``choices``, from their own page."""
        claim = self.tokens.read(token, Purpose.MANAGE, now)
        if isinstance(claim, TokenProblem):
            return claim
        with self.store.transaction():
            sub = self._current(claim)
            if isinstance(sub, Gone):
                return sub
            sub = (
                replace(sub, choices=choices) if sub.confirmed else replace(sub, requested=choices)
            )
            batch = Batch()
            Store.stage_subscription(batch, sub)
            self.store.commit(batch)
        return sub

    def unsubscribe(self, token: str, now: datetime) -> bool | TokenProblem:
        """Delete the subscription of ``token`` and its address; False when it was gone."""
        claim = self.tokens.read(token, Purpose.MANAGE, now)
        if isinstance(claim, TokenProblem):
            return claim
        with self.store.transaction():
            if isinstance(self._current(claim), Gone):
                return False
            batch = Batch()
            Store.stage_subscription_removed(batch, claim.sid)
            self.store.commit(batch)
        self.store.erase_freed()
        return True

    def to_mail(self, sid: str, now: datetime) -> Subscription | None:
        """Subscription ``sid`` if a confirmation mail is to go to it now: it asks for
        something, and fewer than three went to it within 24 hours (a sign-up that raced the
        third mail's sending gets none)."""
        sub = self.store.subscription(sid)
        if sub is None or sub.requested is None:
            return None
        if sum(1 for t in sub.mails_at if now - t < DAY) >= CONFIRM_MAILS_PER_DAY:
            return None
        return sub

    def mailed(self, sid: str, stamp: str, now: datetime | None) -> None:
        """Count the confirmation mail of ``sid`` sent at ``now`` (None: not sent, it never
        will be) and drop it from the queue, unless a sign-up asked again since it was read
        (stamped ``stamp``)."""
        with self.store.transaction():
            batch = Batch()
            if self.store.confirmation_waiting(sid) == stamp:
                Store.stage_confirmation_mail(batch, sid, None)
            sub = self.store.subscription(sid)
            if sub is not None and now is not None:
                recent = tuple(t for t in sub.mails_at if now - t < DAY)
                Store.stage_subscription(batch, replace(sub, mails_at=(*recent, now)))
            self.store.commit(batch)

    def remove(self, text: str) -> bool:
        """Delete the subscription of the address ``text`` (the operator's command)."""
        address = normalize_address(text)
        if address is None and "=?" in text:  # kept before encoded words were refused
            local, _, domain = text.strip().rpartition("@")
            address = f"{local}@{domain.lower()}" if local and domain else None
        if address is None:
            return False
        sid = self.store.subscriber_id(address)
        with self.store.transaction():
            if self.store.subscription(sid) is None:
                return False
            batch = Batch()
            Store.stage_subscription_removed(batch, sid)
            self.store.commit(batch)
        self.store.erase_freed()
        return True

    def sweep(self, now: datetime) -> Upkept:
        """Remove sign-ups not confirmed within 48 hours, forget unconfirmed changes as old,
        and the sign-up counts of clients not seen for an hour."""
        removed = expired = 0
        for stale in self.store.subscriptions():
            asked = stale.requested_at
            if asked is None or now - asked < UNCONFIRMED_FOR:
                continue
            with self.store.transaction():
                sub = self.store.subscription(stale.id)  # as it is now, not as read
                if (
                    sub is None
                    or sub.requested_at is None
                    or now - sub.requested_at < UNCONFIRMED_FOR
                ):
                    continue
                batch = Batch()
                if sub.confirmed:
                    Store.stage_subscription(batch, replace(sub, requested=None, requested_at=None))
                    expired += 1
                else:
                    Store.stage_subscription_removed(batch, sub.id)
                    removed += 1
                self.store.commit(batch)
        with self.store.transaction():  # not a count a sign-up adds to meanwhile
            batch = Batch()
            for client, times in self.store.signup_clients().items():
                if all(now - t >= HOUR for t in times):
                    Store.stage_signups(batch, client, ())
            self.store.commit(batch)
        if removed:
            self.store.erase_freed()
        return Upkept(removed, expired)
