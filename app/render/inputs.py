"""What a stored document shows, as a digest kept beside it, for the documents whose renderer
can tell (pure): a publish in a new process (a cron poll) that finds the same digest does not
render the document again. The Statuspage parts say their own (``app.render.statuspage``)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from app.catalogue import Catalogue
from app.site.archive import Archive
from app.site.documents import Badge, Doc, StatsApi, SystemPage
from app.store.rendered import PageContext
from app.upstream.dates import to_local


def digest(inputs: object) -> str:
    """A digest of what a document shows, the same in every process (``repr`` of records)."""
    return hashlib.blake2b(repr(inputs).encode(), digest_size=12).hexdigest()


def system_inputs(
    doc: SystemPage, archive: Archive, ctx: PageContext, catalogue: Catalogue, now: datetime
) -> str:
    """Everything a system's page 1 shows: the system's incidents (their versions) and the next
    moment time changes its figures (their token), its state, the blindness notice, the base
    URL and the local day (dates in words)."""
    slug = doc.system
    return digest(
        (
            doc,
            archive.states(catalogue, now)[slug],
            archive.figures_token(slug, now),
            ctx.blind_notice.get(doc.lang, ""),
            ctx.base_url,
            to_local(now).date(),
        )
    )


def document_inputs(doc: Doc, archive: Archive, ctx: PageContext, catalogue: Catalogue) -> str:
    """The digest of what ``doc`` shows; "" when it cannot be told (it is always rendered)."""
    now = ctx.refreshed_at or archive.latest
    if isinstance(doc, SystemPage) and doc.page == 1:
        return system_inputs(doc, archive, ctx, catalogue, now)
    if isinstance(doc, Badge):
        # the state in words: an end on another day names the day (``describe_state``)
        state = archive.states(catalogue, now)[doc.system]
        return digest((doc, state, ctx.state_known, to_local(now).date()))
    if isinstance(doc, StatsApi):
        # its figures, and the time to close over every system: any incident's change
        tokens = [archive.figures_token(slug, now) for slug in catalogue.slugs]
        return digest((doc, archive.serial, tokens))
    return ""
