"""What a store failure is, in words an operator can act on: a damaged file, a full disk, a
directory or mount toldfeed may not write, told apart from SQLite's and the OS's answers."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from app.errors import StoreDamagedError, StoreError

_DAMAGED = ("not a database", "malformed", "corrupt", "no such table", "file is encrypted")
_FULL = ("disk is full", "disk i/o error", "no space")
# SQLite's words for a file or directory it may not write ("attempt to write a readonly
# database", "unable to open database file" in a directory it may not create files in)
_NOT_WRITABLE = ("readonly", "read-only", "permission denied")
_NOT_WRITABLE_ERRNO = (errno.EROFS, errno.EACCES, errno.EPERM)


def describe_failure(
    path: Path, doing: str, error: BaseException, what: str = "store", *, busy: bool = False
) -> StoreError:
    """One line naming the store (or ``what`` else of the data directory, at ``path``), what
    failed and what to do about it."""
    reason = str(error) or type(error).__name__
    said = reason.lower()
    if busy or "locked" in said:
        return StoreError(f"{what} {path} is busy ({reason}): another process holds it; retry")
    if isinstance(error, sqlite3.DatabaseError) and any(w in said for w in _DAMAGED):
        return StoreDamagedError(
            f"{what} {path} is damaged ({reason}): stop toldfeed, restore cache.db from a backup "
            "or recover it with sqlite3 '.recover' (docs/operations.md: How to recover)"
        )
    code = getattr(error, "errno", None)
    if code == errno.ENOSPC or any(w in said for w in _FULL):
        return StoreError(
            f"cannot {doing} {what} {path}: the data disk is full or failing ({reason}); "
            "free space on it (docs/operations.md: How to recover)"
        )
    if (
        code in _NOT_WRITABLE_ERRNO
        or any(w in said for w in _NOT_WRITABLE)
        # SQLite often says only "unable to open database file": ask the file system
        or (doing != "read" and not _writable(path))
    ):
        return StoreError(f"cannot {doing} {what} {path}: {_not_writable(path, reason)}")
    if path.exists() and not path.is_dir() and what == "store":
        return StoreError(
            f"cannot {doing} store {path}: it is a file, not a directory; move it away (or set "
            "TOLDFEED_DATA_DIR to the right data directory)"
        )
    return StoreError(
        f"cannot {doing} {what} {path}: {reason}; check that the data directory exists and is "
        "writable by toldfeed (TOLDFEED_DATA_DIR)"
    )


def _not_writable(path: Path, reason: str) -> str:
    """Why ``path`` cannot be written and what to do: a read-only mount is not a permission
    problem, and neither is a full disk (which has its own words)."""
    if _on_read_only_mount(path):
        return (
            f"the data directory is on a file system mounted read-only ({reason}); remount it "
            "read-write, or set TOLDFEED_DATA_DIR to a writable directory"
        )
    return (
        f"the data directory is not writable by the user toldfeed runs as, {_user()} "
        f"({reason}); give that user write permission on it and on the files in it (chown or "
        "chmod), or set TOLDFEED_DATA_DIR to a directory it may write"
    )


def _existing(path: Path) -> Path:
    """``path``, else its nearest parent that exists (what a new file would be made in)."""
    return next((p for p in (path, *path.absolute().parents) if p.exists()), Path("/"))


def _on_read_only_mount(path: Path) -> bool:
    """True when the file system holding ``path`` (or its nearest existing parent) is
    mounted read-only."""
    try:
        return bool(os.statvfs(_existing(path)).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _writable(path: Path) -> bool:
    """True when this process may write ``path`` (or make it in its nearest existing parent):
    False on a read-only mount, for root too."""
    return os.access(_existing(path), os.W_OK)


def _user() -> str:
    """The name (else the number) of the user this process runs as."""
    uid = os.geteuid()
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"
