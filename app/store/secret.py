"""The key that signs subscription links when ``TOLDFEED_SECRET_KEY`` is not set: 32 random
bytes kept in ``<data dir>/secret_key`` (mode 0600), made by the first process that needs it.

Processes sharing the data directory read the same file, so a link signed by one worker is
good in every other. Losing the file (or changing the key) makes every link already mailed
invalid: subscribers then sign up again, or the operator removes them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.store.core import store_error

FILE = "secret_key"


def data_dir_secret(directory: Path) -> bytes:
    """The data directory's signing key, made now if there is none; StoreError when the
    directory cannot hold it."""
    path = directory / FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise store_error(path, "read", e, what="secret key file") from e
    key = secrets.token_hex(32).encode()
    temporary = path.with_name(f"{FILE}.{os.getpid()}.tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)  # fails if another process made it first: take theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return path.read_bytes().strip()
    except OSError as e:
        raise store_error(path, "write", e, what="secret key file") from e
