"""The words of one notification for one target, in its language (``Message``), and those of
a change. Pure.

For a change every channel shows the same facts: the title, the state (status), the systems,
the newest update line, the service window and the fallback procedure when known, a button
to the incident's page on toldfeed (``/incidents/<key>``) and the agency's own message when
known. Reminders and window events have their words in ``moment_message``, digests in
``digest_message``; ``compose.words_for`` picks.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.catalogue import Catalogue
from app.model import Incident, Lang, Update
from app.notify.outbox import TEST
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
    },
    Lang.DA: {
        "incident.created": "Ny",
        "incident.updated": "Opdateret",
        TEST: "TEST",
        "no_update": "Ingen opdateringer endnu.",
    },
}


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a digest's section: ``text`` (linked to ``link``) and ``detail``."""

    text: str
    detail: str
    link: str


@dataclass(frozen=True, slots=True)
class Section:
    """A digest's list under a title; ``none`` is said when it is empty."""

    title: str
    items: tuple[Item, ...]
    none: str


@dataclass(frozen=True, slots=True)
class Message:
    """One notification in words; labels are in ``lang``.

    A change shows its facts, window, fallback and newest update; a reminder or window event
    leads with ``summary`` (what a colleague would say); a digest is ``summary`` and
    ``sections``. What a kind does not have is empty, and channels leave it out.
    """

    id: str
    event: str
    lang: Lang
    key: str  # the incident's ("" for a digest)
    headline: str  # "Updated: <title>"
    title: str  # the e-mail's subject
    state: str
    systems: str
    latest: str  # the newest update line, with its time; or a "no update" phrase
    window: str  # "" when unknown
    fallback: str  # "" when unknown
    link: str  # the incident's page on toldfeed (the button); the status page for a digest
    labels: dict[str, str]
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) pairs shown as a table
    official: str = ""  # the agency's own message
    summary: str = ""
    sections: tuple[Section, ...] = ()
    button: str = ""  # the button's words (default: the "related" label)

    @property
    def text(self) -> str:
        """The plain-text body: headline, summary, facts, window and fallback, newest update,
        sections, link; a blank line between parts."""
        facts = [f"{label}: {value}" for label, value in self.facts]
        facts += [line for line in (self.window, self.fallback) if line]
        blocks = [[self.headline], [self.summary] if self.summary else [], facts]
        if self.latest:
            blocks.append([f"{self.labels['latest']}: {self.latest}"])
        for section in self.sections:
            items = [f"- {i.text}" + (f" ({i.detail})" if i.detail else "") for i in section.items]
            blocks.append([section.title, *(items or [section.none])])
        official = f"{self.labels['official']}: {self.official}" if self.official else ""
        blocks.append([self.link, official] if official else [self.link])
        return "\n\n".join("\n".join(block) for block in blocks if block)


LABELS = ("status", "systems", "updated", "reference", "latest", "official", "related")


def change_facts(
    incident: Incident, catalogue: Catalogue, lang: Lang
) -> tuple[tuple[str, str], ...]:
    """Status, systems, when it changed and the reference, labelled in ``lang``."""
    facts = [
        (word(lang, "status"), status_word(lang, incident.status)),
        (word(lang, "systems"), ", ".join(system_names(incident, catalogue, lang)) or "-"),
        (word(lang, "updated"), zoned_time(incident.updated_at, lang)),
    ]
    if incident.ref:
        facts.append((word(lang, "reference"), incident.ref))
    return tuple(facts)


def compose(note: Notification, catalogue: Catalogue, lang: Lang, page_url: str) -> Message:
    """What a change (``note``) says, in ``lang``; ``page_url`` is the incident's page on
    toldfeed."""
    incident = note.incident
    assert incident is not None  # a change is about one incident
    lines = timeline(incident, lang)
    heading = _WORDS[lang][TEST if note.test else note.event]
    return Message(
        id=note.id,
        event=note.event,
        lang=lang,
        key=incident.key,
        headline=f"{heading}: {incident.title_in(lang)}",
        title=incident.title_in(lang),
        state=status_word(lang, incident.status),
        systems=", ".join(system_names(incident, catalogue, lang)) or "-",
        latest=_line(lines[0], lang) if lines else _WORDS[lang]["no_update"],
        window=describe_window(incident.window, lang) if incident.window else "",
        fallback=describe_fallback(incident.fallback, lang) if incident.fallback else "",
        link=page_url,
        official=incident.link_in(lang),
        labels={key: word(lang, key) for key in LABELS},
        facts=change_facts(incident, catalogue, lang),
    )


def _line(update: Update, lang: Lang) -> str:
    when = update.at or update.seen_at
    return f"{zoned_time(when, lang)}: {update.text}" if when else update.text
