"""The samples of ``toldfeed notify-test``: a change, a reminder, a digest, each about a
made-up service window and marked a test on every channel (the webhook's ``type`` is
``test``, ``sample`` names the type it shows; "TEST" heads the message). Pure; never queued.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from app.model import Incident, Kind, Lang, Status, Update, Window
from app.notify.digest import VALID
from app.notify.outbox import CREATED, notification_id
from app.notify.timed import DIGEST, REMINDER, digest_id, reminder_id
from app.store.records import Digest, Notification, Timing
from app.upstream.dates import to_local

SAMPLE_LEAD = 3600  # the sample reminder's lead

_WORDS = {
    Lang.EN: {
        "title": "This is a test of toldfeed's notifications; nothing has happened",
        "line": "Sent by toldfeed notify-test to try this target. No incident, nothing to do.",
    },
    Lang.DA: {
        "title": "Dette er en test af toldfeeds beskeder; intet er sket",
        "line": "Sendt af toldfeed notify-test for at prøve denne modtager. Ingen hændelse, "
        "intet at gøre.",
    },
}


def sample_incident(lang: Lang, now: datetime, base_url: str) -> Incident:
    """A made-up service window, tomorrow, its title saying it is a test (its key is new every
    time: a new e-mail thread per test)."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    words = _WORDS[lang]
    return Incident(
        key=f"toldfeed-test-{now:%Y%m%dT%H%M%SZ}",
        refs=(),
        oids=(),
        oid=0,
        links={lang.value: base_url.rstrip("/") + "/"},
        title={lang.value: words["title"]},
        message_html={lang.value: f"<p>{words['line']}</p>"},
        message_text={lang.value: words["line"]},
        systems=("dms-import",),
        unknown_systems=(),
        status=Status.SCHEDULED,
        kind=Kind.SCHEDULED,
        published_at=now,
        updated_at=now,
        upstream_updated_at=now,
        updates=(Update(words["line"], lang, at=now),),
        window=Window(start_at=start, end_at=start + timedelta(hours=2)),
    )


def sample_notification(
    target: str, lang: Lang, now: datetime, base_url: str, kind: str = "change"
) -> Notification:
    """The sample of ``kind`` ("change", "reminder" or "digest") for ``target``."""
    incident = sample_incident(lang, now, base_url)
    if kind == "reminder":
        window = incident.window
        assert window is not None
        start = window.start_at
        timing = Timing(start - timedelta(seconds=SAMPLE_LEAD), start, SAMPLE_LEAD)
        note_id = reminder_id(incident, SAMPLE_LEAD, start)
        return Notification(note_id, target, REMINDER, incident, now, timing=timing, test=True)
    if kind == "digest":
        day = to_local(now).date()
        digest = Digest(day, now, now - timedelta(days=1), windows=(incident,))
        timing = Timing(now, now + VALID)
        return Notification(
            f"{digest_id(target, day)}:test-{now:%H%M%S}",
            target,
            DIGEST,
            None,
            now,
            timing=timing,
            digest=digest,
            test=True,
        )
    note = Notification(id="", target=target, event=CREATED, incident=incident, queued_at=now)
    return replace(note, id=notification_id(incident), test=True)
