"""Digests of parts of toldfeed's own code: what stored data was made by.

Stored documents carry the digest of the code that renders them (``app.docstore``), stored
incidents the digest of the rules that derive them (``app.ingest.remerge``); after an upgrade
that changes either, the stored form is made again. A digest covers every ``.py``, ``.html``
and ``.css`` file of the named folders (subfolders included) and the named modules, by path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable


def _folder_sources(folder: Traversable, name: str) -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        path = f"{name}/{item.name}"
        if item.is_dir() and item.name != "__pycache__":
            yield from _folder_sources(item, path)
        elif item.is_file() and item.name.endswith((".py", ".html", ".css")):
            yield path, item


def package_sources(
    folders: Sequence[str], modules: Sequence[str]
) -> list[tuple[str, Traversable]]:
    """The files of ``folders`` and the ``modules`` of the ``app`` package, by path inside it."""
    root = files("app")
    found = [s for f in folders for s in _folder_sources(root.joinpath(f), f)]
    return found + [(name, root.joinpath(name)) for name in modules]


def digest_of(sources: Sequence[tuple[str, Traversable]]) -> str:
    """One short digest of the paths and bytes of ``sources``."""
    h = hashlib.blake2b(digest_size=8)
    for path, item in sources:
        h.update(path.encode() + b"\0" + item.read_bytes() + b"\0")
    return h.hexdigest()
