"""Corrections become data: a word corrected in the Live transcript kept, with its clip, as a take.

The live view keeps the clips of its last signs in a :class:`RecentClips` (bounded by memory, oldest
first out). When the user corrects a word (picks an alternative or types one), the clip whose span
matches the transcript entry's is kept as a take of the *right* word, origin ``correction`` —
if the setting ``my_signs.keep_corrections`` says so. That setting is off by default; the app asks
once (``null`` means "not asked yet", which is off). Takes stay in the takes folder on this computer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from signdesk.mysigns.recorder import candidate_from_clip, keep_candidate

ASK, KEEP, OFF = "ask", "keep", "off"
SETTING = "my_signs.keep_corrections"
#: Frames kept for corrections at most (bytes): a few dozen seconds of signs at the model's frame size.
MEMORY_BUDGET = 160 * 1024 * 1024


def correction_policy(settings: Any) -> str:
    """``ask`` (never answered: off until the user says yes), ``keep`` or ``off``."""
    value = settings.get(SETTING) if hasattr(settings, "get") else settings[SETTING]
    return ASK if value is None else (KEEP if value else OFF)


def store_from_settings(settings: Any):
    from signdesk.mysigns.store import DEFAULT_TARGET, TakeStore

    folder = settings.get("my_signs.folder")
    return TakeStore(folder or None, target=int(settings.get("my_signs.target") or DEFAULT_TARGET))


def _bytes(clip: Any) -> int:
    return sum(int(getattr(f, "nbytes", 0)) for f in clip.frames)


class RecentClips:
    """The clips of the latest live signs, found again by their span in the stream (thread-safe)."""

    def __init__(self, budget_bytes: int = MEMORY_BUDGET, max_clips: int = 32) -> None:
        self.budget = budget_bytes
        self.max_clips = max_clips
        self._clips: OrderedDict[tuple[float, float], tuple[Any, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, clip: Any, source_fps: float) -> None:
        size = _bytes(clip)
        with self._lock:
            key = (round(float(clip.start_s), 3), round(float(clip.end_s), 3))
            old = self._clips.pop(key, None)
            if old is not None:
                self._bytes -= _bytes(old[0])
            self._clips[key] = (clip, float(source_fps))
            self._bytes += size
            while self._clips and (self._bytes > self.budget or len(self._clips) > self.max_clips):
                _, (dropped, _fps) = self._clips.popitem(last=False)
                self._bytes -= _bytes(dropped)

    def find(self, start_s: float, end_s: float) -> tuple[Any, float] | None:
        """The kept clip that overlaps ``start_s..end_s`` most (a transcript entry's span), or None."""
        best, best_overlap = None, 0.0
        with self._lock:
            for (a, b), item in self._clips.items():
                overlap = min(b, end_s) - max(a, start_s)
                if a == start_s and b == end_s:
                    return item
                if overlap > best_overlap:
                    best, best_overlap = item, overlap
        return best

    def clear(self) -> None:
        with self._lock:
            self._clips.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._clips)


def keep_correction(store: Any, clip: Any, word: str, source_fps: float):
    """Keep ``clip`` as a take of the corrected ``word``; ``TakeRefused`` when it cannot be a take."""
    candidate = candidate_from_clip(clip, source_fps)
    return keep_candidate(store, word, candidate, origin="correction")
