"""The watchdog that ends a body read at the poll's deadline (for the fetcher and the poster).

One read may otherwise wait up to the whole timeout past the deadline (a source that sends a
byte every 14 s with a 15 s timeout). At the deadline the watchdog interrupts the answer (its
socket is shut down), which wakes a blocked read.

One thread of the process watches every read under way, started with the first: a thread
per read (``threading.Timer``) cost each body read some 0.3 ms of CPU, an all-changed poll
some 9 ms (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Protocol

log = logging.getLogger("toldfeed.fetch")


class Interruptible(Protocol):
    def interrupt(self) -> None: ...


class _Clock:
    """The process's one thread that fires watchdogs at their deadlines."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: dict[Watchdog, float] = {}
        self._thread: threading.Thread | None = None
        self._wakes = float("inf")  # when the thread wakes next by itself

    def watch(self, dog: Watchdog, deadline: float) -> None:
        with self._changed:
            self._due[dog] = deadline
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="toldfeed-watchdog", daemon=True
                )
                self._thread.start()
            if deadline < self._wakes:  # the reads of one poll share a deadline: one wake-up
                self._changed.notify()

    def forget(self, dog: Watchdog) -> None:
        with self._changed:
            self._due.pop(dog, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [dog for dog, deadline in self._due.items() if deadline <= now]
                for dog in late:
                    del self._due[dog]
                if not late:
                    self._wakes = min(self._due.values(), default=float("inf"))
                    self._changed.wait(self._wakes - now if self._due else None)
                    self._wakes = float("-inf")  # awake: told of every new deadline
                    continue
            for dog in late:  # outside the lock: an interrupt shuts a socket down
                try:
                    dog.fire()
                except Exception:  # the thread watches every later read: it must go on
                    log.exception("a watchdog could not interrupt its read")


_clock = _Clock()


def _new_clock() -> None:
    """In a forked child: the parent's thread is not there, its lock may be held."""
    global _clock
    _clock = _Clock()


os.register_at_fork(after_in_child=_new_clock)


class Watchdog:
    """Interrupts ``answer`` at ``deadline`` (monotonic; None: never) while in its ``with``,
    and never once its ``with`` has ended (the answer's connection may then be another
    request's); ``fired`` tells whether it did."""

    def __init__(self, answer: Interruptible, deadline: float | None) -> None:
        self.fired = False
        self._answer = answer
        self._deadline = deadline
        self._armed = False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if self._armed:
                self.fired = True
                self._answer.interrupt()

    def __enter__(self) -> Watchdog:
        if self._deadline is not None:
            self._armed = True
            _clock.watch(self, self._deadline)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._deadline is not None:
            _clock.forget(self)
            with self._lock:  # a firing under way ends first
                self._armed = False
