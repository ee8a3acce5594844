"""The notification side of a process: the deliverer (its own lock and thread), the
self-service subscribers' fan-out and confirmation mails, and the passes over the clock that
queue reminders, window events and digests.

A mixin of ``app.service.Service``: it uses the service's runtime, settings, clock and
publisher (whose archive the passes over the clock read), and nothing else of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from app.config import Settings
from app.notify.recipients import Recipient
from app.publish.publisher import Publisher
from app.runtime import Runtime
from app.store.locks import PollLock
from app.store.records import Notification

if TYPE_CHECKING:
    from app.notify.clockwork import Clockwork
    from app.notify.confirmations import Confirmations
    from app.notify.delivery import Deliverer

# The delivery side (channels, mail, the clock's passes) is imported where it is first needed:
# a poll with no target and no subscriber never loads it (some 10 to 15 ms of a cron poll).


class Courier:
    """Delivery and the clock, for ``app.service.Service``: what the outbox holds is carried out."""

    runtime: Runtime
    settings: Settings
    clock: Callable[[], datetime]
    publisher: Publisher

    @cached_property
    def deliverer(self) -> Deliverer:
        """Delivers the outbox under ``<data dir>/notify.lock``, never under the poll lock;
        to the self-service subscribers too when they are on."""
        from app.notify.delivery import Deliverer
        from app.notify.fanout import FanOut

        runtime = self.runtime
        fanout = confirmations = None
        if self.settings.subscriptions_on:
            fanout = FanOut(
                self.settings,
                runtime.store,
                runtime.catalogue,
                runtime.urls,
                runtime.letters,
                self.clock,
            )
            confirmations = self.confirmations
        return Deliverer(
            self.settings,
            runtime.store,
            runtime.catalogue,
            runtime.targets,
            lambda: runtime.poster,
            PollLock(self.settings.data_dir / "notify.lock"),
            clock=self.clock,
            urls=runtime.urls,
            fanout=fanout,
            upkeep=confirmations.upkeep if confirmations else None,
        )

    def wake_deliverer(self) -> None:
        """Make the delivery thread look at the outbox now (if there is anyone to tell)."""
        if self.runtime.targets or self.settings.subscriptions_on:  # else none is built
            self.deliverer.wake()

    @cached_property
    def confirmations(self) -> Confirmations:
        """Sends the subscribers' confirmation mails; sweeps unconfirmed sign-ups."""
        from app.notify.confirmations import Confirmations

        runtime = self.runtime
        return Confirmations(
            self.settings, runtime.store, runtime.subscriptions, runtime.letters, self.clock
        )

    def recipients(self) -> list[Recipient]:
        """Who is told about time: every push target (with what it chose), and the
        self-service subscribers together when they are on (``fanout.everyone``)."""
        found = [t.recipient for t in self.runtime.targets]
        if self.settings.subscriptions_on:
            from app.notify.audience import everyone

            found.append(everyone(self.settings.subscription_digest_time))
        return found

    @cached_property
    def clockwork(self) -> Clockwork:
        """The passes over the clock: reminders, window events, digests (``app.notify``)."""
        from app.notify.clockwork import Clockwork

        return Clockwork(self.runtime.store, self.settings.overrun_grace_seconds)

    def look_at_the_clock(self) -> list[Notification]:
        """Queue the reminders, window events and digests due now (after a poll, and at
        least every minute in ``serve``); the notifications queued. Needs no lock: each is
        queued once whoever queues it (``app.notify.clockwork``)."""
        recipients = self.recipients()
        if not any(r.told_of_time for r in recipients):
            return []
        archive, generation = self.publisher.archive, self.runtime.store.generation()
        queued = self.clockwork.run(archive, generation, self.clock(), recipients)
        if queued:
            self.deliverer.wake()
        return queued

    def look_between_polls(self) -> list[Notification]:
        """``look_at_the_clock`` on what the last look saw, while the store is unchanged: the
        delivery thread's, every few seconds, so a long poll delays no reminder."""
        return self.clockwork.between(self.clock(), self.recipients())

    def start_delivery(self, stop: threading.Event) -> None:
        """Deliver, and pass over the clock between polls, in a daemon thread of its own
        until ``stop`` is set: a slow target never delays a poll."""
        threading.Thread(
            target=self.deliverer.run,
            args=(stop, self.look_between_polls),
            name="toldfeed-notify",
            daemon=True,
        ).start()
