"""A cache of what is made once per version of an incident (an entry, an API object, a
calendar event), the least recently used dropped past a size. Thread-safe: web workers render
variants from several threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from app.model import Incident

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerVersion(Generic[K, V]):
    """Values keyed by ``K`` (naming an incident and whatever else they depend on), each kept
    with the incident it was made from: a new version of the incident makes it again, so a
    kept value never outlives the incident it shows."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[K, tuple[Incident, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, incident: Incident, make: Callable[[], V]) -> V:
        """The value for ``key`` made from this version of ``incident`` (by ``make``, once)."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and (kept[0] is incident or kept[0] == incident):
                self._kept.move_to_end(key)
                return kept[1]
        value = make()
        with self._lock:
            self._kept[key] = (incident, value)
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value
