"""Words and date formats of the published documents, in English and Danish."""

from __future__ import annotations

from datetime import datetime

from app.model import Lang, Status
from app.upstream.dates import to_local

_MONTHS = {
    Lang.EN: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    Lang.DA: [
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "maj",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "okt.",
        "nov.",
        "dec.",
    ],
}

# Long forms for service windows ("Tuesday 19 May 2026" / "tirsdag 19. maj 2026").
MONTHS_LONG = {
    Lang.EN: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    Lang.DA: [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ],
}
WEEKDAYS = {
    Lang.EN: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    Lang.DA: ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
}

WORDS: dict[Lang, dict[str, str]] = {
    Lang.EN: {
        "current": "Ongoing disruption",
        "scheduled": "Scheduled unavailability",
        "closed": "Closed",
        "status": "Status",
        "systems": "Systems",
        "timeline": "Timeline",
        "message": "Message",
        "reference": "Reference",
        "created": "Created",
        "seen": "first shown",
        "official": "Official message",
        "all_title": "Danish customs systems: service status",
        "system_title": "{name}: service status",
        "status_title": "Danish customs systems: {status}",
        "feed_subtitle": "Disruptions and service windows of the Danish Customs Agency's systems, "
        "one entry per incident, republished by toldfeed.",
        "state_current": "Ongoing disruption",
        "state_scheduled": "Service window announced",
        "state_ok": "Operational",
        "next_window": "Next {window}",
        "calendar_all": "Danish customs systems: service windows",
        "calendar_system": "{name}: service windows",
        "calendars": "Calendars of the service windows",
        "calendar_hint": "Subscribe in Outlook (Add calendar → From Internet) or Google Calendar "
        "(Other calendars → From URL); it refreshes by itself.",
        "systems_api": "State of every system (JSON)",
        "latest": "Latest",
        "no_messages": "No messages.",
        "refreshed": "Data last refreshed",
        "never": "never",
        "feed_urls": "Feed URLs",
        "blind": "The agency's status page could not be read since {since} ({reason}). "
        "Showing what toldfeed has stored; it keeps trying.",
        "blind_title": "toldfeed cannot read the agency's status page",
        "source_failing": "{url} could not be read since {since} ({reason}); the other sources are read as usual.",
        "blind_body": "Since {since} toldfeed has not been able to read the Danish Customs Agency's "
        "status page ({reason}). Entries in this feed may be out of date. Check {url} directly.",
        "index_title": "Service status of the Danish customs systems",
        "index_intro": "Clean feeds of the Danish Customs Agency's service messages: one entry per "
        "incident, every update in one timeline. Subscribe per system or per status.",
        "all_feeds": "All systems",
        "by_status": "By status",
        "other_lang": "Dansk",
        "updated": "Updated",
        "window_day": "Service window: {day}, {start}-{end} Danish time",
        "window_span": "Service window: {start_day} {start} to {end_day} {end} Danish time",
        "window_open": "Service window: {day} from {start} Danish time, end not announced",
        "window_cancelled": "{text} (cancelled)",
        "fallback_allowed": "Fallback procedure: allowed",
        "fallback_not_allowed": "Fallback procedure: not allowed",
        "system_disrupted": "disrupted",
        "system_maintenance": "maintenance",
        "system_maintenance_until": "maintenance until {until}",
        "system_operational": "operational",
    },
    Lang.DA: {
        "current": "Driftsforstyrrelse",
        "scheduled": "Planlagt nedlukning",
        "closed": "Afsluttet",
        "status": "Status",
        "systems": "Systemer",
        "timeline": "Forløb",
        "message": "Meddelelse",
        "reference": "Reference",
        "created": "Oprettet",
        "seen": "først vist",
        "official": "Officiel meddelelse",
        "all_title": "Toldsystemerne: driftsstatus",
        "system_title": "{name}: driftsstatus",
        "status_title": "Toldsystemerne: {status}",
        "feed_subtitle": "Driftsforstyrrelser og servicevinduer i Toldstyrelsens systemer, "
        "én post pr. hændelse, genudgivet af toldfeed.",
        "state_current": "Driftsforstyrrelse nu",
        "state_scheduled": "Servicevindue varslet",
        "state_ok": "I drift",
        "next_window": "Næste {window}",
        "calendar_all": "Toldsystemerne: servicevinduer",
        "calendar_system": "{name}: servicevinduer",
        "calendars": "Kalendere med servicevinduerne",
        "calendar_hint": "Abonnér i Outlook (Tilføj kalender → Fra internettet) eller Google "
        "Kalender (Andre kalendere → Fra webadresse); den opdaterer sig selv.",
        "systems_api": "Alle systemers status (JSON)",
        "latest": "Seneste",
        "no_messages": "Ingen meddelelser.",
        "refreshed": "Data senest opdateret",
        "never": "aldrig",
        "feed_urls": "Feed-adresser",
        "blind": "Toldstyrelsens driftsside har ikke kunnet læses siden {since} ({reason}). "
        "Viser det, toldfeed har gemt; der prøves igen.",
        "blind_title": "toldfeed kan ikke læse Toldstyrelsens driftsside",
        "source_failing": "{url} har ikke kunnet læses siden {since} ({reason}); de øvrige kilder læses som normalt.",
        "blind_body": "Siden {since} har toldfeed ikke kunnet læse Toldstyrelsens driftsside "
        "({reason}). Posterne i dette feed kan være forældede. Se {url} direkte.",
        "index_title": "Driftsstatus for toldsystemerne",
        "index_intro": "Rene feeds med Toldstyrelsens driftsmeddelelser: én post pr. hændelse og "
        "alle opdateringer i ét forløb. Abonnér pr. system eller pr. status.",
        "all_feeds": "Alle systemer",
        "by_status": "Efter status",
        "other_lang": "English",
        "updated": "Opdateret",
        "window_day": "Servicevindue: {day}, {start}-{end} dansk tid",
        "window_span": "Servicevindue: {start_day} kl. {start} til {end_day} kl. {end} dansk tid",
        "window_open": "Servicevindue: {day} fra kl. {start} dansk tid, sluttidspunkt ikke oplyst",
        "window_cancelled": "{text} (aflyst)",
        "fallback_allowed": "Nødprocedure: tilladt",
        "fallback_not_allowed": "Nødprocedure: ikke tilladt",
        "system_disrupted": "driftsforstyrrelse",
        "system_maintenance": "servicevindue",
        "system_maintenance_until": "servicevindue til {until}",
        "system_operational": "i drift",
    },
}


def word(lang: Lang, key: str, **values: str) -> str:
    """A phrase in ``lang``, with ``{placeholders}`` filled."""
    return WORDS[lang][key].format(**values)


def status_word(lang: Lang, status: Status) -> str:
    """The status as readers see it."""
    return WORDS[lang][status.value]


def local_time(value: datetime, lang: Lang) -> str:
    """Danish local time with date and year: ``19 May 2026 21:46`` / ``19. maj 2026 kl. 21:46``."""
    local = to_local(value)
    month = _MONTHS[lang][local.month - 1]
    if lang is Lang.DA:
        return f"{local.day}. {month} {local.year} kl. {local:%H:%M}"
    return f"{local.day} {month} {local.year} {local:%H:%M}"
