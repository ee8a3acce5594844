"""Source health: per-source success and failure history, backoff, and the blind state. Pure.

A source that fails backs off exponentially (``poll_seconds`` doubled per consecutive failure,
capped at ``max_backoff_seconds``), or for as long as the upstream's ``Retry-After`` asks;
a source read successfully is next read no sooner than its ``Cache-Control: max-age``.
toldfeed is *blind* when no source has been read for ``blind_after_seconds``: then the ``all``
and ``current`` feeds carry one notice entry, dated when the blindness began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from app.config import Settings
from app.ingest import PollReport
from app.model import Incident, Kind, Lang, Status
from app.render.i18n import local_time, word
from app.render.pages import PageContext

NOTICE_KEY = "toldfeed:upstream-unreadable"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def update_health(
    health: dict[str, dict[str, Any]], report: PollReport, settings: Settings, now: datetime
) -> dict[str, dict[str, Any]]:
    """Fold one poll's source outcomes into the per-source health records."""
    out = {url: dict(record) for url, record in health.items()}
    for source in report.sources:
        record = out.setdefault(source.url, {"consecutive_failures": 0, "unknown_systems": []})
        record["kind"] = source.kind
        if source.outcome == "skipped":
            continue
        record["last_attempt_at"] = now.isoformat()
        if source.outcome in {"fetched", "not modified"}:
            record.update(
                last_success_at=now.isoformat(),
                consecutive_failures=0,
                failing_since=None,
                last_outcome=source.outcome,
                entries=source.entries,
                warnings=source.warnings[:10],
            )
            wait = max(0.0, source.max_age or 0.0)
        else:
            failures = int(record.get("consecutive_failures", 0)) + 1
            record.update(
                last_failure_at=now.isoformat(),
                last_error=source.error,
                consecutive_failures=failures,
                failing_since=record.get("failing_since") or now.isoformat(),
                last_outcome="failed",
                warnings=source.warnings[:10],
            )
            backoff = min(settings.max_backoff_seconds, settings.poll_seconds * 2 ** (failures - 1))
            wait = max(backoff if failures > 1 else 0.0, source.retry_after or 0.0)
        next_at = now + timedelta(seconds=min(wait, settings.max_backoff_seconds)) if wait else None
        record["next_attempt_at"] = _iso(next_at)
        unknown = set(record.get("unknown_systems", [])) | set(source.unknown_systems)
        record["unknown_systems"] = sorted(unknown)
    return out


def due(record: dict[str, Any] | None, now: datetime) -> bool:
    """True when a source may be read now (its backoff or max-age has passed)."""
    if not record:
        return True
    next_at = _dt(record.get("next_attempt_at"))
    return next_at is None or next_at <= now


@dataclass(frozen=True, slots=True)
class Blindness:
    """Since when no source could be read, and the latest reason."""

    since: datetime
    reason: str


def blindness(
    health: dict[str, dict[str, Any]], settings: Settings, now: datetime
) -> Blindness | None:
    """The blind state, once no source has been read for ``blind_after_seconds``."""
    if not health:
        return None
    successes = [t for r in health.values() if (t := _dt(r.get("last_success_at")))]
    failing = [r for r in health.values() if r.get("last_outcome") == "failed"]
    if len(failing) < len(health):
        return None
    if successes:
        since = max(successes)
    else:
        since = min(t for r in failing if (t := _dt(r.get("failing_since"))))
    if now - since < timedelta(seconds=settings.blind_after_seconds):
        return None
    latest = max(failing, key=lambda r: r.get("last_failure_at") or "")
    return Blindness(since=since, reason=str(latest.get("last_error") or "unknown error"))


def page_context(
    health: dict[str, dict[str, Any]], settings: Settings, now: datetime, upstream_url: str
) -> tuple[PageContext, Incident | None]:
    """The index/embed context and, when blind, the notice entry of the all/current feeds."""
    successes = [t for r in health.values() if (t := _dt(r.get("last_success_at")))]
    refreshed = max(successes) if successes else None
    blind = blindness(health, settings, now)
    unreadable_now = health and all(r.get("last_outcome") == "failed" for r in health.values())
    notices: dict[Lang, str] = {}
    notice: Incident | None = None
    if unreadable_now:
        first = (
            blind.since
            if blind
            else min(
                (t for r in health.values() if (t := _dt(r.get("failing_since")))), default=now
            )
        )
        reason = blind.reason if blind else str(next(iter(health.values())).get("last_error") or "")
        notices = {
            lang: word(lang, "blind", since=local_time(first, lang), reason=reason) for lang in Lang
        }
    notes: dict[Lang, str] = {}
    if not unreadable_now and (
        failing := {u: r for u, r in health.items() if r.get("last_outcome") == "failed"}
    ):
        # some sources fail, others are read: say which, in words (index page only)
        for lang in Lang:
            notes[lang] = " ".join(
                word(
                    lang,
                    "source_failing",
                    url=url,
                    since=local_time(_dt(r.get("failing_since")) or now, lang),
                    reason=str(r.get("last_error") or ""),
                )
                for url, r in sorted(failing.items())
            )
    if blind is not None:
        notice = Incident(
            key=NOTICE_KEY,
            refs=(),
            oids=(),
            oid=0,
            links={lang.value: upstream_url for lang in Lang},
            title={lang.value: word(lang, "blind_title") for lang in Lang},
            message_html={
                lang.value: "<p>"
                + escape(
                    word(
                        lang,
                        "blind_body",
                        since=local_time(blind.since, lang),
                        reason=blind.reason,
                        url=upstream_url,
                    )
                )
                + "</p>"
                for lang in Lang
            },
            message_text={
                lang.value: word(
                    lang,
                    "blind_body",
                    since=local_time(blind.since, lang),
                    reason=blind.reason,
                    url=upstream_url,
                )
                for lang in Lang
            },
            systems=(),
            unknown_systems=(),
            status=Status.CURRENT,
            kind=Kind.DISRUPTION,
            published_at=blind.since,
            updated_at=blind.since,
            upstream_updated_at=blind.since,
        )
    return PageContext(settings.base_url.rstrip("/"), refreshed, notices, notes), notice
