"""What the passes over the clock remember (``app.notify.clockwork``): when each window's start
and end were first known, and each target's last digest.

Keys (each spelled here only):

    window_known:<key>     when toldfeed first knew the window of incident <key> as it stands
    digest_mark:<target>   the last digest queued for <target> (or when it was first seen)

Both are written by steps inside the commit's transaction (``Batch.later``), so two processes
passing over the clock at once agree: the first to know a window's start keeps its time, and
a digest mark only ever moves to a later day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from app.store.core import GENERATION, Batch, Reader, StoreCore
from app.store.delivery_codec import (
    digest_mark_from_dict,
    digest_mark_to_dict,
    window_known_from_dict,
    window_known_to_dict,
)
from app.store.records import DigestMark, WindowKnown

_KNOWN, _DIGEST = "window_known:", "digest_mark:"


def _merged(fresh: WindowKnown, stored: WindowKnown | None) -> WindowKnown:
    """``fresh``, keeping the earlier times of a start or end that ``stored`` already knew."""
    if stored is None:
        return fresh
    start_known = fresh.start_known_at
    if stored.start_at == fresh.start_at:
        start_known = min(start_known, stored.start_known_at)
    end_known = fresh.end_known_at
    if stored.end_at == fresh.end_at:
        end_known = min(end_known, stored.end_known_at)
    return WindowKnown(fresh.start_at, start_known, fresh.end_at, end_known)


class MomentsMixin(StoreCore):
    """When windows were first known; each target's last digest."""

    def windows_known(self) -> dict[str, WindowKnown]:
        """Every window's record, by incident key."""
        return {
            key[len(_KNOWN) :]: window_known_from_dict(value)
            for key, value in self._prefixed(_KNOWN)
            if value
        }

    def window_known(self, key: str) -> WindowKnown | None:
        """The record of incident ``key``'s window, or None."""
        data = self.get(f"{_KNOWN}{key}")
        return window_known_from_dict(data) if data else None

    @staticmethod
    def stage_windows_known(
        batch: Batch, generation: int, fresh: Mapping[str, WindowKnown], gone: Iterable[str]
    ) -> None:
        """Queue what was learnt from the incidents of ``generation``: new or moved windows
        (``fresh``) and windows no longer to be told of (``gone``); nothing when the store has
        moved past that generation by the commit (the next pass learns from the newer one)."""
        gone = list(gone)

        def step(read: Reader) -> Batch:
            out = Batch()
            if int(read(GENERATION) or 0) != generation:
                return out
            for key, known in fresh.items():
                data = read(f"{_KNOWN}{key}")
                stored = window_known_from_dict(data) if data else None
                merged = _merged(known, stored)
                if merged != stored:
                    out.put(f"{_KNOWN}{key}", window_known_to_dict(merged))
            for key in gone:
                out.delete(f"{_KNOWN}{key}")
            return out

        if fresh or gone:
            batch.later(step)

    def digest_mark(self, target: str) -> DigestMark | None:
        """The last digest queued for ``target`` (None: the target was never seen)."""
        data = self.get(f"{_DIGEST}{target}")
        return digest_mark_from_dict(data) if data else None

    @staticmethod
    def stage_digest_mark(batch: Batch, target: str, day: date | None, at: datetime) -> None:
        """Queue ``target``'s digest of ``day`` taken ``at`` (``day`` None: first seen ``at``);
        a mark that is already as late or later stays."""
        key = f"{_DIGEST}{target}"

        def step(read: Reader) -> Batch:
            out = Batch()
            data = read(key)
            stored = digest_mark_from_dict(data) if data else None
            later = stored is None or (day is not None and (stored.day is None or stored.day < day))
            if later:
                out.put(key, digest_mark_to_dict(DigestMark(day, at)))
            return out

        batch.later(step)
