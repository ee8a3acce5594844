"""Digests of toldfeed's own code: what stored data was made by.

Stored documents carry the digest of the code that renders them (``app.store.documents``),
stored incidents the digest of the rules that derive them (``app.ingest.remerge``); after an
upgrade that changes either, the stored form is made again.

A digest is built, never listed by hand: it starts from a few root packages and follows every
``from app.… import`` / ``import app.…`` statement (found in the source text, nothing is
imported) until no new module appears, then adds the data folders those modules read
(templates, styles). A module that a renderer starts to use is covered the moment it is
imported.

Reading and hashing the closure costs a cron poll 5 to 10 ms, so ``closure_digest`` remembers
it across processes in the package's ``__pycache__``, as CPython keeps compiled modules there,
under a signature of every package file's path, size, modification and change times: writing,
replacing or touching any file moves the signature (a copy can set a file's modification time
back, never its change time), and the closure is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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


_MEMO = "__pycache__/toldfeed-digests.json"
_MEMO_KEPT = 8  # signatures remembered (two digests of the running code, and a few before)


def _signature(root: Path, present: set[str], name: str) -> str:
    """``name`` and every package file's path, size, modification and change times."""
    h = hashlib.blake2b(name.encode(), digest_size=12)
    base = str(root)  # joined as text: a Path per file costs more than its stat
    for path in sorted(present):
        with contextlib.suppress(OSError):  # a file gone meanwhile: the closure will say
            st = os.stat(f"{base}/{path}")
            h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}".encode())
    return h.hexdigest()


def closure_digest(
    packages: Sequence[str], data_folders: Sequence[str] = (), root: Path | None = None
) -> str:
    """``digest_of(import_closure(packages, data_folders, root))``, remembered in the package's
    ``__pycache__`` while no package file changed (where it cannot be written, it is made
    every time, as CPython does with compiled modules)."""
    root = root or _ROOT
    signature = _signature(root, _package_files(root), f"{packages}{data_folders}")
    memo = root / _MEMO
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(found := known.get(signature), str):
        return found
    digest = digest_of(import_closure(packages, data_folders, root))
    kept = dict([(signature, digest), *list(known.items())[: _MEMO_KEPT - 1]])
    with contextlib.suppress(OSError):  # read-only: made again next time
        memo.parent.mkdir(exist_ok=True)
        partial = memo.with_name(f"{memo.name}.{os.getpid()}")
        partial.write_text(json.dumps(kept))
        os.replace(partial, memo)
    return digest
