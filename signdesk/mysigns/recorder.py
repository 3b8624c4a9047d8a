"""Cutting takes out of a camera (or a video file played as one) and out of imported files (Qt-free).

Recording uses the live path unchanged (``signdesk.live``): a :class:`CaptureThread` downscales each
frame once into a bounded ring, a :class:`SegmentThread` runs the motion segmenter over it, and each
sign it cuts out becomes a :class:`Candidate`: its frames, where it lay in the stream, and, if it
cannot be kept, the one-line reason (``signdesk.mysigns.checks``). The GUI shows a candidate for
keep/redo; ``signdesk record`` keeps every good one. Nothing here blocks a GUI thread: the threads
run on their own and :meth:`TakeRecorder.get` waits only as long as it is told.

Importing a file runs the same segmenter over the file's frames (as fast as they decode, not at the
file's pace): the span from the first movement to the last is the take.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from signdesk.errors import SignDeskError, VideoError
from signdesk.mysigns.checks import MAX_TAKE_S, TakeRefused, check_frames, refusal

log = logging.getLogger(__name__)

#: The segmenter hands over motions from this length, so the too-short ones are refused with a reason
#: instead of vanishing; shorter blips (a keyframe's noise) are still dropped silently.
SEGMENT_MIN_S = 0.15


@dataclass
class Candidate:
    """One sign the segmenter cut out: to keep as a take, or refused (``reason``)."""

    frames: list[np.ndarray]  # RGB, as captured (longest side at most the capture's max_side)
    fps: float  # frames per second of ``frames`` (lower than the camera's when a long sign was thinned)
    start_seq: int  # the sign's first and last frame in the stream (0-based; a file camera: file frames)
    end_seq: int
    duration_s: float
    cut: bool = False
    motion_id: int | None = None
    reason: str | None = None
    repeat: bool = False  # another piece of a motion already refused as too long: not worth a second line

    @property
    def ok(self) -> bool:
        return self.reason is None


def segmenter_for_takes(fps: float, sensitivity: float = 5.0, hold_s: float = 0.6):
    from signdesk.video.segment import MotionSegmenter

    return MotionSegmenter(fps, min_sign_s=SEGMENT_MIN_S, max_sign_s=MAX_TAKE_S, hold_s=hold_s,
                           sensitivity=sensitivity)


def candidate_from_clip(clip: Any, source_fps: float, too_long: set[int] | None = None) -> Candidate:
    """A live ``SignClip`` as a candidate take, checked. ``too_long``: motion ids already refused as too long."""
    source_fps = float(source_fps) if source_fps and source_fps > 0 else 30.0
    frames = list(clip.frames)
    span = max(0, clip.end_seq - clip.start_seq) if clip.end_seq >= clip.start_seq >= 0 else 0
    duration = span / source_fps if span else max(0.0, clip.end_s - clip.start_s)
    fps = (len(frames) - 1) / duration if duration > 0 and len(frames) > 1 else source_fps
    candidate = Candidate(frames, min(fps, source_fps), clip.start_seq, clip.end_seq, duration, bool(clip.cut),
                          clip.motion_id)
    seen = too_long if too_long is not None else set()
    if clip.motion_id is not None and clip.motion_id in seen:
        candidate.reason = refusal(duration, len(frames), cut=True)
        candidate.repeat = True
        return candidate
    candidate.reason = check_frames(frames, candidate.fps, cut=candidate.cut, duration_s=duration) if frames else \
        "too short: the take has no frames; sign the whole word"
    if candidate.cut and clip.motion_id is not None:
        seen.add(clip.motion_id)
    return candidate


class TakeRecorder:
    """A camera source → capture thread → ring → segmenter thread → a queue of checked candidates.

    ``source_factory`` makes the frame source (``OpenCVCamera``, ``VideoFileSource``, ...). Use
    :meth:`start`, then :meth:`get` candidates until :attr:`done`, then :meth:`stop`.
    """

    def __init__(self, source_factory: Callable[[], Any], *, sensitivity: float = 5.0, hold_s: float = 0.6,
                 max_side: int | None = None, on_event: Callable[[Any], None] | None = None) -> None:
        from signdesk.live import ClipQueue
        from signdesk.video.camera import DEFAULT_MAX_SIDE, DEFAULT_RING_CAPACITY, CaptureThread, FrameRing
        from signdesk.video.segment import SegmentThread

        self.sensitivity = sensitivity
        self.hold_s = hold_s
        self.ring = FrameRing(DEFAULT_RING_CAPACITY)
        self._clips = ClipQueue(size=16)  # no model to wait for: the consumer keeps up
        self._too_long: set[int] = set()
        self._user_event = on_event or (lambda event: None)
        self.failure: str | None = None
        self.status: Any = None  # the segmenter's last SegmenterStatus (signing, motion level): for a meter
        self._flushed = False
        self._fps_set = False
        self._lock = threading.Lock()
        self.capture = CaptureThread(source_factory, self.ring, max_side=max_side or DEFAULT_MAX_SIDE,
                                     on_event=self._on_event, name="signdesk-record-capture")
        self.segment = SegmentThread(self.ring, segmenter_for_takes(30.0, sensitivity, hold_s), self._on_clip,
                                     on_status=self._on_status, name="signdesk-record-segmenter")
        self._started = False

    # -- threads' callbacks (must return at once)
    def _on_event(self, event: Any) -> None:
        if event.state == "running" and not self._fps_set and self.capture.source_fps:
            self._fps_set = True  # size the segmenter's windows for the source's real rate
            self.segment.set_segmenter(segmenter_for_takes(self.capture.source_fps, self.sensitivity, self.hold_s))
        if event.state == "failed":
            self.failure = event.message
        self._user_event(event)

    def _on_status(self, status: Any) -> None:
        self.status = status

    def _on_clip(self, clip: Any) -> None:
        # checked here, on the segmenter thread (measuring a take's motion takes a few dozen ms): ``get``,
        # which a GUI timer calls, only hands over what is ready
        self._clips.put(candidate_from_clip(clip, self.source_fps, self._too_long))

    # -- control
    def start(self) -> TakeRecorder:
        self._started = True
        self.segment.start()
        self.capture.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        if not self._started:
            return
        self.capture.stop()
        self.segment.stop()
        self.capture.join(timeout)
        self.segment.join(timeout)

    def calibrate(self, seconds: float = 1.0) -> None:
        """Take the next ``seconds`` as the signer at rest (a restless scene: fewer false starts)."""
        self.segment.calibrate(seconds)

    @property
    def source_fps(self) -> float:
        return float(self.capture.source_fps or 30.0)

    def latest_frame(self) -> np.ndarray | None:
        frame = self.ring.latest()
        return None if frame is None else frame.image

    @property
    def done(self) -> bool:
        """The source ended (or failed), every frame was segmented and every candidate taken."""
        return self._flushed and not len(self._clips)

    def get(self, timeout: float = 0.1) -> Candidate | None:
        """The next candidate (checked), or None when none came within ``timeout`` seconds."""
        candidate = self._clips.get(timeout)
        if candidate is None:
            with self._lock:
                if self._started and not self.segment.is_alive() and not self._flushed:
                    self._flushed = True  # the stream ended: close a sign still open (the thread is gone)
                    final = self.segment.segmenter.flush()
                    if final is not None:
                        return candidate_from_clip(final, self.source_fps, self._too_long)
        return candidate


# ------------------------------------------------------------------------------------------- importing
def _frames_of(path: Path, max_side: int, start: int = 0, stop: int | None = None):
    """(index, RGB frame downscaled as the camera does) for the file's frames ``start..stop`` (inclusive)."""
    import cv2

    from signdesk.video.camera import downscale

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: not a readable video")
        index = 0
        while stop is None or index <= stop:
            ok, raw = cap.read()
            if not ok or raw is None:
                break
            if index >= start:
                yield index, downscale(raw, max_side, bgr=True)
            index += 1
    finally:
        cap.release()


def find_sign(path: str | os.PathLike[str], *, sensitivity: float = 5.0, max_side: int | None = None
              ) -> tuple[Candidate, float]:
    """The sign in a video file (first movement to last) as a checked candidate, and the file's frame rate."""
    import cv2

    from signdesk.video.camera import DEFAULT_MAX_SIDE

    path = Path(path).expanduser()
    if not path.is_file():
        raise SignDeskError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) if cap.isOpened() else 0.0
    cap.release()
    fps = fps if 1 <= fps <= 240 else 25.0
    side = max_side or DEFAULT_MAX_SIDE
    segmenter = segmenter_for_takes(fps, sensitivity)
    segmenter.keep_frames = False  # first pass: where the sign is; its frames are read again below
    clips = []
    count = 0
    for index, frame in _frames_of(path, side):
        count += 1
        clip = segmenter.feed(frame, index / fps, index, t=index / fps)
        if clip is not None:
            clips.append(clip)
    final = segmenter.flush()
    if final is not None:
        clips.append(final)
    if count == 0:
        raise VideoError(f"{path}: not a readable video (no frames)")
    if not clips:
        reason = refusal(0.0, 0) if segmenter.discarded else refusal(0.0, count, moving=0)
        return Candidate([], fps, -1, -1, 0.0, reason=reason), fps
    start, end = clips[0].start_seq, clips[-1].end_seq
    frames = [frame for _, frame in _frames_of(path, side, start, end)]
    duration = (end - start) / fps
    candidate = Candidate(frames, fps, start, end, duration, any(c.cut for c in clips), clips[0].motion_id)
    candidate.reason = check_frames(frames, fps, cut=candidate.cut, duration_s=duration)
    return candidate, fps


def import_video(store: Any, word: str, path: str | os.PathLike[str], *, sensitivity: float = 5.0):
    """Import the sign in a video file as a take of ``word``; raises ``TakeRefused`` with the reason."""
    candidate, _fps = find_sign(path, sensitivity=sensitivity)
    if candidate.reason:
        raise TakeRefused(candidate.reason)
    return store.add_frames(word, candidate.frames, candidate.fps, origin="file",
                            stream_range=(candidate.start_seq, candidate.end_seq), cut=candidate.cut,
                            duration_s=candidate.duration_s, check=False)


def keep_candidate(store: Any, word: str, candidate: Candidate, *, origin: str = "camera"):
    """Keep a checked candidate as a take (``TakeRefused`` when it was refused)."""
    if candidate.reason:
        raise TakeRefused(candidate.reason)
    return store.add_frames(word, candidate.frames, candidate.fps, origin=origin,
                            stream_range=(candidate.start_seq, candidate.end_seq), cut=candidate.cut,
                            duration_s=candidate.duration_s, check=False)
