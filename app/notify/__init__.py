"""Push notifications: tell Teams, Slack, any webhook and e-mail when an incident really changes,
and, when asked, before a service window, when it starts, when its end is not reported, and
once a day in a digest.

    targets.py   the targets file (TOLDFEED_NOTIFY, TOML): records, filters, checks
    outbox.py    pure: a poll's decision → one Notification per matching target per real
                 change (queued in the poll's own batch); the figures /healthz and /metrics show
    message.py   pure: a notification → the words one target reads (its language)
    recipients.py  pure: who is told about time, with its choices (leads, events, digest)
    timed.py     pure: the reminders and window events due at a moment (a sorted schedule)
    digest.py    pure: when a recipient's digest is due, and what it shows
    clockwork.py a pass over the clock: queue what is due, once per id and recipient
    moment_message.py, digest_message.py, compose.py: the words of those, and which words
    samples.py   the samples of ``toldfeed notify-test`` (a change, a reminder, a digest)
    teams.py     a Workflows webhook message with one Adaptive Card
    slack.py     an incoming-webhook message: text + blocks
    webhook.py   Standard Webhooks: JSON signed with the target's whsec_ secret
    mail.py      e-mail over SMTP (smtplib): text + HTML, one thread per incident
    channel.py   what a send answered (``Answer``), the shared HTTP POST of the three above
    delivery.py  the deliverer: due notifications out, retries with backoff, give-up
    ledger.py    its books: each outcome committed with the target's figures, and logged
    smtp.py      one SMTP connection for many messages (TLS, STARTTLS, login)
    retry.py     when to try again, what a pass reports, the lock it runs under
    registry.py  the channels by kind

Self-service e-mail subscriptions (``TOLDFEED_SUBSCRIPTIONS=email``):

    tokens.py         signed links (itsdangerous), one subscription and one purpose each
    signup.py         the rules: sign up, confirm, change, unsubscribe, limits, sweep
    letters.py        list headers, the subscriber's link, the confirmation mail
    confirmations.py  sending queued confirmation mails; the upkeep
    audience.py       all of them one recipient of the clock; who wants what, as they read it
    fanout.py         one outbox notification to every subscriber who wants it

    websub.py    the WebSub publish ping

A real change is an incident that is new, or whose ``updated_at`` moved; the first poll into
an empty store is a backfill and queues nothing. Delivery is at least once: a notification is
marked delivered only after the target accepted it, in its own commit, and every attempt
carries the same id (``<entry id>#<updated>``; time-driven ones: INTERFACE.md's ids).
"""
