"""Camera sources and the capture thread (Qt-free).

A *frame source* is anything with ``open()``, ``read()`` and ``close()``: a webcam through OpenCV, a
video file played at its own frame rate and looped (the test camera and the demo mode), or frames
held in memory (benchmarks). Sources are injected, so tests never need a webcam.

One persistent :class:`CaptureThread` per camera reads frames, downscales each one *once*, right after
capture, and writes it into a :class:`FrameRing`. Everything downstream (display, segmentation,
inference) works on those small frames. The capture thread never waits for a consumer; see
``FrameRing`` for the drop policy. A camera that fails to open or stops delivering frames is retried
with a growing pause, so unplugging and replugging a webcam heals by itself.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from signdesk.errors import SignDeskError, VideoError

log = logging.getLogger(__name__)

#: Longest side of the frames kept after capture. 480 px is plenty for display and for the model,
#: which sees 448x448 frames, and keeps a few seconds of frames within a few dozen MB.
DEFAULT_MAX_SIDE = 480
#: Frames the ring holds: about two seconds at 30 fps, far more than a healthy consumer ever lags.
#: With a model loaded each frame also carries its 448x448 copy: about 70 MB in all at 480 px.
DEFAULT_RING_CAPACITY = 64
#: Pauses between attempts to reopen a camera that failed or was lost (the last one repeats).
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)

COMMON_RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))


class CameraError(SignDeskError):
    """A camera cannot be opened or stopped delivering frames. ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class FrameSource(Protocol):
    """What the capture thread reads from. ``read`` blocks until the next frame is due."""

    name: str
    #: True when ``read`` returns BGR (OpenCV's order); the capture thread converts after downscaling.
    bgr: bool

    def open(self) -> None:
        """Open the device or file; raise ``CameraError`` (or ``VideoError``) when it cannot."""

    def read(self) -> np.ndarray | None:
        """The next frame (H, W, 3) uint8, or None when the source is lost or has ended."""

    def close(self) -> None: ...

    @property
    def fps(self) -> float: ...


# ---------------------------------------------------------------------------------------------- sources


class OpenCVCamera:
    """A webcam through OpenCV. ``read`` blocks until the driver delivers a frame."""

    bgr = True

    def __init__(self, index: int = 0, resolution: tuple[int, int] | None = (640, 480)) -> None:
        self.index = index
        self.resolution = resolution
        self.name = f"Camera {index}"
        self._cap = None
        self._fps = 30.0

    def open(self) -> None:
        import cv2

        api = cv2.CAP_DSHOW if sys.platform == "win32" else cv2.CAP_ANY
        cap = cv2.VideoCapture(self.index, api)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{self.name} cannot be opened: is it connected, and not used by another app?")
        if self.resolution:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we want the newest frame, not a backlog in the driver
        fps = cap.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and 1 <= fps <= 240 else 30.0
        self._cap = cap

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        return frame if ok and frame is not None and frame.size else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def fps(self) -> float:
        return self._fps


class _Pacer:
    """Hands out frames at a fixed rate against the monotonic clock, waiting on an interruptible event."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._next: float | None = None
        self._wake = threading.Event()

    def wait(self) -> bool:
        """Wait until the next frame is due; False when interrupted (the source is closing)."""
        now = time.monotonic()
        if self._next is None or now - self._next > 1.0:  # first frame, or we fell far behind: resync
            self._next = now
        delay = self._next - now
        if delay > 0 and self._wake.wait(delay):
            return False
        self._next += self.period
        return not self._wake.is_set()

    def interrupt(self) -> None:
        self._wake.set()

    def reset(self) -> None:
        self._wake.clear()
        self._next = None


class VideoFileSource:
    """A video file played at its own frame rate, looped: a stand-in camera for tests and demos."""

    bgr = True

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = True, fps: float | None = None) -> None:
        self.path = Path(path)
        self.loop = loop
        self.name = f"Video file {self.path.name}"
        self._forced_fps = fps
        self._fps = fps or 25.0
        self._cap = None
        self._pacer: _Pacer | None = None
        self.loops = 0
        self.ended = False  # a non-looping file reached its end

    def open(self) -> None:
        import cv2

        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such video file")
        cap = cv2.VideoCapture(str(self.path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise VideoError(f"{self.path}: not a readable video (damaged, truncated or not a video file)")
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = self._forced_fps or (fps if 1 <= fps <= 240 else 25.0)
        self._cap = cap
        self._pacer = _Pacer(self._fps)

    def read(self) -> np.ndarray | None:
        import cv2

        if self._cap is None or self._pacer is None or not self._pacer.wait():
            return None
        ok, frame = self._cap.read()
        if not ok and self.loop:
            self.loops += 1
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        elif not ok:
            self.ended = True
        return frame if ok else None

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.interrupt()
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def interrupt(self) -> None:
        """Wake a ``read`` that waits for its frame's time (called from another thread when stopping)."""
        if self._pacer is not None:
            self._pacer.interrupt()

    @property
    def fps(self) -> float:
        return self._fps


class ArraySource:
    """Frames held in memory, played at ``fps`` and looped: the benchmark's camera."""

    bgr = False

    def __init__(self, frames: np.ndarray | Sequence[np.ndarray], fps: float = 30.0, *, loop: bool = True,
                 name: str = "Test camera") -> None:
        if len(frames) == 0:
            raise ValueError("ArraySource needs at least one frame")
        self.frames = frames
        self.loop = loop
        self.name = name
        self._fps = fps
        self._pos = 0
        self._pacer = _Pacer(fps)
        self.delivered = 0
        self.ended = False

    def open(self) -> None:
        self._pacer.reset()

    def read(self) -> np.ndarray | None:
        if not self._pacer.wait():
            return None
        if self._pos >= len(self.frames):
            if not self.loop:
                self.ended = True
                return None
            self._pos = 0
        frame = self.frames[self._pos]
        self._pos += 1
        self.delivered += 1
        return frame

    def close(self) -> None:
        self._pacer.interrupt()

    def interrupt(self) -> None:
        self._pacer.interrupt()

    @property
    def fps(self) -> float:
        return self._fps


@dataclass(frozen=True)
class CameraInfo:
    index: int
    label: str


def list_cameras(max_probe: int = 4) -> list[CameraInfo]:
    """The cameras this machine offers. Can take a second (opening devices): call it off the GUI thread."""
    found: list[CameraInfo] = []
    if sys.platform.startswith("linux"):
        for dev in sorted(glob.glob("/dev/video*"), key=lambda p: int(p[10:] or 0) if p[10:].isdigit() else 99):
            suffix = dev[len("/dev/video"):]
            if not suffix.isdigit():
                continue
            name_file = Path(f"/sys/class/video4linux/video{suffix}/name")
            try:
                label = name_file.read_text(encoding="utf-8").strip()
            except OSError:
                label = ""
            # V4L2 lists metadata nodes too; only index 0 of each device captures. Keep them all but label.
            found.append(CameraInfo(int(suffix), f"Camera {suffix}" + (f" ({label})" if label else "")))
        return found
    import cv2

    for index in range(max_probe):
        cap = cv2.VideoCapture(index, cv2.CAP_DSHOW if sys.platform == "win32" else cv2.CAP_ANY)
        try:
            if cap.isOpened():
                found.append(CameraInfo(index, f"Camera {index}"))
        finally:
            cap.release()
    return found


# ------------------------------------------------------------------------------------------ ring buffer


@dataclass(frozen=True)
class Frame:
    """One captured frame, already downscaled."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, contiguous; never modified after capture
    seq: int  # 0-based number of the frame since the capture thread started (grows across reconnects)
    t: float  # time.monotonic() when the frame arrived
    pos_s: float  # seconds since the capture session started (transcript timestamps)
    clip_image: np.ndarray | None = None  # the model's frame size, resized from the raw frame as files are


class FrameRing:
    """A bounded ring of the newest frames, written by one capture thread and read by any number of readers.

    Drop policy: the writer never waits. When the ring is full, each new frame overwrites the oldest
    one. A reader that falls more than ``capacity`` frames behind loses the frames it did not read in
    time and is told how many (``read_since`` returns the count), so the display simply shows the
    newest frame and the segmenter knows its motion measure has a gap.
    """

    def __init__(self, capacity: int = DEFAULT_RING_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._cond = threading.Condition()
        self._next_seq = 0
        self._closed = False

    def put(self, image: np.ndarray, t: float, pos_s: float, clip_image: np.ndarray | None = None) -> Frame:
        with self._cond:
            frame = Frame(image, self._next_seq, t, pos_s, clip_image)
            self._next_seq += 1
            self._frames.append(frame)  # deque(maxlen) drops the oldest
            self._cond.notify_all()
        return frame

    @property
    def next_seq(self) -> int:
        """The sequence number the next frame will get (= frames written so far)."""
        return self._next_seq

    def latest(self) -> Frame | None:
        with self._cond:
            return self._frames[-1] if self._frames else None

    def read_since(self, seq: int) -> tuple[list[Frame], int]:
        """Frames numbered ``seq`` and later still in the ring, and how many of those were already dropped."""
        with self._cond:
            if not self._frames or seq >= self._next_seq:
                return [], 0
            oldest = self._frames[0].seq
            missed = max(0, oldest - seq)
            start = max(seq, oldest) - oldest
            return list(self._frames)[start:], missed

    def wait_for(self, seq: int, timeout: float | None = None) -> bool:
        """Block until frame ``seq`` exists or the ring is closed; False on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._next_seq > seq or self._closed, timeout)
            return self._next_seq > seq

    def close(self) -> None:
        """Wake every waiting reader for good (the capture session is over)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


def downscale(image: np.ndarray, max_side: int, *, bgr: bool = False) -> np.ndarray:
    """Shrink so the longest side is at most ``max_side`` (area averaging), and make it RGB."""
    import cv2

    height, width = image.shape[:2]
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if bgr else cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(2, round(width * scale)) & ~1, max(2, round(height * scale)) & ~1)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if bgr:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def clip_frame(raw: np.ndarray, size: tuple[int, int] | None, *, bgr: bool = False) -> np.ndarray | None:
    """The raw frame at the model's frame size, RGB, by the resize files get (``resize_frames``)."""
    import cv2

    from signdesk.video.decode import resize_frames

    if size is None:
        return None
    if raw.ndim == 2:
        raw = cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR if bgr else cv2.COLOR_GRAY2RGB)
    elif raw.shape[2] == 4:
        raw = raw[:, :, :3]
    image = resize_frames(raw[None], size)[0]  # resizing acts per channel: before or after the swap is the same
    if bgr:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    image.setflags(write=False)
    return image


# --------------------------------------------------------------------------------------- capture thread


@dataclass(frozen=True)
class CaptureEvent:
    """A change in the capture thread's state, for a status line.

    ``state`` is one of: ``opening``, ``running``, ``lost`` (frames stopped; a retry follows),
    ``retrying`` (waiting before the next attempt), ``failed`` (gave up: the source cannot work),
    ``ended`` (a non-looping file reached its end) and ``stopped`` (asked to stop).
    """

    state: str
    message: str = ""
    attempt: int = 0


class CaptureThread(threading.Thread):
    """Reads a source for as long as it runs: downscale once, write into the ring, never wait for readers.

    ``source_factory`` makes a fresh source for every (re)connection attempt. ``on_event`` and
    ``on_frame`` are called from this thread and must return at once (a Qt bridge emits a signal).

    With ``clip_size`` (the model's frame size, known once a model is loaded) each frame also gets a
    copy at that size, resized from the *raw* frame exactly as ``read_clip`` resizes decoded file
    frames: a live sign reaches the model as the same clip from a file would (one resize, not two).
    """

    def __init__(
        self,
        source_factory: Callable[[], FrameSource],
        ring: FrameRing,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        clip_size: tuple[int, int] | None = None,
        on_event: Callable[[CaptureEvent], None] | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
        max_failed_reads: int = 15,
        name: str = "signdesk-capture",
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._factory = source_factory
        self.ring = ring
        self.max_side = max_side
        self.clip_size = clip_size  # may be changed from another thread; read once per frame
        self._on_event = on_event or (lambda event: None)
        self._on_frame = on_frame or (lambda frame: None)
        self._retry_delays = tuple(retry_delays) or (1.0,)
        self._max_failed_reads = max_failed_reads
        self._stop_event = threading.Event()
        self._source: FrameSource | None = None
        self._source_lock = threading.Lock()
        self.state = "opening"
        self._had_frames = False
        self.source_fps = 0.0
        self._fps_window: deque[float] = deque(maxlen=31)

    def set_event_listener(self, on_event: Callable[[CaptureEvent], None]) -> None:
        """Replace the event listener (before ``start``)."""
        self._on_event = on_event

    # -- control, from any thread
    def stop(self) -> None:
        """Ask the thread to end; it closes the source and the ring. Follow with ``join``."""
        self._stop_event.set()
        with self._source_lock:
            source = self._source
        interrupt = getattr(source, "interrupt", None)
        if interrupt is not None:
            interrupt()

    @property
    def capture_fps(self) -> float:
        """Frames per second actually captured over the last second or so."""
        window = list(self._fps_window)
        if len(window) < 2 or time.monotonic() - window[-1] > 1.0:
            return 0.0
        return (len(window) - 1) / (window[-1] - window[0])

    # -- the thread
    def _emit(self, state: str, message: str = "", attempt: int = 0) -> None:
        self.state = state
        try:
            self._on_event(CaptureEvent(state, message, attempt))
        except Exception:  # a listener's bug must not kill capture
            log.exception("capture event listener failed")

    def run(self) -> None:
        attempt = 0
        t0 = time.monotonic()
        try:
            while not self._stop_event.is_set():
                self._emit("opening", "", attempt)
                source = self._factory()
                try:
                    source.open()
                except CameraError as exc:
                    if not exc.retry:
                        self._emit("failed", str(exc))
                        return
                    attempt += 1
                    if not self._pause(attempt, f"{exc}"):
                        return
                    continue
                except VideoError as exc:  # a damaged file will not heal by retrying
                    self._emit("failed", str(exc))
                    return
                except Exception as exc:  # unexpected driver error: report, retry
                    log.exception("opening %s failed", getattr(source, "name", "camera"))
                    attempt += 1
                    if not self._pause(attempt, f"{getattr(source, 'name', 'camera')}: {exc}"):
                        return
                    continue
                with self._source_lock:
                    self._source = source
                try:
                    outcome = self._pump(source, t0)
                finally:
                    with self._source_lock:
                        self._source = None
                    try:
                        source.close()
                    except Exception:
                        log.exception("closing the camera failed")
                if outcome == "stopped":
                    return
                if outcome == "ended":
                    self._emit("ended", f"{source.name} ended")
                    return
                attempt = 1 if self._had_frames else attempt + 1  # back-off restarts after a good run
                if not self._pause(attempt, f"{source.name} stopped sending frames (disconnected?)", lost=True):
                    return
        finally:
            self.ring.close()
            self._emit("stopped", "")

    def _pause(self, attempt: int, message: str, *, lost: bool = False) -> bool:
        delay = self._retry_delays[min(attempt - 1, len(self._retry_delays) - 1)]
        if lost:
            self._emit("lost", message, attempt)
        self._emit("retrying", f"{message} — retrying in {delay:g} s", attempt)
        return not self._stop_event.wait(delay)

    def _pump(self, source: FrameSource, t0: float) -> str:
        """Read until stopped or lost: returns ``stopped``, ``ended`` or ``lost``."""
        self.source_fps = float(source.fps)
        failed_reads = 0
        announced = False
        self._had_frames = False
        while not self._stop_event.is_set():
            raw = source.read()
            if self._stop_event.is_set():
                return "stopped"
            if raw is None:
                if getattr(source, "ended", False):
                    return "ended"
                failed_reads += 1
                if failed_reads >= self._max_failed_reads:
                    return "lost"
                self._stop_event.wait(0.01)
                continue
            failed_reads = 0
            now = time.monotonic()
            image = downscale(raw, self.max_side, bgr=source.bgr)
            image.setflags(write=False)
            clip_image = clip_frame(raw, self.clip_size, bgr=source.bgr)
            frame = self.ring.put(image, now, now - t0, clip_image)
            self._fps_window.append(now)
            if not announced:
                announced = self._had_frames = True
                self._emit("running", source.name)
            try:
                self._on_frame(frame)
            except Exception:
                log.exception("frame listener failed")
        return "stopped"
