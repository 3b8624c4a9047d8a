"""The live pipeline's Qt side: a capture thread and a segmenter thread, reported through signals.

Frame notifications coalesce: the capture thread emits ``_frame_pending`` only when the GUI has
taken the previous one, so at most one such event is ever queued however slow the GUI is; the GUI
then shows whatever frame is newest (and drops the rest by itself).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from signdesk.video.camera import (
    DEFAULT_MAX_SIDE,
    DEFAULT_RING_CAPACITY,
    CaptureEvent,
    CaptureThread,
    Frame,
    FrameRing,
    FrameSource,
)
from signdesk.video.segment import SegmenterConfig, SegmenterStatus, SegmentThread, SignClip

log = logging.getLogger(__name__)


class LiveSession(QObject):
    """Start/stop a camera with its segmenter; finished clips go to ``clip_sink`` (from the segmenter thread)."""

    frame_captured = Signal(object)
    """(Frame) the newest captured frame, delivered on the GUI thread; frames in between are skipped."""
    capture_state_changed = Signal(str, str)
    """(state, message) see ``CaptureEvent``: opening, running, lost, retrying, failed, ended, stopped."""
    segmenter_status_changed = Signal(bool, float)
    """(signing, collected seconds) the segmenter entered or left a sign, or collected 0.1 s more."""
    motion_measured = Signal(float, float)
    """(energy, threshold) % of the picture that moved at the last frame, and the % above which a sign
    starts; about ten times a second while the camera runs (for the motion meter)."""
    calibration_finished = Signal(float)
    """(floor) a ``calibrate`` ended: the scene at rest moves this % of the picture (raises the thresholds)."""
    clip_segmented = Signal(object)
    """(SignClip) a clip was handed to the sink (its frames are not to be modified)."""

    _frame_pending = Signal()
    _event_arrived = Signal(object)
    _status_arrived = Signal(object)
    _calibrated_arrived = Signal(object)

    def __init__(self, clip_sink: Callable[[SignClip], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clip_sink = clip_sink
        self._capture: CaptureThread | None = None
        self._segment: SegmentThread | None = None
        self._ring: FrameRing | None = None
        self._pending = threading.Event()
        self._config = SegmenterConfig()
        self._clip_size: tuple[int, int] | None = None
        self._last_status: tuple[bool, int] | None = None
        self.state = "stopped"
        self.message = ""
        self._frame_pending.connect(self._take_frame)
        self._event_arrived.connect(self._on_event)
        self._status_arrived.connect(self._on_status)
        self._calibrated_arrived.connect(self._on_calibrated)

    # ---------------------------------------------------------------- control (GUI thread)
    @property
    def running(self) -> bool:
        return self._capture is not None

    @property
    def capture_fps(self) -> float:
        return self._capture.capture_fps if self._capture is not None else 0.0

    @property
    def ring(self) -> FrameRing | None:
        return self._ring

    @property
    def segment_thread(self) -> SegmentThread | None:
        """The running segmenter thread (its ``segmenter`` is the one in use), or None."""
        return self._segment

    @property
    def clip_size(self) -> tuple[int, int] | None:
        return self._clip_size

    def start(self, source_factory: Callable[[], FrameSource], config: SegmenterConfig, *,
              max_side: int = DEFAULT_MAX_SIDE) -> None:
        self.stop()
        self._config = config
        self._ring = FrameRing(DEFAULT_RING_CAPACITY)
        self._pending.clear()
        self._last_status = None
        capture = CaptureThread(source_factory, self._ring, max_side=max_side, clip_size=self._clip_size,
                                on_frame=self._frame_arrived)
        capture.set_event_listener(lambda event: self._event_arrived.emit((capture, event)))
        self._capture = capture
        # reports carry their thread, so a late one from a session already stopped is dropped
        segment = SegmentThread(self._ring, config.build(30.0), self._clip_found,
                                lambda status: self._status_arrived.emit((segment, status)),
                                lambda floor: self._calibrated_arrived.emit((segment, floor)))
        self._segment = segment
        self._segment.start()
        self._capture.start()

    def set_segmenter_config(self, config: SegmenterConfig) -> None:
        """Apply new segmentation settings at the next frame (no restart)."""
        self._config = config
        if self._segment is not None and self._capture is not None:
            self._segment.set_segmenter(config.build(self._capture.source_fps or 30.0))

    def calibrate(self, seconds: float = 1.0) -> bool:
        """Take the next ``seconds`` of video as the scene at rest; False (nothing done) when not running.

        ``calibration_finished`` follows once that much video has been seen.
        """
        if self._segment is None or self._capture is None:
            return False
        self._segment.calibrate(seconds)
        return True

    def set_clip_size(self, size: tuple[int, int] | None) -> None:
        """The model's frame size (width, height): frames then also carry ``clip_image`` at that size.

        Applies to the running camera from its next frame, and to every camera started later.
        """
        self._clip_size = (int(size[0]), int(size[1])) if size is not None else None
        if self._capture is not None:
            self._capture.clip_size = self._clip_size  # read once per frame by the capture thread

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop and join both threads; True when they ended within ``timeout``."""
        capture, segment = self._capture, self._segment
        self._capture = self._segment = None
        if capture is None:
            return True
        capture.stop()
        if segment is not None:
            segment.stop()
        deadline = time.monotonic() + timeout
        capture.join(max(0.0, deadline - time.monotonic()))
        if segment is not None:
            segment.join(max(0.0, deadline - time.monotonic()))
        ok = not capture.is_alive() and (segment is None or not segment.is_alive())
        if not ok:
            log.warning("camera threads did not stop within %.1f s", timeout)
        self.state, self.message = "stopped", ""
        self.capture_state_changed.emit("stopped", "")
        self._last_status = (False, 0)
        self.segmenter_status_changed.emit(False, 0.0)
        return ok

    def latest_frame(self) -> Frame | None:
        return self._ring.latest() if self._ring is not None else None

    # ---------------------------------------------------------------- from the worker threads
    def _frame_arrived(self, frame: Frame) -> None:
        if not self._pending.is_set():  # coalesce: one notification in flight at most
            self._pending.set()
            self._frame_pending.emit()

    def _clip_found(self, clip: SignClip) -> None:
        self._clip_sink(clip)
        self.clip_segmented.emit(clip)

    # ---------------------------------------------------------------- back on the GUI thread
    @Slot()
    def _take_frame(self) -> None:
        self._pending.clear()
        frame = self.latest_frame()
        if frame is not None and self._capture is not None:
            self.frame_captured.emit(frame)

    @Slot(object)
    def _on_event(self, item: tuple[CaptureThread, CaptureEvent]) -> None:
        capture, event = item
        if capture is not self._capture:
            return  # a late event from a session already stopped
        if event.state == "running" and self._segment is not None:
            # now the real frame rate is known: size the segmenter's windows for it
            self._segment.set_segmenter(self._config.build(capture.source_fps or 30.0))
        if event.state == "stopped":  # the thread ended by itself (failed, or a file ended)
            capture.join(1.0)  # it has nothing left to do after this event
            segment, self._segment, self._capture = self._segment, None, None
            if segment is not None:
                segment.stop()
                segment.join(1.0)
            self._last_status = (False, 0)
            self.segmenter_status_changed.emit(False, 0.0)
            if self.state in {"failed", "ended"}:
                return  # keep that message on show
        self.state, self.message = event.state, event.message
        self.capture_state_changed.emit(event.state, event.message)

    @Slot(object)
    def _on_status(self, item: tuple[SegmentThread, SegmenterStatus]) -> None:
        segment, status = item
        if segment is not self._segment or self._capture is None:
            return
        self.motion_measured.emit(status.energy, status.threshold)
        # the segmenter reports ten times a second for the meter: the overlay only hears of changes
        key = (status.signing, int(status.collected_s * 10))
        if key != self._last_status:
            self._last_status = key
            self.segmenter_status_changed.emit(status.signing, status.collected_s)

    @Slot(object)
    def _on_calibrated(self, item: tuple[SegmentThread, float]) -> None:
        segment, floor = item
        if segment is self._segment and self._capture is not None:
            self.calibration_finished.emit(float(floor))
