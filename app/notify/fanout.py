"""The fan-out: one outbox notification to every confirmed subscriber who wants it.

A poll queues **one** notification for the subscribers (target ``subscribers``) per real
change, whatever their number: the poll's transaction grows by one record, not by one per
subscriber; a pass over the clock likewise one per due reminder, window event or digest
(``app.notify.audience``). The deliverer hands it here, and it is expanded while it is sent:
subscribers in id order, over one SMTP connection, to each who wants it (``audience.wants``),
each mail in the subscriber's language (a digest narrowed to their systems) and with their own
list headers and link. A time-driven one still going out when it is too late (a reminder at
the window's start) stops there, and the deliverer gives the rest up. After each mail the
progress (``fanout:<n>``: the last id handled, the mails to try again) is committed, so a
process killed mid-way goes on where it stopped: a subscriber gets the notification once
(twice only if the kill falls between the relay's "250 OK" and that commit). A subscriber
confirmed after it was queued does not get it.

A mail refused for its recipient (a full mailbox) is tried again later with the deliverer's
backoff, a 5xx given up; neither holds back the others, nor the next change. A relay that
cannot be reached stops the fan-out where it is: the deliverer retries it with backoff, and
nothing is lost. Log lines and stored errors never hold an address.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from app.catalogue import Catalogue
from app.config import Settings
from app.model import Lang
from app.notify.audience import narrowed, wants
from app.notify.compose import words_for
from app.notify.letters import Letters
from app.notify.mail import build, mailable
from app.notify.message import Message
from app.notify.retry import retry_wait, too_late
from app.notify.smtp import Refused, RelayDown, SmtpSession
from app.notify.targets import SUBSCRIBERS, ChannelKind, SmtpServer, Target, parse_smtp_url
from app.site.urls import Urls
from app.store import Batch, Store
from app.store.records import Notification
from app.store.subscriber_records import FanOutProgress, RecipientRetry, Subscription

log = logging.getLogger("toldfeed.notify")


@dataclass(frozen=True, slots=True)
class _Run:
    """One run of one fan-out: notification ``n``, its session, until ``deadline``."""

    n: int
    note: Notification
    session: SmtpSession
    deadline: float  # monotonic
    give_up_at: datetime


@dataclass(frozen=True, slots=True)
class FanOutResult:
    """What one run of a fan-out did; ``error`` when the relay failed (the run stopped)."""

    delivered: int = 0  # mails
    failed: int = 0
    given_up: int = 0
    swept: bool = False  # every subscriber handled once: later changes may go ahead
    done: bool = False  # swept, and no mail left to try again: the notification is finished
    error: str | None = None

    @property
    def said(self) -> str:
        """The run in one line (the deliverer's log line and the target's figures)."""
        return f"{self.delivered} mail(s) sent, {self.failed} failed, {self.given_up} given up"


class FanOut:
    """Sends outbox notifications to the subscribers, over one connection per run."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalogue: Catalogue,
        urls: Urls,
        letters: Letters,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        self.urls = urls
        self.letters = letters
        self.clock = clock
        self.server: SmtpServer = parse_smtp_url(settings.smtp_url)
        self._composed: dict[tuple[str, Lang, frozenset[str]], tuple[Notification, Message]] = {}

    def run(
        self, n: int, note: Notification, deadline: float, give_up_at: datetime
    ) -> FanOutResult:
        """Go on with fan-out ``n`` of ``note`` until it is swept or ``deadline`` (monotonic)."""
        before = progress = self.store.fanout(n) or FanOutProgress()
        self._composed = {}  # each run composes each language once
        error = None
        session = SmtpSession(self.server, self.settings.notify_timeout_seconds)
        run = _Run(n, note, session, deadline, give_up_at)
        try:
            with session:
                if not progress.swept:
                    progress = self._sweep(run, progress)
                if progress.swept:
                    progress = self._retry(run, progress)
        except RelayDown as e:
            error = e.said
            progress = self.store.fanout(n) or progress  # what was committed
        result = FanOutResult(
            delivered=progress.delivered - before.delivered,
            failed=progress.failed - before.failed,
            given_up=progress.given_up - before.given_up,
            swept=progress.swept,
            done=progress.swept and not progress.retries and error is None,
            error=error,
        )
        if result.delivered or result.failed or result.given_up:
            log.info(
                "fan-out target=%s id=%s sent=%d failed=%d given_up=%d retries=%d swept=%s",
                SUBSCRIBERS,
                note.id,
                result.delivered,
                result.failed,
                result.given_up,
                len(progress.retries),
                progress.swept,
            )
        return result

    def _sweep(self, run: _Run, progress: FanOutProgress) -> FanOutProgress:
        """Every subscriber after the cursor once, in id order, until ``deadline``."""
        skipped = False
        for sub in self.store.subscriptions(after=progress.cursor):
            if self._stop(run):
                if skipped:
                    self._commit(run.n, progress)
                return progress
            if not self._eligible(sub, run.note):
                progress, skipped = replace(progress, cursor=sub.id), True
                continue
            progress = self._send(run, sub, replace(progress, cursor=sub.id), 0)
            skipped = False
        progress = replace(progress, swept=True)
        self._commit(run.n, progress)
        return progress

    def _retry(self, run: _Run, progress: FanOutProgress) -> FanOutProgress:
        """The mails refused for a reason that may pass, when their time has come."""
        for sid, retry in sorted(progress.retries.items()):
            if self._stop(run):
                break
            if retry.next_attempt_at > self.clock():
                continue
            sub = self.store.subscription(sid)
            if sub is None or not self._eligible(sub, run.note):  # unsubscribed meanwhile
                retries = {k: v for k, v in progress.retries.items() if k != sid}
                progress = replace(progress, retries=retries)
                self._commit(run.n, progress)
                continue
            progress = self._send(run, sub, progress, retry.attempts)
        return progress

    def _stop(self, run: _Run) -> bool:
        """True when the run is to stop: its budget spent, or too late for what it tells (a
        reminder at the window's start: the deliverer then gives the rest up)."""
        return time.monotonic() >= run.deadline or bool(too_late(run.note, self.clock()))

    def _eligible(self, sub: Subscription, note: Notification) -> bool:
        return (
            sub.choices is not None
            and sub.confirmed_at is not None
            and sub.confirmed_at <= note.queued_at
            and wants(sub.choices, note)
        )

    def _send(
        self, run: _Run, sub: Subscription, progress: FanOutProgress, attempts: int
    ) -> FanOutProgress:
        """One mail to ``sub``; its outcome committed with the progress (RelayDown: nothing)."""
        now, note = self.clock(), run.note
        retries = {k: v for k, v in progress.retries.items() if k != sub.id}
        if not mailable(sub.address):  # this address alone: it holds back no other subscriber
            log.warning("fan-out mail given up subscriber=%s id=%s reason=address", sub.id, note.id)
            progress = replace(progress, retries=retries, given_up=progress.given_up + 1)
            self._commit(run.n, progress)
            return progress
        message = self.message(note, sub, now)  # a fault in what it says is everyone's: it surfaces
        outcome = run.session.send(message, self.settings.smtp_from, [sub.address])
        if not isinstance(outcome, Refused):
            progress = replace(progress, retries=retries, delivered=progress.delivered + 1)
            log.debug("fan-out mail sent id=%s to=%s", note.id, sub.address)
        else:
            said = re.sub(re.escape(sub.address), "<subscriber>", outcome.said, flags=re.IGNORECASE)
            if outcome.permanent or now >= run.give_up_at:
                progress = replace(progress, retries=retries, given_up=progress.given_up + 1)
                log.warning(
                    "fan-out mail given up subscriber=%s id=%s reason=%s", sub.id, note.id, said
                )
            else:
                wait = timedelta(seconds=retry_wait(self.settings, attempts + 1, None))
                again = min(now + wait, run.give_up_at)
                retries[sub.id] = RecipientRetry(attempts + 1, again, said)
                progress = replace(progress, retries=retries, failed=progress.failed + 1)
                log.warning(
                    "fan-out mail failed subscriber=%s id=%s reason=%s", sub.id, note.id, said
                )
        self._commit(run.n, progress)
        return progress

    def message(self, note: Notification, sub: Subscription, now: datetime) -> EmailMessage:
        """The mail telling ``sub`` about ``note``: the target's mail in their language (a
        digest narrowed to their systems), with their list headers and link. The words are
        composed once per run for each language (and, for a digest, each set of systems)."""
        lang = sub.lang
        systems = sub.choices.systems if note.digest is not None and sub.choices else frozenset()
        composed = self._composed.get((note.id, lang, systems))
        if composed is None:
            theirs = narrowed(note, systems)
            composed = theirs, words_for(theirs, self.catalogue, lang, self.urls)
            self._composed[(note.id, lang, systems)] = composed
        note, message = composed
        target = Target(
            name=SUBSCRIBERS,
            kind=ChannelKind.EMAIL,
            lang=lang,
            to=(sub.address,),
            smtp=self.server,
            sender=self.settings.smtp_from,
        )
        return build(target, note, message, now, self.letters.listing(sub, now))

    def _commit(self, n: int, progress: FanOutProgress) -> None:
        batch = Batch()
        Store.stage_fanout(batch, n, progress)
        self.store.commit(batch)
