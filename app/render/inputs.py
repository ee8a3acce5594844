"""What a stored document shows, as a digest kept beside it, for the documents whose renderer
can tell (pure): a publish in a new process (a cron poll) that finds the same digest does not
render the document again. Beside the digest, its horizon: up to when time alone leaves it as
it is (``app.site.horizon``). The Statuspage parts say their own (``app.render.statuspage``)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from app.catalogue import Catalogue
from app.model import Kind, Status
from app.render.index import RECENTLY_CLOSED, window_rank
from app.render.stats import shown_stats
from app.render.system import shown_figures
from app.site.archive import Archive
from app.site.documents import Badge, Doc, Embed, IncidentsApi, IndexPage, StatsApi, SystemPage
from app.site.horizon import figures_horizon
from app.store.rendered import PageContext
from app.upstream.dates import to_local


def digest(inputs: object) -> str:
    """A digest of what a document shows, the same in every process (``repr`` of records)."""
    return hashlib.blake2b(repr(inputs).encode(), digest_size=12).hexdigest()


def system_inputs(
    doc: SystemPage, archive: Archive, ctx: PageContext, catalogue: Catalogue, now: datetime
) -> str:
    """Everything a system's page 1 shows: the system's incidents (their versions) and the next
    moment time changes its figures (their token; while an interval is under way, the figures
    as shown), its state, the blindness notice, the base URL and the local day (dates in
    words)."""
    slug = doc.system
    token = archive.figures_token(slug, now)
    figures: object = token
    if token.under_way:  # the token names the moment itself: what the page shows moves less
        figures = (token.contents, token.day, shown_figures(archive.figures(slug, now)))
    return digest(
        (
            doc,
            archive.states(catalogue, now)[slug],
            figures,
            ctx.blind_notice.get(doc.lang, ""),
            ctx.base_url,
            to_local(now).date(),
        )
    )


def index_inputs(doc: IndexPage, archive: Archive, ctx: PageContext, catalogue: Catalogue) -> str:
    """Everything an index page shows but the time of the poll (its stamp): the state of
    every system, the open incidents and the windows' places (in progress, to come, past),
    the closed ones listed, the notices, the base URL and the local day (dates in words)."""
    now = ctx.refreshed_at
    opened = archive.open_incidents()
    at = now or max((i.updated_at for i in opened), default=None)
    planned = [i for i in opened if i.kind is Kind.SCHEDULED]
    return digest(
        (
            doc,
            sorted(archive.states(catalogue, now or archive.latest).items()),
            archive.open_marks(),
            [window_rank(i, at)[0] for i in planned] if at else None,
            archive.marks(status=Status.CLOSED, limit=RECENTLY_CLOSED),
            ctx.state_known,
            ctx.blind_notice.get(doc.lang, ""),
            ctx.source_notes.get(doc.lang, ""),
            ctx.base_url,
            to_local(now).date() if now else None,
        )
    )


def document_inputs(
    doc: Doc, archive: Archive, ctx: PageContext, catalogue: Catalogue, limit: int = -1
) -> str:
    """The digest of what ``doc`` shows (for a document with a stamp, all but the time of the
    poll); "" when it cannot be told (it is always rendered). ``limit``: the incidents an
    ``IncidentsApi`` lists."""
    now = ctx.refreshed_at or archive.latest
    if isinstance(doc, SystemPage) and doc.page == 1:
        return system_inputs(doc, archive, ctx, catalogue, now)
    if isinstance(doc, Badge):
        # the state in words: an end on another day names the day (``describe_state``)
        state = archive.states(catalogue, now)[doc.system]
        return digest((doc, state, ctx.state_known, to_local(now).date()))
    if isinstance(doc, StatsApi):
        # its figures (a system's with an interval under way as it shows them), and the time
        # to close over every system: any incident's change
        shown = [
            (token.contents, token.day, shown_stats(archive.figures(slug, now)))
            if (token := archive.figures_token(slug, now)).under_way
            else token
            for slug in catalogue.slugs
        ]
        return digest((doc, archive.serial, shown))
    if isinstance(doc, Embed):
        # its system's state, its three newest messages, the notices (the state is not shown
        # while the agency cannot be read)
        return digest(
            (
                doc,
                archive.states(catalogue, now)[doc.system],
                archive.marks(doc.system, limit=3),
                ctx.state_known,
                ctx.blind_notice.get(doc.lang, ""),
                ctx.base_url,
                to_local(ctx.refreshed_at).date() if ctx.refreshed_at else None,
            )
        )
    if isinstance(doc, IndexPage):
        return index_inputs(doc, archive, ctx, catalogue)
    if isinstance(doc, IncidentsApi):
        return digest((doc, limit, archive.marks(doc.system, doc.status, limit)))
    return ""


def document_horizon(
    doc: Doc, archive: Archive, ctx: PageContext, catalogue: Catalogue
) -> datetime | None:
    """Up to when time alone leaves ``document_inputs(doc, ...)`` as it is now, while the
    archive and the context (but the time of the poll) stay as they are; None when that cannot
    be told (the digest is then worked out at every poll)."""
    now = ctx.refreshed_at or archive.latest
    if isinstance(doc, SystemPage) and doc.page == 1:
        figures = figures_horizon(archive.figures_token(doc.system, now), now)
        return min(archive.states_horizon(now), figures)
    if isinstance(doc, StatsApi):
        tokens = [archive.figures_token(slug, now) for slug in catalogue.slugs]
        return min([archive.states_horizon(now), *(figures_horizon(t, now) for t in tokens)])
    if isinstance(doc, (Badge, Embed, IndexPage, IncidentsApi)):
        return archive.states_horizon(now)
    return None
