"""The words of one notification for one target, in its language. Pure.

Every channel shows the same facts: the title, the state (status), the systems, the newest
update line, the service window and the fallback procedure when known, a button to the
incident's page on toldfeed (``/incidents/<key>``) and the agency's own message when known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.catalogue import Catalogue
from app.model import Incident, Kind, Lang, Status, Update, Window
from app.notify.outbox import TEST, notification_id
from app.render.entry import system_names, timeline
from app.render.i18n import status_word, word, zoned_time
from app.render.status import describe_fallback, describe_window
from app.store.records import Notification

_WORDS = {
    Lang.EN: {
        "incident.created": "New",
        "incident.updated": "Updated",
        TEST: "TEST",
        "no_update": "No update lines yet.",
        "sample_title": "This is a test of toldfeed's notifications; nothing has happened",
        "sample_line": "Sent by toldfeed notify-test to try this target. No incident, nothing to do.",
    },
    Lang.DA: {
        "incident.created": "Ny",
        "incident.updated": "Opdateret",
        TEST: "TEST",
        "no_update": "Ingen opdateringer endnu.",
        "sample_title": "Dette er en test af toldfeeds beskeder; intet er sket",
        "sample_line": "Sendt af toldfeed notify-test for at prøve denne modtager. Ingen hændelse, "
        "intet at gøre.",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    """One notification in words; labels are in ``lang``."""

    id: str
    event: str
    lang: Lang
    key: str
    headline: str  # "Updated: <title>"
    title: str
    state: str
    systems: str
    latest: str  # the newest update line, with its time; or a "no update" phrase
    window: str  # "" when unknown
    fallback: str  # "" when unknown
    reference: str
    updated_at: datetime
    link: str  # the incident's page on toldfeed (the button)
    labels: dict[str, str]
    official: str = ""  # the agency's own message

    @property
    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs shown as a table."""
        facts = [
            (self.labels["status"], self.state),
            (self.labels["systems"], self.systems),
            (self.labels["updated"], zoned_time(self.updated_at, self.lang)),
        ]
        if self.reference:
            facts.append((self.labels["reference"], self.reference))
        return facts

    @property
    def text(self) -> str:
        """The plain-text body: headline, facts, window and fallback, newest update, link."""
        lines = [self.headline, ""]
        lines += [f"{label}: {value}" for label, value in self.facts]
        lines += [line for line in (self.window, self.fallback) if line]
        lines += ["", f"{self.labels['latest']}: {self.latest}", "", self.link]
        if self.official:
            lines.append(f"{self.labels['official']}: {self.official}")
        return "\n".join(lines)


def compose(note: Notification, catalogue: Catalogue, lang: Lang, page_url: str) -> Message:
    """What ``note`` says, in ``lang``; ``page_url`` is the incident's page on toldfeed."""
    incident = note.incident
    lines = timeline(incident, lang)
    return Message(
        id=note.id,
        event=note.event,
        lang=lang,
        key=incident.key,
        headline=f"{_WORDS[lang][note.event]}: {incident.title_in(lang)}",
        title=incident.title_in(lang),
        state=status_word(lang, incident.status),
        systems=", ".join(system_names(incident, catalogue, lang)) or "-",
        latest=_line(lines[0], lang) if lines else _WORDS[lang]["no_update"],
        window=describe_window(incident.window, lang) if incident.window else "",
        fallback=describe_fallback(incident.fallback, lang) if incident.fallback else "",
        reference=incident.ref or "",
        updated_at=incident.updated_at,
        link=page_url,
        official=incident.link_in(lang),
        labels={
            key: word(lang, key)
            for key in (
                "status",
                "systems",
                "updated",
                "reference",
                "latest",
                "official",
                "related",
            )
        },
    )


def _line(update: Update, lang: Lang) -> str:
    when = update.at or update.seen_at
    return f"{zoned_time(when, lang)}: {update.text}" if when else update.text


def sample_notification(target: str, lang: Lang, now: datetime, base_url: str) -> Notification:
    """A made-up notification for ``toldfeed notify-test``: its event is ``test`` (the webhook's
    ``type``; "TEST" heads the message on every channel) and its title says it is one."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    incident = Incident(
        key=f"toldfeed-test-{now:%Y%m%dT%H%M%SZ}",  # a new e-mail thread per test
        refs=(),
        oids=(),
        oid=0,
        links={lang.value: base_url.rstrip("/") + "/"},
        title={lang.value: _WORDS[lang]["sample_title"]},
        message_html={lang.value: f"<p>{_WORDS[lang]['sample_line']}</p>"},
        message_text={lang.value: _WORDS[lang]["sample_line"]},
        systems=("dms-import",),
        unknown_systems=(),
        status=Status.SCHEDULED,
        kind=Kind.SCHEDULED,
        published_at=now,
        updated_at=now,
        upstream_updated_at=now,
        updates=(Update(_WORDS[lang]["sample_line"], lang, at=now),),
        window=Window(start_at=start, end_at=start + timedelta(hours=2)),
    )
    note = Notification(id="", target=target, event=TEST, incident=incident, queued_at=now)
    return replace(note, id=notification_id(incident))
