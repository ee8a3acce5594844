"""Upstream vocabulary: header and field labels, status and type words (en and da)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from app.model import Kind, Lang, Status

# list-page column headers -> field
LIST_HEADERS: dict[str, str] = {
    "status": "status",
    "system": "system",
    "systems": "system",
    "systemer": "system",
    "title": "title",
    "titel": "title",
    "overskrift": "title",
    "last updated": "updated",
    "senest opdateret": "updated",
    "opdateret": "updated",
    "updated": "updated",
    "message": "message",
    "meddelelse": "message",
    "besked": "message",
    "created": "created",
    "oprettet": "created",
    "type": "type",
}

# detail-page field labels -> field
DETAIL_LABELS: dict[str, str] = {
    "last updated": "updated",
    "updated": "updated",
    "opdateret": "updated",
    "senest opdateret": "updated",
    "type": "type",
    "status": "status",
    "system": "system",
    "systems": "system",
    "systemer": "system",
    "message": "message",
    "meddelelse": "message",
    "besked": "message",
}

VERSION_STAMP = re.compile(
    r"^\s*(updated|published|opdateret|publiceret|offentliggjort|oprettet)\s*:?\s*"
    r"(\d{1,2}-\d{1,2}-\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*$",
    re.I,
)

_CLOSED = {"closed", "afsluttet", "lukket", "resolved", "løst", "cancelled", "canceled", "aflyst"}
_SCHEDULED = {
    "scheduled unavailability",
    "planlagt nedlukning",
    "scheduled",
    "planlagt",
    "service window",
    "servicevindue",
    "scheduled maintenance",
}
_DISRUPTION = {"service disruption", "driftsforstyrrelse", "disruption", "incident", "current"}


def label_key(text: str) -> str:
    """Fold a header or label for lookup: case, spaces and a trailing colon ignored."""
    return " ".join(text.replace("\xa0", " ").split()).casefold().rstrip(":").strip()


def parse_status(text: str) -> Status | None:
    """Normalize a status label; '' gives None, an unknown label means a current disruption."""
    key = label_key(text)
    if not key:
        return None
    if key in _CLOSED:
        return Status.CLOSED
    if key in _SCHEDULED:
        return Status.SCHEDULED
    return Status.CURRENT


def parse_kind(text: str) -> Kind | None:
    """Normalize a type label: scheduled unavailability, or anything else is a disruption."""
    key = label_key(text)
    if not key:
        return None
    return Kind.SCHEDULED if key in _SCHEDULED else Kind.DISRUPTION


def is_status_word(text: str) -> bool:
    """True when ``text`` is a known status or type label (for unlabelled cells)."""
    key = label_key(text)
    return key in _CLOSED or key in _SCHEDULED or key in _DISRUPTION


def oid_of(url: str) -> int | None:
    """The message id (``oid``) in a data.aspx URL, whatever the other parameters."""
    try:
        query = dict((k.lower(), v) for k, v in parse_qsl(urlsplit(url).query))
    except ValueError:
        return None
    value = query.get("oid", "")
    return int(value) if value.isdigit() else None


def lang_of_url(url: str, default: Lang) -> Lang:
    """The language a data.aspx URL asks for: lang=us/US/en is English, da or none Danish."""
    query = dict((k.lower(), v.lower()) for k, v in parse_qsl(urlsplit(url).query))
    if "lang" not in query:
        return Lang.DA if "oid" in query else default
    return Lang.EN if query["lang"] in {"us", "en", "uk", "gb"} else Lang.DA


def lang_of_document(html_lang: str, default: Lang) -> Lang:
    """The language an <html lang> attribute names, else ``default``."""
    code = html_lang.lower()[:2]
    return Lang.EN if code == "en" else Lang.DA if code == "da" else default
