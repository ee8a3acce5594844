"""The digest of the rules that derive incidents from observations: the code of ``app.merge``,
of the text rules it applies (``app.upstream``) and the model. Stored beside the incidents
(``meta:merge_rules``), it tells whether they were derived by the running code
(``app.ingest.remerge``).
"""

from __future__ import annotations

from functools import cache

from app.code_digest import digest_of, package_sources

_RULE_FOLDERS = ("merge", "upstream")
_RULE_MODULES = ("model.py",)


@cache
def merge_digest() -> str:
    """The digest of the code that derives incidents from observations."""
    return digest_of(package_sources(_RULE_FOLDERS, _RULE_MODULES))
