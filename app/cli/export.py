"""``toldfeed export DIR``: every published document as files, from the store (no fetching)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.config import Settings
from app.runtime import Runtime
from app.service import Service
from app.store.core import store_error


def _directory(path: Path, root: Path) -> None:
    """Make ``path`` and its parents up to ``root`` (included), each 0755 whatever the umask: a
    web server running as another user must enter them."""
    missing = []
    at = path
    while not at.is_dir():
        missing.append(at)
        if at == root or at.parent == at:
            break
        at = at.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o755)


def _write(path: Path, body: bytes, root: Path) -> None:
    _directory(path.parent, root)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server running as another user must read it
    os.replace(tmp, path)  # a static server never sees a half-written file


def has_data(settings: Settings) -> bool:
    """True when the data directory's store exists and was polled or holds incidents."""
    store = settings.data_dir / "store"
    if store.exists() and not store.is_dir():
        raise store_error(store, "open", NotADirectoryError(str(store)))
    if not store.is_dir():
        return False  # and do not create one just to find it empty
    with Runtime.open(settings) as runtime:
        return runtime.store.incident_count() > 0 or runtime.store.last_poll() is not None


def export_all(settings: Settings, directory: str | Path) -> int:
    """Write every canonical document under ``directory``; return how many.

    The documents are the stored ones (rendered once more first if they are not current).
    """
    root = Path(directory)
    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        service.ensure_published()
        documents = service.publisher.stored()
    for path, doc in documents.items():
        _write(root / path, doc.body, root)
    return len(documents)
