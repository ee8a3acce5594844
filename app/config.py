"""Settings: the only reader of environment variables."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.errors import ConfigError

VERSION = "0.1.0"
_REPO_FEEDS = Path(__file__).resolve().parent.parent / "feeds"


def _default_data_file(name: str) -> Path:
    """``feeds/<name>`` of the working directory, else the one beside the installed package."""
    local = Path("feeds") / name
    return local if local.exists() or not (_REPO_FEEDS / name).exists() else _REPO_FEEDS / name


_CLOCK = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(raw: str) -> bool:
    """A yes/no setting: 1/0, true/false, yes/no, on/off (any case); anything else is a
    ValueError, so a typo (``flase``) is a configuration error, never a silent "off"."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("not a yes/no value: use 1/0, true/false, yes/no or on/off")


def parse_clock(text: str) -> time:
    """``07:00`` → time(7, 0); ValueError when it is no time of day."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise ValueError(f"cannot read {text!r} as a time of day: write it like 07:00")
    return time(int(match["h"]), int(match["m"]))


# set by toldfeed itself, never by a variable: ``serve --demo`` (which turns notifications,
# WebSub and subscriptions off), and whether TOLDFEED_BASE_URL was given
_NOT_FROM_ENV = frozenset({"demo", "base_url_set"})
_BARE_ADDRESS = re.compile(r"[!-~]+@[!-~]+", re.ASCII)  # no name, no brackets: just the address


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of toldfeed. ``from_env`` reads ``TOLDFEED_<FIELD>`` for each field."""

    sources: Path = field(default_factory=lambda: _default_data_file("sources.toml"))
    systems: Path = field(default_factory=lambda: _default_data_file("systems.toml"))
    data_dir: Path = Path("var")
    base_url: str = "http://localhost:8000"
    poll_seconds: float = 300.0
    poll_jitter: float = 0.1
    poll_budget_seconds: float = 120.0
    timeout_seconds: float = 15.0
    max_redirects: int = 5
    max_body_bytes: int = 5 * 1024 * 1024
    retries: int = 2
    backoff_seconds: float = 1.0
    retry_after_cap_seconds: float = 30.0
    max_details_per_poll: int = 60
    detail_refresh_seconds: float = 3600.0
    fetch_workers: int = 2
    proxy_from_env: bool = False
    stale_after_seconds: float = 3600.0
    blind_after_seconds: float = 1800.0
    max_backoff_seconds: float = 3600.0
    feed_limit_default: int = 50
    feed_limit_max: int = 500
    # publishing to S3-compatible object storage (app.publish.s3); the AWS_* variables
    # (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...) are boto3's own business
    publish_s3: str = ""  # s3://bucket/prefix; empty: nothing is uploaded
    publish_timeout_seconds: float = 5.0  # connect and read timeout of one request
    publish_retries: int = 2  # retries of one request (throttling, 5xx, connection errors)
    # documents that only show the time of the poll (freshness, time counted up to now) are
    # put at most this often when nothing else changed; a change of state is put at once
    publish_refresh_seconds: float = 900.0
    frame_ancestors: str = "*"
    demo: bool = False
    poll_on_serve: bool = True
    base_url_set: bool = False  # True when TOLDFEED_BASE_URL was given
    # push notifications (app.notify) and WebSub
    notify: str = ""  # path of the targets file (TOML); empty: nothing is sent
    smtp_url: str = ""  # smtp://user:pass@host:587 (STARTTLS), smtps://..., smtp://host:25
    smtp_from: str = "toldfeed@localhost"
    notify_give_up_seconds: float = 86400.0
    notify_backoff_seconds: float = 30.0  # first retry; doubled per failure up to an hour
    notify_timeout_seconds: float = 10.0  # one attempt (connect, send, answer)
    notify_budget_seconds: float = 60.0  # one delivery pass
    # "not reported complete": this long after a window's planned end (app.notify.timed)
    overrun_grace_seconds: int = 900
    websub_hub: str = ""  # hub URL: <link rel="hub"> in feeds, a publish ping per change
    # self-service subscriptions (app.notify.signup): "email" turns them on (with smtp_url)
    subscriptions: str = ""
    secret_key: str = ""  # signs subscription links; empty: a random key kept in the data dir
    trusted_proxies: str = ""  # addresses/networks whose X-Forwarded-For is believed, comma list
    subscription_digest_at: str = "07:00"  # the subscribers' daily digest, Danish local time

    @property
    def publish_target(self) -> S3Target | None:
        """Where documents are uploaded after each poll (``TOLDFEED_PUBLISH_S3``), or None."""
        return parse_s3_target(self.publish_s3) if self.publish_s3 else None

    @property
    def subscriptions_on(self) -> bool:
        """True when anyone may subscribe an address (``TOLDFEED_SUBSCRIPTIONS=email``; never
        in the demo, whose news is sample data)."""
        return self.subscriptions == "email" and not self.demo

    @property
    def subscription_digest_time(self) -> time:
        """When the subscribers who chose it get the daily digest (Danish local time)."""
        return parse_clock(self.subscription_digest_at)

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The proxies whose ``X-Forwarded-For`` is believed (``TOLDFEED_TRUSTED_PROXIES``)."""
        return parse_networks(self.trusted_proxies)

    @property
    def user_agent(self) -> str:
        """Names toldfeed and where to find the instance that is polling."""
        return (
            f"toldfeed/{VERSION} (+{self.base_url.rstrip('/')}/; service-status feed republisher)"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``TOLDFEED_*`` variables; a bad value is a ConfigError."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _NOT_FROM_ENV:
                continue
            raw = env.get(f"TOLDFEED_{f.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls(), f.name)
            try:
                if isinstance(default, bool):
                    values[f.name] = parse_bool(raw)
                elif isinstance(default, Path):
                    if not raw.strip():  # Path("") is the current directory: never meant
                        raise ValueError(
                            f"empty; unset it for the default ({default}), or name a path "
                            "(. is the working directory)"
                        )
                    values[f.name] = Path(raw)
                elif isinstance(default, int):
                    values[f.name] = int(raw)
                elif isinstance(default, float):
                    values[f.name] = float(raw)
                else:
                    values[f.name] = raw
            except ValueError as e:
                raise ConfigError(f"TOLDFEED_{f.name.upper()}={raw!r}: {e}") from e
        values["base_url_set"] = "base_url" in values or "base_url" in overrides
        settings = replace(cls(), **values, **overrides)
        settings.check()
        return settings

    def check(self) -> None:
        """Reject values that cannot work."""
        for f in fields(self):  # every number: finite, never negative (nan, inf, 1e400, -5)
            value = getattr(self, f.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and (not math.isfinite(value) or value < 0):
                raise ConfigError(
                    f"TOLDFEED_{f.name.upper()} must be a finite number, 0 or more, not {value!r}"
                )
        if self.poll_seconds < 1:
            raise ConfigError("TOLDFEED_POLL_SECONDS must be at least 1")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("TOLDFEED_BASE_URL must be an http(s) URL")
        # written into links and mail headers, where a line break (an env file saved with CRLF
        # endings) would fail every mail
        written = {
            "BASE_URL": self.base_url,
            "SMTP_FROM": self.smtp_from,
            "WEBSUB_HUB": self.websub_hub,
        }
        for name, value in written.items():
            if any(ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\x85" for c in value):
                raise ConfigError(
                    f"TOLDFEED_{name} holds a control character or line break: {value!r}"
                )
        if self.max_body_bytes < 1024 or self.timeout_seconds <= 0:
            raise ConfigError("fetch limits must be positive")
        if self.publish_s3:
            parse_s3_target(self.publish_s3)
        if self.publish_timeout_seconds <= 0 or self.publish_retries < 0:
            raise ConfigError("TOLDFEED_PUBLISH_TIMEOUT_SECONDS and _RETRIES must be positive")
        if self.websub_hub and not self.websub_hub.startswith(("http://", "https://")):
            raise ConfigError("TOLDFEED_WEBSUB_HUB must be an http(s) URL")
        if min(self.notify_timeout_seconds, self.notify_budget_seconds) <= 0:
            raise ConfigError(
                "TOLDFEED_NOTIFY_TIMEOUT_SECONDS and _BUDGET_SECONDS must be positive"
            )
        if self.subscriptions not in {"", "email"}:
            raise ConfigError(
                f"TOLDFEED_SUBSCRIPTIONS must be 'email' (or empty: off), not {self.subscriptions!r}"
            )
        if self.subscriptions_on and not self.smtp_url:
            raise ConfigError("TOLDFEED_SUBSCRIPTIONS=email needs TOLDFEED_SMTP_URL (the relay)")
        if (self.smtp_from or self.subscriptions_on) and not _BARE_ADDRESS.fullmatch(
            self.smtp_from
        ):
            # the envelope's sender too: a relay without SMTPUTF8 would refuse every mail
            raise ConfigError(
                "TOLDFEED_SMTP_FROM must be a bare e-mail address in ASCII (a domain with "
                f"letters beyond ASCII in its xn-- form), not {self.smtp_from!r}"
            )
        if self.notify_give_up_seconds <= 0:  # 0 gave every notification up untried
            raise ConfigError("TOLDFEED_NOTIFY_GIVE_UP_SECONDS must be more than 0")
        parse_networks(self.trusted_proxies)  # a bad address: an error now, not at a request
        try:
            parse_clock(self.subscription_digest_at)
        except ValueError as e:
            raise ConfigError(f"TOLDFEED_SUBSCRIPTION_DIGEST_AT: {e}") from e
        if self.overrun_grace_seconds < 0:
            raise ConfigError("TOLDFEED_OVERRUN_GRACE_SECONDS must be a whole number, 0 or more")
        if self.feed_limit_max < 1:
            raise ConfigError("TOLDFEED_FEED_LIMIT_MAX must be at least 1")
        if not 1 <= self.feed_limit_default <= self.feed_limit_max:
            raise ConfigError(
                f"TOLDFEED_FEED_LIMIT_DEFAULT must be from 1 to TOLDFEED_FEED_LIMIT_MAX "
                f"({self.feed_limit_max}), not {self.feed_limit_default}"
            )
        if not 0 <= self.poll_jitter < 1:
            raise ConfigError("TOLDFEED_POLL_JITTER must be at least 0 and below 1")
        if self.poll_budget_seconds <= 0 or self.publish_refresh_seconds < 0:
            raise ConfigError(
                "TOLDFEED_POLL_BUDGET_SECONDS must be positive and "
                "TOLDFEED_PUBLISH_REFRESH_SECONDS not negative"
            )


@dataclass(frozen=True, slots=True)
class S3Target:
    """A bucket and a key prefix (empty, or ending in ``/``) that documents are uploaded under."""

    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]")
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9!\-_.*'()]+")


def parse_s3_target(value: str) -> S3Target:
    """``s3://bucket/prefix`` as a target; a ConfigError naming ``TOLDFEED_PUBLISH_S3`` if bad."""
    parts = urlsplit(value.strip())
    bucket = parts.netloc
    segments = [s for s in parts.path.split("/") if s]
    problem = None
    if parts.scheme != "s3":
        problem = "must start with s3://"
    elif not _BUCKET.fullmatch(bucket) or ".." in bucket:
        problem = f"{bucket!r} is not a bucket name (3-63 of a-z 0-9 . - _)"
    elif parts.query or parts.fragment or "//" in parts.path.strip("/"):
        problem = "the prefix must be a plain path"
    elif any(s in {".", ".."} or not _PREFIX_SEGMENT.fullmatch(s) for s in segments):
        problem = "the prefix may hold only letters, digits and !-_.*'() between slashes"
    if problem:
        raise ConfigError(f"TOLDFEED_PUBLISH_S3={value!r}: {problem}")
    return S3Target(bucket, "".join(f"{s}/" for s in segments))


def parse_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``10.0.0.1, 10.1.0.0/16, ::1`` as networks; a ConfigError naming the bad one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError as e:
            raise ConfigError(f"TOLDFEED_TRUSTED_PROXIES: {part!r}: {e}") from e
    return tuple(networks)
