"""Which documents exist: the canonical ones from the catalogue, the derived ones per incident
and per history page (listed from the archive). Pure.

The records themselves are in ``app.site.documents``.
"""

from __future__ import annotations

from app.catalogue import Catalogue
from app.model import Lang, Status
from app.site.documents import (
    HISTORY_PAGE,
    Badge,
    Calendar,
    Doc,
    Embed,
    Feed,
    Format,
    IncidentPage,
    IncidentsApi,
    IndexPage,
    Opml,
    Scope,
    StatsApi,
    StatuspageApi,
    StatuspagePart,
    SystemPage,
    SystemsApi,
)


def is_derived(doc: Doc) -> bool:
    """True for documents that exist per incident or per history page (listed from the archive)."""
    return isinstance(doc, IncidentPage) or (isinstance(doc, SystemPage) and doc.page > 1)


def history_pages(count: int) -> int:
    """How many history pages ``count`` incidents fill (page 1 exists even when empty)."""
    return max(1, -(-count // HISTORY_PAGE))


def incident_documents(key: str) -> list[Doc]:
    """The pages of one incident, one per language."""
    return [IncidentPage(lang, key) for lang in Lang]


def history_documents(slug: str, pages: range) -> list[Doc]:
    """The history pages ``pages`` (2 and up) of one system, in every language (a page's
    languages one after the other: they list the same incidents)."""
    return [SystemPage(lang, slug, page) for page in pages if page > 1 for lang in Lang]


def feed_scopes(catalogue: Catalogue) -> list[tuple[Scope, str]]:
    """Every feed scope: all, each status, each catalogue system (non-legacy first)."""
    scopes: list[tuple[Scope, str]] = [(Scope.ALL, "")]
    scopes += [(Scope.STATUS, s.value) for s in Status]
    ordered = [s for s in catalogue.systems if not s.legacy] + [
        s for s in catalogue.systems if s.legacy
    ]
    scopes += [(Scope.SYSTEM, s.slug) for s in ordered]
    return scopes


def canonical_documents(catalogue: Catalogue) -> list[Doc]:
    """Every document with default parameters: rendered once per change, stored, exported.

    Documents others link to come before the pages that link to them (feeds and embeds
    before the system pages, those before the index and the OPML), so a publisher writing in
    this order never exposes a link to a document not yet written. Derived documents (incident
    and later history pages) are linked from these and go before all of them.
    """
    docs: list[Doc] = []
    for lang in Lang:
        for scope, value in feed_scopes(catalogue):
            docs += [Feed(lang, fmt, scope, value) for fmt in Format]
        docs.append(Calendar(lang))
        for slug in catalogue.slugs:
            docs += [Embed(lang, slug), Badge(lang, slug), Calendar(lang, slug)]
        docs += [SystemPage(lang, slug) for slug in catalogue.slugs]
        docs += [IncidentsApi(lang), StatsApi(lang)]
        docs += [StatuspageApi(lang, part) for part in StatuspagePart]
    docs.append(SystemsApi())
    docs += [IndexPage(lang) for lang in Lang]
    docs += [Opml(lang, systems) for lang in Lang for systems in (False, True)]
    return docs
