"""The words of the published documents, English and Danish: month and day names here, every
phrase in ``en.py`` and ``da.py``. Data only; ``app.render.i18n`` formats with it.
"""

from __future__ import annotations

from app.model import Lang
from app.render.words import da, en

MONTHS_SHORT = {
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

WORDS: dict[Lang, dict[str, str]] = {Lang.EN: en.PHRASES, Lang.DA: da.PHRASES}
