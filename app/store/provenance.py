"""Digests of toldfeed's own code: what stored data was made by.

Stored documents carry the digest of the code that renders them (``app.store.documents``),
stored incidents the digest of the rules that derive them (``app.ingest.remerge``); after an
upgrade that changes either, the stored form is made again.

A digest is built, never listed by hand: it starts from a few root packages and follows every
``from app.… import`` / ``import app.…`` statement (found in the source text, nothing is
imported: a cron poll pays about a millisecond for it) until no new module appears, then adds the data folders those modules read (templates,
styles). A module that a renderer starts to use is covered the moment it is imported.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent  # the app package
_DATA_SUFFIXES = (".html", ".css", ".py")
_FROM = re.compile(
    rb"from[ \t]+app((?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)"
)  # no ^: a literal start is searched fast
_IMPORT = re.compile(rb"import[ \t]+app((?:\.\w+)+)")
_NAME = re.compile(rb"\w+")

Sources = list[tuple[str, bytes]]  # (path inside the package, bytes), sorted by path


def _package_files(root: Path) -> set[str]:
    """Every file of the package, by path inside it (one directory walk)."""
    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "samples")]  # samples: data
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        found.update(prefix + n for n in names)
    return found


def _module_path(dotted: str, present: set[str]) -> str | None:
    """The file of ``app.<dotted>`` inside the package, or None (a name, not a module)."""
    base = dotted.replace(".", "/")
    for path in (base + "/__init__.py", base + ".py"):
        if path in present:
            return path
    return None


def _imports(source: bytes) -> Iterator[str]:
    """The ``app`` modules a source may import, without the ``app.`` prefix (a name that is
    not a module is dropped by the caller)."""
    for match in _FROM.finditer(source):
        module = match.group(1).decode().lstrip(".")
        yield module
        for name in _NAME.findall(match.group(2)):
            yield f"{module}.{name.decode()}" if module else name.decode()
    for match in _IMPORT.finditer(source):
        yield match.group(1).decode().lstrip(".")


def import_closure(
    packages: Sequence[str], data_folders: Sequence[str] = (), root: Path | None = None
) -> Sources:
    """The files of ``packages``, of every ``app`` module they import (transitively), and of
    ``data_folders``, with their bytes, by path inside the package (``root``, this one by
    default)."""
    root = root or _ROOT
    present = _package_files(root)
    chosen = {
        path
        for path in present
        if path.endswith(".py") and any(path.startswith(p + "/") for p in packages)
    }
    chosen |= {
        path
        for path in present
        if path.endswith(_DATA_SUFFIXES) and any(path.startswith(f + "/") for f in data_folders)
    }
    found: dict[str, bytes] = {}
    todo = sorted(chosen)
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found[path] = (root / path).read_bytes()
        if not path.endswith(".py"):
            continue
        modules = list(_imports(found[path]))
        package = path.rpartition("/")[0]
        if package:  # importing a submodule runs its package's __init__ too
            modules.append(package.replace("/", "."))
        todo.extend(m for m in map(lambda d: _module_path(d, present), modules) if m)
    return sorted(found.items())


def digest_of(sources: Sources) -> str:
    """One short digest of the paths and bytes of ``sources``."""
    h = hashlib.blake2b(digest_size=8)
    for path, data in sources:
        h.update(path.encode() + b"\0" + data + b"\0")
    return h.hexdigest()
