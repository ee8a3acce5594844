"""Inter-process locks on files in the data directory: one poll (``poll.lock``) and one delivery
pass (``notify.lock``) at a time among the processes sharing it.

A lock file that cannot be opened (a read-only mount, no permission, a full disk) is a
``StoreError`` saying what to do, like any other failure of the data directory.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from app.store.core import store_error


class PollLock:
    """A non-blocking exclusive lock on a file in the data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        """Take the lock, waiting up to ``wait_seconds``; False when another process holds it.

        StoreError when the lock file cannot be opened (or made)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise store_error(self.path, "open", e, what="lock file") from e
        give_up = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    os.close(fd)
                    return False
                time.sleep(0.05)
        self._fd = fd
        return True

    def release(self) -> None:
        """Release the lock."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
