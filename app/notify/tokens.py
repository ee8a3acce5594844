"""The signed links of a subscription (the only importer of itsdangerous).

A token names one subscription (its id, a keyed hash of the address, and its nonce, new with
each subscription) and is signed for one purpose: a confirmation token cannot open the
subscriber's page, and neither opens another address's. Confirmation tokens expire after
48 hours; the page and unsubscribe tokens last as long as the subscription (the links in every
mail must keep working), and die with it: a new subscription of the same address has a new
nonce. Tokens hold no address (they travel in URLs, which end up in logs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from itsdangerous import BadData, SignatureExpired, TimestampSigner

from app.store.subscriber_records import Subscription

CONFIRM_FOR = timedelta(hours=48)


class Purpose(StrEnum):
    """What a token may do."""

    CONFIRM = "confirm"  # confirm a sign-up (expires)
    MANAGE = "manage"  # open the subscriber's page, change it, unsubscribe


class TokenProblem(StrEnum):
    """Why a token was not taken."""

    EXPIRED = "expired"
    INVALID = "invalid"  # tampered with, another purpose, another key, or not a token


@dataclass(frozen=True, slots=True)
class TokenClaim:
    """What a good token names: a subscription by id, and the nonce it had."""

    sid: str
    nonce: str

    def matches(self, sub: Subscription | None) -> bool:
        """True when ``sub`` is the subscription the token was made for (not a later one)."""
        return sub is not None and sub.id == self.sid and sub.nonce == self.nonce


class _Signer(TimestampSigner):
    """itsdangerous's timestamp signer on a clock given to it (the time is a parameter)."""

    def __init__(self, key: bytes, purpose: Purpose, now: datetime) -> None:
        super().__init__(key, salt=f"toldfeed.subscription.{purpose.value}")
        self.at = int(now.timestamp())

    def get_timestamp(self) -> int:
        """The time the token is dated (or read) at."""
        return self.at


class Tokens:
    """Makes and reads the signed tokens of subscription links."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def make(self, sub: Subscription, purpose: Purpose, now: datetime) -> str:
        """A token for ``purpose`` on ``sub``, dated ``now``."""
        signed = _Signer(self.key, purpose, now).sign(f"{sub.id}~{sub.nonce}")
        return signed.decode("ascii")

    def read(self, token: str, purpose: Purpose, now: datetime) -> TokenClaim | TokenProblem:
        """What ``token`` names, if it is good for ``purpose`` at ``now``."""
        max_age = int(CONFIRM_FOR.total_seconds()) if purpose is Purpose.CONFIRM else None
        try:
            value = _Signer(self.key, purpose, now).unsign(token.encode("ascii"), max_age=max_age)
        except SignatureExpired:
            return TokenProblem.EXPIRED
        except (BadData, UnicodeError, ValueError):
            return TokenProblem.INVALID
        sid, _, nonce = value.decode("ascii").partition("~")
        if not sid or not nonce:
            return TokenProblem.INVALID
        return TokenClaim(sid, nonce)
