"""Incidents (or times to close) kept sorted as they come and go, with ``bisect``. Pure.

The indexes of ``app.site.archive``: each change inserts or removes one item instead of sorting
again, so keeping them costs the same with 100 or 10,000 incidents.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from app.model import Incident


class SortedIncidents:
    """Incidents kept sorted by a key as they come and go (bisect: no re-sort per change)."""

    def __init__(self, order: Callable[[Incident], tuple[Any, str]]) -> None:
        self.order = order
        self._keys: list[tuple[Any, str]] = []
        self._items: list[Incident] = []

    def add(self, incident: Incident) -> None:
        """Insert ``incident`` at its place."""
        key = self.order(incident)
        at = bisect.bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._items.insert(at, incident)

    def remove(self, incident: Incident) -> None:
        """Remove ``incident`` (nothing when it is not there)."""
        key = self.order(incident)
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            del self._keys[at]
            del self._items[at]

    def newest(self) -> Iterator[Incident]:
        """Largest key first."""
        return reversed(self._items)

    def newer_than(self, incident: Incident) -> int:
        """How many items sort after ``incident`` (its place counted from the largest key)."""
        return len(self._keys) - bisect.bisect_right(self._keys, self.order(incident))

    def from_largest(self, start: int, stop: int) -> list[Incident]:
        """Items ``start`` to ``stop`` (exclusive) counted from the largest key."""
        count = len(self._items)
        return self._items[max(0, count - stop) : max(0, count - start)][::-1]

    def at_least(self, key: tuple[Any, str]) -> list[Incident]:
        """Items whose key is ``key`` or larger, smallest first."""
        return self._items[bisect.bisect_left(self._keys, key) :]

    def largest_key(self) -> tuple[Any, str] | None:
        """The largest key, None when empty."""
        return self._keys[-1] if self._keys else None

    def __len__(self) -> int:
        return len(self._items)


class SortedDurations:
    """Times to close kept sorted (bisect), with the bare durations for O(1) percentiles."""

    def __init__(self) -> None:
        self._keys: list[tuple[timedelta, str]] = []
        self.values: list[timedelta] = []

    def add(self, duration: timedelta, key: str) -> None:
        """Insert the time to close of incident ``key``."""
        at = bisect.bisect_left(self._keys, (duration, key))
        self._keys.insert(at, (duration, key))
        self.values.insert(at, duration)

    def remove(self, duration: timedelta, key: str) -> None:
        """Remove the time to close of incident ``key`` (nothing when it is not there)."""
        at = bisect.bisect_left(self._keys, (duration, key))
        if at < len(self._keys) and self._keys[at] == (duration, key):
            del self._keys[at]
            del self.values[at]
