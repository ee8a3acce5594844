"""What toldfeed publishes, as typed records: one frozen record per document kind. Pure.

A record names one document and its parameters; ``app.site.urls`` maps it to and from its URL,
``app.render.renderer`` renders it. Each record also says what it depends on, so that after a poll
only the documents whose content can have changed are rebuilt:

* ``shows(incident)``: the incident can appear in it (a feed's scope, a system's embed ...);
* ``health_dependent``: it shows freshness or the "cannot read the agency" state.

A new document kind is one record in ``data`` (for programs) or ``pages`` (for people), named
in ``Doc`` below (and listed in ``app.site.sets.canonical_documents`` if
it is stored and exported), one rule in ``app.site.rules`` and one renderer in ``app.render.renderer``.

Two kinds exist once per incident or per 50 incidents, so which of them exist depends on the
archive: incident pages and a system's later history pages. They are *derived* documents
(``app.site.sets.is_derived``): not in ``canonical_documents``, listed from the archive by
the publisher, stored and exported all the same.
"""

from app.site.documents.data import (
    Calendar,
    Feed,
    Format,
    IncidentsApi,
    Opml,
    Scope,
    StatsApi,
    StatuspageApi,
    StatuspagePart,
    SystemsApi,
)
from app.site.documents.pages import (
    HISTORY_PAGE,
    Badge,
    Embed,
    IncidentPage,
    IndexPage,
    SystemPage,
)

__all__ = [
    "HISTORY_PAGE",
    "Badge",
    "Calendar",
    "Doc",
    "Embed",
    "Feed",
    "Format",
    "IncidentPage",
    "IncidentsApi",
    "IndexPage",
    "Opml",
    "Scope",
    "StatsApi",
    "StatuspageApi",
    "StatuspagePart",
    "SystemPage",
    "SystemsApi",
]

Doc = (
    Feed
    | IndexPage
    | Embed
    | Badge
    | Opml
    | IncidentsApi
    | SystemsApi
    | Calendar
    | SystemPage
    | IncidentPage
    | StatsApi
    | StatuspageApi
)
