"""The targets file (``TOLDFEED_NOTIFY``, TOML): who is told about which incidents, and how.

```toml
[[target]]
name = "ops"                  # unique; in logs, /healthz and metrics
kind = "teams"                # teams | slack | webhook | email
url = "https://..."           # teams, slack, webhook
systems = ["dms-import"]      # optional: incidents naming one of these (default: all)
statuses = ["current"]        # optional: incidents with one of these statuses now
lang = "da"                   # optional: en (default) or da
secret = "whsec_..."          # webhook: the Standard Webhooks signing secret
to = ["ops@example.com"]      # email; server and sender from TOLDFEED_SMTP_URL/_FROM,
smtp_url = "smtp://..."       # email, optional: this target's own server
from = "toldfeed@example.com" # email, optional: this target's own sender
remind = ["24h", "1h"]        # optional: reminders before a service window's planned start
window_events = true          # optional: "started" and "not reported complete"
digest = "07:00"              # optional: a daily digest at this Danish local time
digest_only = false           # optional: the digest and nothing else
```

Every problem is a ConfigError naming the target and the field.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from app.config import Settings, parse_clock
from app.errors import ConfigError
from app.model import Incident, Lang, Status
from app.notify.recipients import Recipient, parse_lead

Fail = Callable[[str, str], ConfigError]  # (field, problem) → the error naming them
# the self-service subscribers, one outbox target together (app.notify.fanout): no file's
SUBSCRIBERS = "subscribers"
SECRET_BYTES = 24  # the shortest signing key accepted (Standard Webhooks: 24 to 64)
_FIELDS = {
    *("name", "kind", "url", "systems", "statuses", "lang", "secret", "to", "smtp_url", "from"),
    *("remind", "window_events", "digest", "digest_only"),
}


class ChannelKind(StrEnum):
    """How a target is told: the ``kind`` of a ``[[target]]`` (``app.notify.registry`` maps
    each to its ``Channel``)."""

    TEAMS = "teams"
    SLACK = "slack"
    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where e-mail goes: ``tls`` is "ssl" (smtps://), else STARTTLS when offered (required
    when logging in)."""

    host: str
    port: int
    tls: str = "starttls"
    user: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """One notification target; empty ``systems``/``statuses`` filters let everything pass."""

    name: str
    kind: ChannelKind
    url: str = ""
    systems: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset()
    lang: Lang = Lang.EN
    secret: str = ""
    to: tuple[str, ...] = ()
    smtp: SmtpServer | None = None
    sender: str = ""
    leads: frozenset[int] = frozenset()  # reminders, seconds before a window's start
    window_events: bool = False
    digest_at: time | None = None  # Danish local time
    digest_only: bool = False

    def wants(self, incident: Incident) -> bool:
        """True when a change of ``incident`` is to be told: it passes this target's filters,
        and the target is not for the digest only."""
        if self.digest_only or (self.systems and not self.systems & set(incident.systems)):
            return False
        return not self.statuses or incident.status in self.statuses

    @property
    def recipient(self) -> Recipient:
        """This target's choices of time-driven notifications (``statuses`` is about changes
        only: a reminder is about a window to come, whatever its status says)."""
        return Recipient(
            name=self.name,
            lang=self.lang,
            systems=self.systems,
            leads=self.leads,
            window_events=self.window_events,
            digest_at=self.digest_at,
            digest_only=self.digest_only,
        )


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:587``, ``smtps://host``, ``smtp://host:25``; ValueError if not."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("must look like smtp://user:pass@host:587 or smtps://host")
    ssl = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if ssl else 587)
    except ValueError as e:
        raise ValueError(f"bad port: {e}") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        tls="ssl" if ssl else "starttls",
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def load_targets(settings: Settings, systems: Iterable[str]) -> tuple[Target, ...]:
    """Read ``settings.notify`` (none configured: no targets); ``systems`` are the valid slugs.

    The demo (``serve --demo``) tells nobody: its news is sample data.
    """
    if not settings.notify or settings.demo:
        return ()
    path = Path(settings.notify)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read targets file {path}: {e}") from e
    stray = sorted(set(data) - {"target"})
    if stray:
        raise ConfigError(f"{path}: {stray[0]}: unknown table or key (targets are [[target]])")
    entries = data.get("target", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: targets are [[target]] tables")
    known = set(systems)
    targets: list[Target] = []
    for i, entry in enumerate(entries, start=1):
        target = _target(path, i, entry, known, settings)
        if any(t.name == target.name for t in targets):
            raise ConfigError(f"{path}: target {target.name!r}: name: used twice")
        targets.append(target)
    return tuple(targets)


def _target(path: Path, i: int, entry: Any, known: set[str], settings: Settings) -> Target:
    name = entry.get("name") if isinstance(entry, dict) else None
    label = f"target {name!r}" if isinstance(name, str) and name else f"target #{i}"

    def fail(field: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: {label}: {field}: {problem}")

    if not isinstance(entry, dict):
        raise fail("", "not a table")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise fail("name", "required, one word")
    if name == SUBSCRIBERS:
        raise fail("name", f"{SUBSCRIBERS!r} is the self-service subscribers' name; choose another")
    try:
        kind = ChannelKind(str(entry.get("kind")))
    except ValueError:
        raise fail(
            "kind", f"must be teams, slack, webhook or email, not {entry.get('kind')!r}"
        ) from None
    lang = entry.get("lang", "en")
    if lang not in {"en", "da"}:
        raise fail("lang", f"must be 'en' or 'da', not {lang!r}")
    chosen = _strings(entry.get("systems", []), fail, "systems")
    if bad := sorted(set(chosen) - known):
        raise fail("systems", f"unknown system {bad[0]!r} (valid: {', '.join(sorted(known))})")
    statuses = _strings(entry.get("statuses", []), fail, "statuses")
    if bad := sorted(set(statuses) - {s.value for s in Status}):
        raise fail("statuses", f"unknown status {bad[0]!r} (valid: current, scheduled, closed)")
    target = _timed(
        Target(
            name=name,
            kind=kind,
            systems=frozenset(chosen),
            statuses=frozenset(Status(s) for s in statuses),
            lang=Lang(lang),
        ),
        entry,
        fail,
    )
    if kind is ChannelKind.EMAIL:
        return _email(target, entry, fail, settings)
    url = entry.get("url")
    if not isinstance(url, str) or not _good_url(url):
        raise fail("url", "required, an http(s) URL with a host")
    for field in ("to", "smtp_url", "from"):
        if field in entry:
            raise fail(field, "only for kind = 'email'")
    secret = entry.get("secret", "")
    if kind is ChannelKind.WEBHOOK:
        if not isinstance(secret, str) or not _good_secret(secret):
            raise fail(
                "secret",
                f"required: a Standard Webhooks secret, whsec_ and the base64 of "
                f"{SECRET_BYTES} to 64 random bytes",
            )
    elif secret:
        raise fail("secret", "only for kind = 'webhook'")
    return replace(target, url=url, secret=secret)


def _timed(target: Target, entry: dict[str, Any], fail: Fail) -> Target:
    """``target`` with its choices of reminders, window events and digest."""
    try:
        leads = frozenset(parse_lead(t) for t in _strings(entry.get("remind", []), fail, "remind"))
    except ValueError as e:
        raise fail("remind", str(e)) from None
    flags = {}
    for field in ("window_events", "digest_only"):
        flags[field] = entry.get(field, False)
        if not isinstance(flags[field], bool):
            raise fail(field, "true or false")
    digest = entry.get("digest")
    try:
        digest_at = parse_clock(digest) if isinstance(digest, str) else None
    except ValueError as e:
        raise fail("digest", str(e)) from None
    if digest is not None and digest_at is None:
        raise fail("digest", 'a Danish local time of day in quotes, like "07:00"')
    if flags["digest_only"] and (digest_at is None or leads or flags["window_events"]):
        raise fail("digest_only", "needs digest, and excludes remind and window_events")
    return replace(
        target,
        leads=leads,
        window_events=flags["window_events"],
        digest_at=digest_at,
        digest_only=flags["digest_only"],
    )


def _email(target: Target, entry: dict[str, Any], fail: Fail, settings: Settings) -> Target:
    for field in ("url", "secret"):
        if field in entry:
            raise fail(field, "not for kind = 'email' (the server is smtp_url)")
    to = _strings(entry.get("to", []), fail, "to")
    if not to or any("@" not in a for a in to):
        raise fail("to", "required: a list of e-mail addresses")
    smtp_url = entry.get("smtp_url", settings.smtp_url)
    if not smtp_url:
        raise fail("smtp_url", "no SMTP server: set TOLDFEED_SMTP_URL or smtp_url")
    try:
        smtp = parse_smtp_url(str(smtp_url))
    except ValueError as e:
        raise fail("smtp_url", str(e)) from None
    sender = entry.get("from", settings.smtp_from)
    if not isinstance(sender, str) or "@" not in sender:
        raise fail("from", "an e-mail address (or TOLDFEED_SMTP_FROM)")
    return replace(target, to=tuple(to), smtp=smtp, sender=sender)


def _strings(value: Any, fail: Fail, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(field, "a list of strings")
    return list(value)


def _good_url(url: str) -> bool:
    """An http(s) URL naming a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:  # a bad port or bracket
        return False


def _good_secret(secret: str) -> bool:
    """A ``whsec_`` secret whose rest is the base64 of 24 to 64 bytes (the Standard Webhooks
    spec's sizes: a shorter key is guessable)."""
    if not secret.startswith("whsec_"):
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return SECRET_BYTES <= len(key) <= 64
