"""The digest of the rules that derive incidents from observations: the code of ``app.merge``,
of the text rules it applies (``app.upstream``) and of every module they import. Stored beside the incidents
(``meta:merge_rules``), it tells whether they were derived by the running code
(``app.ingest.remerge``).
"""

from __future__ import annotations

from functools import cache

from app.store.provenance import closure_digest

_RULE_PACKAGES = ("merge", "upstream")  # and every module they import, found by construction


@cache
def merge_digest() -> str:
    """The digest of the code that derives incidents from observations."""
    return closure_digest(_RULE_PACKAGES)
