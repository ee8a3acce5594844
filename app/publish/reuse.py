"""What a publish takes from the documents it stored before, instead of rendering them whole:
the bytes of a document whose only change is the poll's time (restamped), and the entries of
a feed whose incidents did not change. Both only from bytes the document index vouches for:
a body another publish rewrote since gives nothing (the document is rendered)."""

from __future__ import annotations

from app.render.feeds import Kept, stored_entries
from app.render.renderer import Renderer
from app.site.archive import Archive
from app.site.documents import Doc, Feed
from app.store import Store
from app.store.rendered import DocMeta, Document, PageContext


def _vouched_body(store: Store, path: str, old: DocMeta) -> bytes | None:
    """The stored body at ``path`` if it is the one the index describes."""
    body = store.canonical_body(path)
    return body if body is not None and Document.etag_of(body) == old.etag else None


def restamped(
    store: Store,
    renderer: Renderer,
    archive: Archive,
    doc: Doc,
    path: str,
    old: DocMeta | None,
    ctx: PageContext,
) -> Document | None:
    """The stored ``doc`` with the stamp of ``ctx``'s poll (``app.render.stamps``); None when it
    has no stamp or its stored bytes cannot be restamped."""
    if old is None or old.stamp is None:
        return None
    body = _vouched_body(store, path, old)
    return renderer.restamp(doc, body, old.stamp, archive, ctx) if body is not None else None


def kept_entries(store: Store, doc: Doc, path: str, old: DocMeta | None) -> Kept | None:
    """A stored feed's entries, for its next render to take those whose incident did not
    change (a new process, as a cron poll, then writes only the changed ones)."""
    if not isinstance(doc, Feed) or old is None:
        return None
    parts = store.feed_parts(path, old.etag)
    body = _vouched_body(store, path, old) if parts else None
    return stored_entries(body, parts) if body is not None else None
