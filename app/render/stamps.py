"""Documents that show the time of the last poll in one place, the *stamp*: the index pages,
the embeds and ``/api/incidents.json``. Pure.

Everything else they show has an inputs digest (``app.render.inputs``). They are rendered with
a placeholder where the stamp goes, which tells where it is; a later poll that finds the same
inputs takes the stored bytes and puts its own stamp in the same places (``restamped``)
instead of rendering them again. The bytes are those a render would give: the stamp is
written as the template writes it (HTML-escaped, or as JSON).
"""

from __future__ import annotations

import json
from datetime import datetime

from markupsafe import escape

from app.render.i18n import local_time
from app.render.words import WORDS
from app.site.documents import Doc, Embed, IncidentsApi, IndexPage
from app.store.rendered import Document, PageContext, Stamp

# where the stamp goes while rendering: plain ASCII, unchanged by HTML escaping
PLACEHOLDER = "@@toldfeed-stamp@@"


def stamp_text(doc: Doc, ctx: PageContext) -> str | None:
    """The stamp ``doc`` shows for ``ctx``'s poll, as written in its bytes; None for a document
    that shows no stamp."""
    if isinstance(doc, Embed | IndexPage):
        at = ctx.refreshed_at
        return str(escape(local_time(at, doc.lang) if at else WORDS[doc.lang]["never"]))
    if isinstance(doc, IncidentsApi):
        at = ctx.refreshed_at
        return json.dumps(at.isoformat() if at else None)
    return None


def stamped(frame: bytes, text: str) -> tuple[bytes, Stamp | None]:
    """The bytes of a document rendered with ``PLACEHOLDER`` for its stamp, with ``text`` put
    in; and where it stands, as a ``Stamp`` (None when ``text`` is also found elsewhere in the
    bytes: then it cannot be told apart, and the document is always rendered again)."""
    placeholder, written = PLACEHOLDER.encode(), text.encode()
    count = frame.count(placeholder)
    body = frame.replace(placeholder, written)
    return body, Stamp(text, count) if count and body.count(written) == count else None


def restamped(body: bytes, old: Stamp, text: str) -> tuple[bytes, Stamp | None] | None:
    """``body`` (showing ``old``) showing ``text`` instead; None when ``body`` does not hold
    ``old`` exactly where it was written (then render it again)."""
    was, written = old.text.encode(), text.encode()
    if body.count(was) != old.count:
        return None
    new = body.replace(was, written)
    return new, Stamp(text, old.count) if new.count(written) == old.count else None


def stamped_document(
    doc: Doc, frame: bytes, ctx: PageContext, content_type: str, modified: datetime
) -> Document:
    """``doc`` rendered with ``PLACEHOLDER`` for its stamp (``frame``), with ``ctx``'s put in."""
    text = stamp_text(doc, ctx)
    assert text is not None, doc
    body, stamp = stamped(frame, text)
    return Document.of(body, content_type, modified, stamp)


def restamped_document(
    doc: Doc, body: bytes, old: Stamp, ctx: PageContext, content_type: str, modified: datetime
) -> Document | None:
    """``doc`` from its stored ``body`` (showing ``old``; everything else it shows unchanged)
    with the stamp of ``ctx``'s poll: the bytes a render would give. None when ``body`` does
    not hold the stamp where it was written."""
    text = stamp_text(doc, ctx)
    made = restamped(body, old, text) if text is not None else None
    if made is None:
        return None
    return Document.of(made[0], content_type, modified, made[1])
