"""``toldfeed export DIR``: every published document as files, from the store (no fetching).

The store's rendered documents are what every running worker serves. An export whose settings
render them differently (another ``TOLDFEED_BASE_URL``, feed limits, poll interval, code) renders
its own copy in memory and writes it to DIR only: were it stored, the running server would
publish the export's links until its next poll.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from app.config import Settings
from app.runtime import Runtime
from app.service import Service
from app.site.derived import derived_documents
from app.store import Store
from app.store.core import store_error
from app.store.rendered import Document


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
    store = Store.location(settings.data_dir)
    if store.exists() and not store.is_dir():
        raise store_error(store, "open", NotADirectoryError(str(store)))
    if not store.is_dir():
        return False  # and do not create one just to find it empty
    with Runtime.open(settings) as runtime:
        return runtime.store.incident_count() > 0 or runtime.store.last_poll() is not None


def local_links_warning(settings: Settings, directory: str | Path) -> str | None:
    """The line to warn with when the documents will link to this machine because
    ``TOLDFEED_BASE_URL`` is unset (``settings``: as the runtime adopted them); else None."""
    host = urlsplit(settings.base_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if settings.base_url_set or not loopback:
        return None
    return (
        f"toldfeed: warning: TOLDFEED_BASE_URL is not set, so the exported documents link to "
        f"{settings.base_url.rstrip('/')}; set it to the address {directory} is served at, "
        f"e.g. TOLDFEED_BASE_URL=https://feeds.example.dk toldfeed export {directory}"
    )


def _rendered_apart(service: Service) -> dict[str, Document]:
    """Every document rendered afresh with this process's settings, in memory, in the order
    ``Publisher.stored`` gives (derived documents first); nothing is stored."""
    publisher = service.publisher
    ctx, notice = service.page_context()
    docs = [*derived_documents(publisher.archive, publisher.slugs), *publisher.docs]
    return {
        publisher.urls.export_path(doc): document
        for doc, document in publisher.renderer.render_many(docs, publisher.archive, ctx, notice)
    }


def export_all(
    settings: Settings, directory: str | Path, warn: Callable[[str], None] | None = None
) -> int:
    """Write every canonical document under ``directory``; return how many.

    The documents are the stored ones (rendered once more first if they are not current) when
    they were rendered with these settings; else they are rendered here, in memory, and the
    store is left as the running server published it. ``warn`` gets a line when the links will
    point at this machine because ``TOLDFEED_BASE_URL`` is unset.
    """
    root = Path(directory)
    with Runtime.open(settings) as runtime:
        if warn is not None and (line := local_links_warning(runtime.settings, directory)):
            warn(line)
        service = Service(runtime)
        publisher = service.publisher
        mark = publisher.stored_mark()
        if (
            mark is not None
            and mark.key == publisher.key
            and mark.poll_seconds == publisher.poll_seconds
        ):
            service.ensure_published()  # a publish lost after its poll: the server's own too
            documents = publisher.stored()
        else:
            documents = _rendered_apart(service)
    for path, doc in documents.items():
        _write(root / path, doc.body, root)
    return len(documents)
