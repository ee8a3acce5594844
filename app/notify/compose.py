"""A notification in the words of its kind: a change, a reminder or window event, a digest.
Pure (links are built from the URL table, no I/O)."""

from __future__ import annotations

from app.catalogue import Catalogue
from app.model import Lang
from app.notify.digest_message import compose_digest
from app.notify.message import Message, compose
from app.notify.moment_message import compose_moment
from app.site.documents import IncidentPage, IndexPage
from app.site.urls import Urls
from app.store.records import Notification


def words_for(
    note: Notification, catalogue: Catalogue, lang: Lang, urls: Urls, page: str | None = None
) -> Message:
    """``note`` in ``lang``; its button leads to ``page``, by default the incident's page on
    toldfeed (a digest's: the status page)."""

    def page_of(key: str) -> str:
        return urls.url(IncidentPage(lang, key))

    if note.digest is not None:
        status_page = page or urls.url(IndexPage(lang))
        return compose_digest(note, catalogue, lang, status_page, page_of)
    link = page or page_of(note.key)
    if note.timing is not None:
        return compose_moment(note, catalogue, lang, link)
    return compose(note, catalogue, lang, link)
