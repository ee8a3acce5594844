"""The command line's share of notifications: delivery after ``toldfeed poll``, and
``toldfeed notify-test NAME``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.config import Settings
from app.errors import ConfigError
from app.site.documents import IndexPage
from app.store.records import Notification

if TYPE_CHECKING:
    from app.notify.retry import DeliveryReport
    from app.service import Service


def deliver_after_poll(service: Service, started: float) -> str | None:
    """Deliver what is due within what is left of the poll's budget (``started``: monotonic).

    One line for the poll's output, or None when no target is configured.
    """
    settings = service.settings
    if not service.runtime.targets and not settings.subscriptions_on:
        return None
    left = settings.poll_budget_seconds - (time.monotonic() - started)
    if left <= 0.5:
        return "notifications: none sent (the poll used its whole time budget); sent next time"
    report = service.deliverer.deliver(budget=min(settings.notify_budget_seconds, left))
    return format_delivery(report)


def format_delivery(report: DeliveryReport) -> str:
    """One line for a delivery pass."""
    if report.busy:
        return "notifications: another toldfeed process is delivering them"
    mails = f" ({report.mails} mails to subscribers)" if report.mails else ""
    return (
        f"notifications: {report.delivered} delivered{mails}, {report.failed} failed, "
        f"{report.given_up} given up, {report.pending} pending"
    )


def format_queued(queued: list[Notification]) -> str:
    """One line for what a pass over the clock queued: ``due now: 2 window.reminder, ...``."""
    counts: dict[str, int] = {}
    for note in queued:
        counts[note.event] = counts.get(note.event, 0) + 1
    return "due now: " + ", ".join(f"{n} {event}" for event, n in sorted(counts.items()))


def notify_test(settings: Settings, name: str, kind: str = "change") -> int:
    """Send a sample notification of ``kind`` (change, reminder, digest) to the target
    ``name``; print what it answered."""
    from app.notify.samples import sample_notification
    from app.runtime import Runtime
    from app.service import Service

    if not settings.notify:
        raise ConfigError("TOLDFEED_NOTIFY is not set (the path of the targets file)")
    with Runtime.open(settings) as runtime:
        target = next((t for t in runtime.targets if t.name == name), None)
        if target is None:
            names = ", ".join(t.name for t in runtime.targets) or "none"
            raise ConfigError(f"{settings.notify}: no target named {name!r} (targets: {names})")
        now = datetime.now(UTC)
        note = sample_notification(name, target.lang, now, settings.base_url, kind)
        deliverer = Service(runtime).deliverer
        status_page = deliverer.urls.url(IndexPage(target.lang))  # the sample has no page
        answer = deliverer.send(target, note, settings.notify_timeout_seconds, status_page)
    verdict = "ok" if answer.ok else "FAILED"
    print(f"{verdict:<6} {target.name} ({target.kind.value})  {answer.said}")
    return 0 if answer.ok else 1
