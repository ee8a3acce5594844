"""Which notifications a poll queues (pure), and the per-target figures of the outbox.

A poll queues one notification per target whose filters pass, for every incident the
decision writes that is new or whose ``updated_at`` moved: exactly when its ``updated``
moves, never otherwise. The first poll into an empty store (``generation`` 0 before it) is a
backfill and queues nothing; it records the newest change it was filled with
(``news_since``), and a change dated before that is old news whenever a later poll learns of
it (a detail page the first poll had no time or luck to read, a source that failed then): it
is published, never pushed. The
notifications go into the poll's own batch, so a change and its notifications are committed
together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.model import Incident
from app.notify.targets import SUBSCRIBERS, ChannelKind, Target
from app.render.entry import entry_id
from app.store import Store
from app.store.records import Delivery, Notification, OutboxState, TargetStats

CREATED, UPDATED = "incident.created", "incident.updated"
# the sample of ``toldfeed notify-test``: never queued, and no incident: a receiver that acts
# on incident.created (a ticketing system) must not act on it
TEST = "test"


def notification_id(incident: Incident) -> str:
    """``<entry id>#<updated>``: the same for every attempt, new for every real change."""
    return f"{entry_id(incident)}#{incident.updated_at.isoformat()}"


def queue_notifications(
    incidents: Iterable[Incident],
    before: Mapping[str, Incident],
    targets: Sequence[Target],
    *,
    backfill: bool,
    now: datetime,
    news_since: datetime | None = None,
    subscribers: bool = False,
) -> list[Notification]:
    """One notification per matching target for each real change among ``incidents``, and
    with ``subscribers`` one more for all the self-service subscribers together (expanded
    while it is sent: ``app.notify.fanout``).

    ``before`` holds the stored versions (by key) of the incidents being written; changes
    dated before ``news_since`` (the first poll) are old news.
    """
    if backfill or not (targets or subscribers):
        return []
    names = channel_names((t.name for t in targets), subscribers)
    wanted = {t.name: t.wants for t in targets}
    queued: list[Notification] = []
    for incident in incidents:
        old = before.get(incident.key)
        if old is not None and old.updated_at == incident.updated_at:
            continue  # rewritten without a real change (a derived field, a re-merge)
        if news_since is not None and incident.updated_at < news_since:
            continue  # happened before the first poll; learnt only now
        event = CREATED if old is None else UPDATED
        queued += [
            Notification(
                id=notification_id(incident),
                target=name,
                event=event,
                incident=incident,
                queued_at=now,
            )
            for name in names
            if name not in wanted or wanted[name](incident)  # each subscriber's: when sent
        ]
    return queued


@dataclass(frozen=True, slots=True)
class TargetFigures:
    """What /healthz and /metrics show for one target."""

    pending: int
    stats: TargetStats


def target_figures(store: Store, names: Iterable[str] = ()) -> dict[str, TargetFigures]:
    """Figures of every target in ``names`` or with any history, by name."""
    state = store.outbox_state()
    pending = pending_numbers(store, state)
    chosen = dict.fromkeys([*names, *state.targets, *pending.values()])
    counts = {name: 0 for name in chosen}
    for name in pending.values():
        counts[name] += 1
    return {
        name: TargetFigures(counts[name], state.targets.get(name, TargetStats())) for name in chosen
    }


def pending_numbers(store: Store, state: OutboxState) -> dict[int, str]:
    """Pending numbers → target, including those a poll queued since the deliverer last looked."""
    pending = dict(state.pending)
    for n in range(state.cursor + 1, store.outbox_seq() + 1):
        note = store.notification(n)
        if note is not None and note.state is Delivery.PENDING:
            pending[n] = note.target
    return pending


def channel_names(names: Iterable[str], subscribers: bool) -> list[str]:
    """The names notifications are queued and counted under: the targets', and with
    ``subscribers`` the one of all the self-service subscribers together."""
    return [*names, *([SUBSCRIBERS] if subscribers else [])]


def health_section(
    store: Store, targets: Sequence[Target], subscribers: bool = False
) -> dict[str, dict[str, object]]:
    """The /healthz ``notify`` section: per target its figures, last success and last error
    (with ``subscribers``, the self-service subscribers' too, as one target of kind email)."""
    kinds = {t.name: t.kind.value for t in targets}
    if subscribers:
        kinds[SUBSCRIBERS] = ChannelKind.EMAIL.value
    return {
        name: {
            "kind": kinds.get(name),  # None: no longer in the targets file
            "pending": f.pending,
            "delivered": f.stats.delivered,
            "failed": f.stats.failed,
            "given_up": f.stats.given_up,
            "last_success_at": _iso(f.stats.last_success_at),
            "last_failure_at": _iso(f.stats.last_failure_at),
            "last_error": f.stats.last_error,
        }
        for name, f in target_figures(store, kinds).items()
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
