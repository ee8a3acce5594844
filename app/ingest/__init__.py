"""The poll pipeline: read sources → plan detail pages → read them → decide → apply.

    readers.py        I/O: sources (with truncation checks), feed autodiscovery, detail pages
    plan.py           pure: which detail pages to read this poll
    neighbourhood.py  store reads: what the store holds around the oids a poll observed
    decide.py         pure: observations + neighbourhood → what to write
    pipeline.py       runs the phases and commits one batch

The records a poll reports and keeps (``PollReport``, ``SourceReport``, ``HttpState``,
``SourceState``) live in ``app.store.records``, so the store and codec need not import this.
"""

from app.ingest.pipeline import run_poll
from app.store.records import Outcome, PollReport, SourceReport

__all__ = ["Outcome", "PollReport", "SourceReport", "run_poll"]
