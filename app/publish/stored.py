"""Reading the stored documents back for a copy (``toldfeed export``, the bucket), in the
order to publish them: derived documents (incident pages, then later history pages) first, as
the canonical ones link to them. With ``only`` just those paths are read or listed, so the
cost follows the change, not the archive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app.model import Lang
from app.site.archive import Archive
from app.site.derived import derived_documents
from app.site.documents import Doc
from app.site.urls import Urls
from app.store import Store
from app.store.rendered import Document


def read_stored(
    store: Store, urls: Urls, archive: Archive, docs: Sequence[Doc], only: set[str] | None
) -> dict[str, Document]:
    """Every stored document (``docs``: the canonical ones), by export path, in publishing
    order; with ``only``, just those paths."""
    slugs = urls.catalogue.slugs
    canonical = [urls.export_path(doc) for doc in docs]
    if only is None:
        derived = [urls.export_path(d) for d in derived_documents(archive, slugs)]
    else:
        listed = set(canonical)
        derived = sorted(
            (p for p in only if p not in listed), key=lambda p: _derived_order(urls, archive, p)
        )
        canonical = [p for p in canonical if p in only]
    found: dict[str, Document] = {}
    for path in derived:
        if (document := store.derived_document(path)) is not None:
            found[path] = document
    index = store.document_index()
    for path in canonical:
        meta = index.get(path)
        if meta is not None and (document := store.canonical_document(path, meta)):
            found[path] = document
    return found


def _derived_order(urls: Urls, archive: Archive, path: str) -> tuple[object, ...]:
    """Where a derived document's path stands in ``derived_documents``' order (incident pages
    newest change first, then each system's history pages), without listing them all."""
    found = urls.match("/" + path)
    if found is None:
        return (2,)
    endpoint, values = found
    lang = list(Lang).index(Lang(values["lang"]))
    slugs = urls.catalogue.slugs
    if endpoint == "incident":
        incident = archive.holdings.head(str(values["key"]))
        at = incident.updated_at if incident is not None else datetime.min.replace(tzinfo=UTC)
        return (0, -at.timestamp(), descending(values["key"]), lang)
    slug = str(values.get("system", ""))
    place = slugs.index(slug) if slug in slugs else len(slugs)
    return (1, place, -int(values.get("page", 0)), lang)


def descending(text: str) -> tuple[int, ...]:
    """A sort key that orders strings from last to first."""
    return (*(-ord(c) for c in text), 1)
