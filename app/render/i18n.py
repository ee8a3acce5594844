"""Words and date formats of the published documents, in English and Danish."""

from __future__ import annotations

from datetime import date, datetime, timedelta

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
        "state_unknown": "Unknown",
        "opml_title": "toldfeed: every feed (English)",
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
        "fallback_restricted": "Fallback procedure: only if absolutely necessary "
        "(no general permission)",
        "system_disrupted": "disrupted",
        "system_maintenance": "maintenance",
        "system_maintenance_until": "maintenance until {until}",
        "system_operational": "operational",
        # status pages
        "skip": "Skip to content",
        "site_nav": "Site",
        "home": "Status",
        "overall_ok": "All systems operational",
        "overall_disrupted": "{names}: ongoing disruption since {since}",
        "overall_maintenance": "{names}: maintenance until {until}",
        "overall_maintenance_open": "{names}: maintenance, end not announced",
        "and": "and",
        "systems_now": "Systems now",
        "open_disruptions": "Open disruptions",
        "no_open_disruptions": "No open disruptions.",
        "windows_title": "Service windows",
        "no_windows": "No service window announced.",
        "window_running": "in progress",
        "window_coming": "to come",
        "window_ended": "ended, not yet closed",
        "window_unknown": "times not stated",
        "recently_closed": "Recently closed",
        "since": "since {time}",
        "newest_update": "Newest update",
        "subscribe": "Subscribe",
        "subscribe_intro": "Every feed comes as Atom, RSS and JSON Feed; copy a link into a feed "
        "reader, Teams, Slack or Outlook. Add ?status=current, scheduled or closed to a "
        "feed to narrow it, and ?limit=N (1-500) for more or fewer entries.",
        "url_pattern": "How the addresses are built",
        "feeds": "Feeds",
        "calendar": "Calendar",
        "embed": "Embed",
        "badge": "Badge",
        "page": "Page",
        "opml_hint": "Every feed at once for a feed reader",
        "stats_api": "Figures per system and month (JSON)",
        "incidents_api": "Incidents with their timelines (JSON)",
        "state_now": "State now",
        "history_90": "The last 90 days",
        "strip_label": "The last 90 days of {name}: {disrupted} with a disruption, "
        "{maintenance} with a service window, {operational} without incidents",
        "strip_legend_disrupted": "tall bar: disruption",
        "strip_legend_maintenance": "medium bar: service window",
        "strip_legend_operational": "short bar: no incident",
        "days": "{count} days",
        "day_one": "1 day",
        "no_incident": "no incident",
        "months_title": "The last 12 months",
        "month": "Month",
        "disruptions": "Disruptions",
        "hours_disrupted": "Hours disrupted",
        "windows": "Service windows",
        "hours_in_windows": "Hours in windows",
        "so_far": "so far",
        "months_note": "Danish local months. A disruption lasts from its publication to its "
        "closing (an open one up to now); overlapping ones count once in the hours.",
        "close_title": "Time to close a disruption",
        "close_figures": "Median {median}; 90th percentile {p90}; over {count} closed disruptions.",
        "close_none": "No closed disruption yet.",
        "close_note": "From the agency's first publication of a disruption to the moment it "
        "was marked closed. Half of the disruptions were closed within the median, nine in ten "
        "within the 90th percentile (nearest rank: each figure is a time some disruption took).",
        "incidents_title": "Incidents",
        "no_incidents": "No incidents recorded.",
        "page_of": "Page {page} of {pages}",
        "newer": "Newer",
        "older": "Older",
        "pages": "Pages",
        "history_of": "{name}: incidents, page {page}",
        "back_to_system": "State and figures of {name}",
        "published": "Published",
        "last_change": "Last change",
        "closed_at": "Closed",
        "kind": "Kind",
        "disruption": "Disruption",
        "service_window": "Service window",
        "references": "References",
        "messages_count": "Messages",
        "official_links": "Official message",
        "lang_en": "English",
        "lang_da": "Danish",
        "message_other": "The message in {language}",
        "earlier_message": "Earlier message under the same reference",
        "message_note": "The newest text of the agency's message in each language; every update "
        "line toldfeed has seen is in the timeline above.",
        "messages_note": "{count} messages of the agency share this reference; the newest one's "
        "text comes first, the earlier ones follow.",
        "incident_gone": "No incident {ref} is stored any more",
        "incident_gone_text": "It may have been merged into another incident. The status page "
        "lists every current one.",
        "page_link": "Incident page",
        "related": "Full history on toldfeed",
        "fallback_title": "Fallback procedure",
        "hours_unit": "h",
        "minutes_unit": "min",
        "days_unit": "d",
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
        "state_unknown": "Ukendt",
        "opml_title": "toldfeed: alle feeds (dansk)",
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
        "fallback_restricted": "Nødprocedure: kun hvis det er absolut nødvendigt "
        "(ingen generel tilladelse)",
        "system_disrupted": "driftsforstyrrelse",
        "system_maintenance": "servicevindue",
        "system_maintenance_until": "servicevindue til {until}",
        "system_operational": "i drift",
        # status pages
        "skip": "Gå til indholdet",
        "site_nav": "Sider",
        "home": "Status",
        "overall_ok": "Alle systemer er i drift",
        "overall_disrupted": "{names}: driftsforstyrrelse siden {since}",
        "overall_maintenance": "{names}: servicevindue til {until}",
        "overall_maintenance_open": "{names}: servicevindue, sluttidspunkt ikke oplyst",
        "and": "og",
        "systems_now": "Systemerne nu",
        "open_disruptions": "Aktuelle driftsforstyrrelser",
        "no_open_disruptions": "Ingen aktuelle driftsforstyrrelser.",
        "windows_title": "Servicevinduer",
        "no_windows": "Intet servicevindue varslet.",
        "window_running": "i gang",
        "window_coming": "kommende",
        "window_ended": "slut, endnu ikke afsluttet",
        "window_unknown": "tidspunkt ikke oplyst",
        "recently_closed": "Senest afsluttet",
        "since": "siden {time}",
        "newest_update": "Seneste opdatering",
        "subscribe": "Abonnér",
        "subscribe_intro": "Alle feeds findes som Atom, RSS og JSON Feed; kopiér et link ind i en "
        "feedlæser, Teams, Slack eller Outlook. Tilføj ?status=current, scheduled eller closed "
        "for at afgrænse et feed, og ?limit=N (1-500) for flere eller færre poster.",
        "url_pattern": "Sådan er adresserne bygget",
        "feeds": "Feeds",
        "calendar": "Kalender",
        "embed": "Indlejring",
        "badge": "Badge",
        "page": "Side",
        "opml_hint": "Alle feeds på én gang til en feedlæser",
        "stats_api": "Tal pr. system og måned (JSON)",
        "incidents_api": "Hændelser med forløb (JSON)",
        "state_now": "Status nu",
        "history_90": "De seneste 90 dage",
        "strip_label": "De seneste 90 dage for {name}: {disrupted} med driftsforstyrrelse, "
        "{maintenance} med servicevindue, {operational} uden hændelser",
        "strip_legend_disrupted": "høj søjle: driftsforstyrrelse",
        "strip_legend_maintenance": "mellemhøj søjle: servicevindue",
        "strip_legend_operational": "lav søjle: ingen hændelse",
        "days": "{count} dage",
        "day_one": "1 dag",
        "no_incident": "ingen hændelse",
        "months_title": "De seneste 12 måneder",
        "month": "Måned",
        "disruptions": "Driftsforstyrrelser",
        "hours_disrupted": "Timer med forstyrrelse",
        "windows": "Servicevinduer",
        "hours_in_windows": "Timer i servicevinduer",
        "so_far": "indtil nu",
        "months_note": "Danske kalendermåneder. En driftsforstyrrelse varer fra den offentliggøres "
        "til den afsluttes (en aktuel indtil nu); overlappende tælles én gang i timerne.",
        "close_title": "Tid til afslutning af en driftsforstyrrelse",
        "close_figures": "Median {median}; 90. percentil {p90}; ud af {count} afsluttede "
        "driftsforstyrrelser.",
        "close_none": "Ingen afsluttet driftsforstyrrelse endnu.",
        "close_note": "Fra Toldstyrelsen første gang offentliggør en driftsforstyrrelse, til den "
        "er markeret som afsluttet. Halvdelen blev afsluttet inden for medianen, ni ud af ti "
        "inden for 90. percentil (nærmeste rang: hvert tal er en tid, en forstyrrelse faktisk tog).",
        "incidents_title": "Hændelser",
        "no_incidents": "Ingen hændelser registreret.",
        "page_of": "Side {page} af {pages}",
        "newer": "Nyere",
        "older": "Ældre",
        "pages": "Sider",
        "history_of": "{name}: hændelser, side {page}",
        "back_to_system": "Status og tal for {name}",
        "published": "Offentliggjort",
        "last_change": "Senest ændret",
        "closed_at": "Afsluttet",
        "kind": "Type",
        "disruption": "Driftsforstyrrelse",
        "service_window": "Servicevindue",
        "references": "Referencer",
        "messages_count": "Meddelelser",
        "official_links": "Officiel meddelelse",
        "lang_en": "engelsk",
        "lang_da": "dansk",
        "message_other": "Meddelelsen på {language}",
        "earlier_message": "Tidligere meddelelse med samme reference",
        "message_note": "Den nyeste tekst af Toldstyrelsens meddelelse på hvert sprog; alle "
        "opdateringslinjer, toldfeed har set, står i forløbet ovenfor.",
        "messages_note": "{count} af Toldstyrelsens meddelelser har denne reference; den nyeste "
        "tekst står først, de tidligere følger.",
        "incident_gone": "Hændelsen {ref} findes ikke længere",
        "incident_gone_text": "Den kan være lagt sammen med en anden hændelse. Statussiden viser "
        "alle aktuelle.",
        "page_link": "Hændelsesside",
        "related": "Hele forløbet på toldfeed",
        "fallback_title": "Nødprocedure",
        "hours_unit": "t",
        "minutes_unit": "min",
        "days_unit": "d",
    },
}


def word(lang: Lang, key: str, **values: str) -> str:
    """A phrase in ``lang``, with ``{placeholders}`` filled."""
    return WORDS[lang][key].format(**values)


def status_word(lang: Lang, status: Status) -> str:
    """The status as readers see it."""
    return WORDS[lang][status.value]


def clock_time(value: datetime, lang: Lang, now: datetime | None = None) -> str:
    """``08:40`` (``kl. 08:40``) on the local day of ``now``; the date too on any other day."""
    local = to_local(value)
    if now is not None and to_local(now).date() != local.date():
        return local_time(value, lang)
    return f"kl. {local:%H:%M}" if lang is Lang.DA else f"{local:%H:%M}"


def month_name(first: date, lang: Lang) -> str:
    """``May 2026`` / ``maj 2026``."""
    return f"{MONTHS_LONG[lang][first.month - 1]} {first.year}"


def day_name(day: date, lang: Lang) -> str:
    """``19 May 2026`` / ``19. maj 2026``."""
    month = MONTHS_LONG[lang][day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang is Lang.DA else f"{day.day} {month} {day.year}"


def hours_number(value: timedelta, lang: Lang) -> str:
    """Hours with one decimal, in the language's decimal sign: ``1.3`` / ``1,3``."""
    text = f"{value.total_seconds() / 3600:.1f}"
    return text.replace(".", ",") if lang is Lang.DA else text


def duration_words(value: timedelta, lang: Lang) -> str:
    """A duration for people: ``45 min``, ``3 h 05 min``, ``2 d 4 h`` (Danish ``t`` for hours)."""
    w = WORDS[lang]
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} {w['minutes_unit']}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} {w['hours_unit']} {minutes:02d} {w['minutes_unit']}"
    days, hours = divmod(hours, 24)
    return f"{days} {w['days_unit']} {hours} {w['hours_unit']}"


def local_time(value: datetime, lang: Lang) -> str:
    """Danish local time with date and year: ``19 May 2026 21:46`` / ``19. maj 2026 kl. 21:46``."""
    local = to_local(value)
    month = _MONTHS[lang][local.month - 1]
    if lang is Lang.DA:
        return f"{local.day}. {month} {local.year} kl. {local:%H:%M}"
    return f"{local.day} {month} {local.year} {local:%H:%M}"
