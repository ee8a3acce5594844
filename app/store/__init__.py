"""The store: versioned JSON records in one SQLite file, behind one facade, ``Store``.

As lemon24/reader's ``_storage/``, one module per kind of record, each spelling its own keys:

    app.store.core        opening, reading, committing, errors (the only importer of diskcache)
    app.store.readonly    the file read with SQLite alone when it cannot be written
    app.store.incidents   observations, incidents and their indexes
    app.store.heads       the archive's indexes: one head per incident, in SQL tables
                          (head_rows: the tables, their rows and the SQL that writes them)
    app.store.polls       the state around a poll: sources, validators, health, counters
    app.store.outbox      the outbox of push notifications
    app.store.moments     what the passes over the clock remember (windows known, digests)
    app.store.uploads     uploads to object storage
    app.store.documents   rendered documents, their index and what they reflect
    app.store.figures     each system's figures as last made, with what they were made from
    app.store.subscribers self-service subscriptions, their sign-ups and fan-outs
    app.store.secret      the key that signs subscription links (a file in the data directory)

Records live beside them (``records``, ``rendered``, the ``model``), JSON forms in the codecs
(``codec``, ``records_codec``, ``delivery_codec``, ``subscriber_codec``). Other modules use the
typed methods, never a key.
"""

from __future__ import annotations

from pathlib import Path

from app.store.core import Batch, StoreCore, store_error
from app.store.documents import DocumentsMixin
from app.store.figures import FiguresMixin
from app.store.incidents import IncidentsMixin
from app.store.moments import MomentsMixin
from app.store.outbox import OutboxMixin
from app.store.polls import PollStateMixin
from app.store.subscribers import SubscribersMixin
from app.store.uploads import UploadsMixin

__all__ = ["Batch", "Store", "store_error"]


class Store(
    IncidentsMixin,
    PollStateMixin,
    OutboxMixin,
    MomentsMixin,
    UploadsMixin,
    DocumentsMixin,
    FiguresMixin,
    SubscribersMixin,
    StoreCore,
):
    """Typed access to the data directory's store."""

    def __init__(
        self, directory: Path, *, read_only: bool = False, read_only_reason: str = ""
    ) -> None:
        super().__init__(directory, read_only=read_only, read_only_reason=read_only_reason)
        self.prepare_heads(self.iter_incidents)  # reads the incidents only when it builds
