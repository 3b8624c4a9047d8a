"""Find where signs start and end in a stream of frames (Qt-free).

Motion is measured by frame differencing on tiny grey copies of the (already downscaled) frames: the
mean absolute difference between consecutive frames, in grey levels. A still scene is not silent
(sensor noise, compression, breathing), so the thresholds adapt to it: while nothing happens the
segmenter keeps a running mean and mean deviation of the motion energy, and a sign starts when the
energy rises well above that noise. Hysteresis (a lower threshold to stay "signing") and a short hold
period keep one sign from falling apart at its slow moments.

Two strategies produce :class:`SignClip` objects:

- :class:`MotionSegmenter` (``live.segmentation: motion``): one clip per sign, from the first moving
  frame to the last, discarded if shorter than ``min_sign_s``, cut at ``max_sign_s`` (the motion
  goes on in a new clip with the same ``motion_id``, so the transcript does not repeat a held sign).
- :class:`ContinuousSegmenter` (``live.segmentation: continuous``): a rolling window over the last
  ``window_s`` seconds, handed over every ``stride`` frames while there is motion in it.

:class:`SegmentThread` runs a segmenter over a :class:`~signdesk.video.camera.FrameRing`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from signdesk.video.camera import FrameRing

log = logging.getLogger(__name__)

#: Width of the grey copies motion is measured on. Tiny on purpose: noise averages out, cost is ~0.1 ms.
ANALYSIS_WIDTH = 64
#: Frames of a clip kept at most; longer signs are thinned out uniformly (every other frame dropped).
CLIP_CAPACITY = 64


@dataclass
class SignClip:
    """Frames over one sign (or one window), and where they lie in the stream."""

    frames: list[np.ndarray]  # RGB frames in time order, uniformly thinned when the sign was long
    start_s: float  # stream position of the first frame (seconds)
    end_s: float  # stream position of the last moving frame
    start_seq: int = -1  # frame numbers in the stream (file mode: 0-based frame indices)
    end_seq: int = -1
    motion_id: int | None = None  # one continuous motion; clips cut from it share the id
    last_frame_t: float = 0.0  # time.monotonic() when the last frame of the sign was captured
    emitted_t: float = 0.0  # time.monotonic() when the segmenter handed the clip over
    cut: bool = False  # ended by max_sign_s while the motion went on

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SegmenterStatus:
    """What the live view overlays: are we in a sign, how long has the clip been collecting."""

    signing: bool
    collected_s: float
    energy: float
    threshold: float


class ClipBuffer:
    """A bounded list of stream items that stays uniformly spread over time however long it runs.

    When full, every other item is dropped and from then on only every ``step``-th new item is kept,
    so a sign of any length is held in at most ``capacity`` frames.
    """

    def __init__(self, capacity: int = CLIP_CAPACITY) -> None:
        self.capacity = max(2, capacity)
        self.items: list[tuple[int, float, float, np.ndarray | None]] = []  # (seq, pos_s, t, frame)
        self._step = 1
        self._count = 0

    def add(self, seq: int, pos_s: float, t: float, frame: np.ndarray | None) -> None:
        if self._count % self._step == 0:
            self.items.append((seq, pos_s, t, frame))
            if len(self.items) >= self.capacity:  # kept items are multiples of step: halving keeps them so
                self.items = self.items[::2]
                self._step *= 2
        self._count += 1

    def __len__(self) -> int:
        return len(self.items)


class MotionMeter:
    """Motion energy of each frame against the previous one, and thresholds adapted to the idle noise."""

    def __init__(self, *, sensitivity: float = 4.0, min_energy: float = 1.5, width: int = ANALYSIS_WIDTH,
                 warmup: int = 8, alpha: float = 0.05) -> None:
        self.sensitivity = sensitivity
        self.min_energy = min_energy
        self.width = width
        self.warmup = warmup
        self.alpha = alpha
        self._prev: np.ndarray | None = None
        self._warm: list[float] = []
        self.noise_mean: float | None = None
        self.noise_dev = 0.5
        self.energy = 0.0

    def measure(self, image: np.ndarray, gap: bool = False) -> float:
        """Energy of this frame (mean absolute grey difference); 0 for the first frame or after a gap."""
        import cv2

        height, width = image.shape[:2]
        size = (self.width, max(1, round(height * self.width / width)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
        grey = grey.astype(np.float32)
        prev, self._prev = self._prev, grey
        if prev is None or gap or prev.shape != grey.shape:
            self.energy = 0.0
        else:
            self.energy = float(np.abs(grey - prev).mean())
        return self.energy

    @property
    def on_threshold(self) -> float:
        if self.noise_mean is None:
            return max(self.min_energy, 3.0)
        return max(self.min_energy, self.noise_mean + self.sensitivity * self.noise_dev + 0.5)

    @property
    def off_threshold(self) -> float:
        """Lower than ``on_threshold`` (hysteresis): a sign's slow moments do not end it."""
        base = self.noise_mean if self.noise_mean is not None else 0.0
        return max(self.min_energy * 0.6, base + 0.5 * (self.on_threshold - base))

    @property
    def warmed_up(self) -> bool:
        return self.noise_mean is not None

    def learn_idle(self, energy: float) -> None:
        """Fold one idle frame's energy into the noise model."""
        if self.noise_mean is None:
            self._warm.append(energy)
            if len(self._warm) >= self.warmup:
                values = np.asarray(self._warm[1:] or self._warm)  # the very first energy is always 0
                self.noise_mean = float(np.median(values))
                self.noise_dev = max(0.25, float(np.mean(np.abs(values - self.noise_mean))))
                self._warm.clear()
            return
        self.noise_mean += self.alpha * (energy - self.noise_mean)
        self.noise_dev = max(0.25, self.noise_dev + self.alpha * (abs(energy - self.noise_mean) - self.noise_dev))

    def reset_reference(self) -> None:
        self._prev = None


class MotionSegmenter:
    """One clip per sign, from motion (see the module docstring)."""

    def __init__(
        self,
        fps: float = 30.0,
        *,
        min_sign_s: float = 0.4,
        max_sign_s: float = 3.0,
        hold_s: float = 0.25,
        preroll_s: float = 0.1,
        start_frames: int = 2,
        sensitivity: float = 4.0,
        min_energy: float = 1.5,
        keep_frames: bool = True,
        capacity: int = CLIP_CAPACITY,
    ) -> None:
        if max_sign_s <= min_sign_s:
            raise ValueError(f"max_sign_s ({max_sign_s}) must be longer than min_sign_s ({min_sign_s})")
        self.fps = fps
        self.min_sign_s = min_sign_s
        self.max_sign_s = max_sign_s
        self.hold_s = hold_s
        self.start_frames = max(1, start_frames)
        self.keep_frames = keep_frames
        self.capacity = capacity
        self.meter = MotionMeter(sensitivity=sensitivity, min_energy=min_energy)
        self._preroll: deque[tuple[int, float, float, np.ndarray | None]] = deque(
            maxlen=max(1, round(preroll_s * fps)) + self.start_frames)
        self._buffer: ClipBuffer | None = None
        self._candidates = 0
        self._quiet_s = 0.0
        self._last_active: tuple[int, float, float, np.ndarray | None] | None = None  # the last moving frame
        self._start_pos = 0.0
        self._prev_pos: float | None = None
        self._motion_id = 0
        self.discarded = 0  # motions shorter than min_sign_s

    # -- state for overlays
    @property
    def signing(self) -> bool:
        return self._buffer is not None

    @property
    def status(self) -> SegmenterStatus:
        collected = (self._prev_pos or 0.0) - self._start_pos if self._buffer is not None else 0.0
        return SegmenterStatus(self.signing, max(0.0, collected), self.meter.energy, self.meter.on_threshold)

    def reset(self) -> None:
        self._buffer = None
        self._candidates = 0
        self._preroll.clear()
        self.meter.reset_reference()
        self._prev_pos = None

    # -- feeding
    def feed(self, image: np.ndarray, pos_s: float, seq: int = -1, t: float | None = None,
             gap: bool = False) -> SignClip | None:
        """Take the next frame; return a finished clip when this frame completes one."""
        t = time.monotonic() if t is None else t
        energy = self.meter.measure(image, gap)
        dt = 1.0 / self.fps if self._prev_pos is None else max(0.0, pos_s - self._prev_pos)
        self._prev_pos = pos_s
        item = (seq, pos_s, t, image if self.keep_frames else None)
        if self._buffer is None:
            return self._feed_idle(item, energy)
        return self._feed_active(item, energy, dt)

    def _feed_idle(self, item, energy: float) -> None:
        self._preroll.append(item)
        if not self.meter.warmed_up:  # the first frames only teach the noise model
            self.meter.learn_idle(energy)
            return None
        if energy > self.meter.on_threshold:
            self._candidates += 1
            if self._candidates >= self.start_frames:
                self._begin(list(self._preroll), item)
        else:
            self._candidates = 0
            self.meter.learn_idle(energy)
        return None

    def _begin(self, items: list, current) -> None:
        self._motion_id += 1
        self._buffer = ClipBuffer(self.capacity)
        for it in items:
            self._buffer.add(*it)
        self._start_pos = items[0][1]
        self._last_active = current
        self._quiet_s = 0.0
        self._candidates = 0
        self._preroll.clear()

    def _feed_active(self, item, energy: float, dt: float) -> SignClip | None:
        assert self._buffer is not None
        self._buffer.add(*item)
        _seq, pos_s, _t, _ = item
        if energy >= self.meter.off_threshold:
            self._last_active = item
            self._quiet_s = 0.0
        else:
            self._quiet_s += dt
        if self._quiet_s >= self.hold_s:
            return self._finish(cut=False)
        if pos_s - self._start_pos >= self.max_sign_s:
            clip = self._finish(cut=True)
            # the motion goes on: a new clip of the same motion starts at this frame
            self._buffer = ClipBuffer(self.capacity)
            self._buffer.add(*item)
            self._start_pos = pos_s
            self._last_active = item
            self._quiet_s = 0.0
            return clip
        return None

    def _finish(self, *, cut: bool) -> SignClip | None:
        buffer, self._buffer = self._buffer, None
        assert buffer is not None and self._last_active is not None
        last = self._last_active
        last_seq, last_pos, last_t, _ = last
        # the buffer may have thinned out the last moving frame: the clip always ends on it
        items = [it for it in buffer.items if it[1] < last_pos] + [last]
        duration = last_pos - items[0][1]
        if duration < self.min_sign_s and not cut:
            self.discarded += 1
            return None
        frames = [it[3] for it in items if it[3] is not None]
        return SignClip(
            frames=frames, start_s=items[0][1], end_s=last_pos, start_seq=items[0][0], end_seq=last_seq,
            motion_id=self._motion_id, last_frame_t=last_t, emitted_t=time.monotonic(), cut=cut,
        )

    def flush(self) -> SignClip | None:
        """The stream ended: close a sign still open (if long enough)."""
        if self._buffer is None or self._last_active is None:
            return None
        return self._finish(cut=False)


class ContinuousSegmenter:
    """A rolling window over the last ``window_s`` seconds, handed over every ``stride`` frames.

    Windows without motion in them (the signer resting) are skipped. Consecutive windows overlap,
    so the transcript merges a word repeated by overlapping windows of the same motion.
    """

    def __init__(self, fps: float = 30.0, *, window_s: float = 1.5, stride: int = 4,
                 sensitivity: float = 4.0, min_energy: float = 1.5, capacity: int = CLIP_CAPACITY,
                 keep_frames: bool = True) -> None:
        self.fps = fps
        self.stride = max(1, stride)
        self.window = max(2, min(capacity, round(window_s * fps)))
        self.keep_frames = keep_frames
        self.meter = MotionMeter(sensitivity=sensitivity, min_energy=min_energy)
        self._items: deque[tuple[int, float, float, np.ndarray | None]] = deque(maxlen=self.window)
        self._energies: deque[float] = deque(maxlen=self.window)
        self._since = 0
        self._motion_id = 0
        self._moving = False
        self._last_moving_pos = -1e9

    @property
    def signing(self) -> bool:
        return self._moving

    @property
    def status(self) -> SegmenterStatus:
        span = self._items[-1][1] - self._items[0][1] if len(self._items) > 1 else 0.0
        return SegmenterStatus(self._moving, span if self._moving else 0.0, self.meter.energy,
                               self.meter.on_threshold)

    def reset(self) -> None:
        self._items.clear()
        self._energies.clear()
        self._since = 0
        self.meter.reset_reference()

    def feed(self, image: np.ndarray, pos_s: float, seq: int = -1, t: float | None = None,
             gap: bool = False) -> SignClip | None:
        t = time.monotonic() if t is None else t
        energy = self.meter.measure(image, gap)
        moving = self.meter.warmed_up and energy > self.meter.on_threshold
        if moving:
            if not self._moving and pos_s - self._last_moving_pos > 0.5:
                self._motion_id += 1  # motion after a rest: a new motion
            self._last_moving_pos = pos_s
        else:
            self.meter.learn_idle(energy)
        self._moving = pos_s - self._last_moving_pos <= 0.5
        self._items.append((seq, pos_s, t, image if self.keep_frames else None))
        self._energies.append(energy)
        self._since += 1
        if self._since < self.stride or len(self._items) < self.window:
            return None
        self._since = 0
        if max(self._energies) <= self.meter.on_threshold:
            return None  # nothing moved in this window
        first, last = self._items[0], self._items[-1]
        return SignClip(
            frames=[it[3] for it in self._items if it[3] is not None], start_s=first[1], end_s=last[1],
            start_seq=first[0], end_seq=last[0], motion_id=self._motion_id, last_frame_t=last[2],
            emitted_t=time.monotonic(),
        )

    def flush(self) -> SignClip | None:
        return None


Segmenter = MotionSegmenter | ContinuousSegmenter


@dataclass
class SegmenterConfig:
    """The settings a segmenter is built from (``live.*`` keys), so the UI can rebuild one on change."""

    mode: str = "motion"  # motion | continuous
    min_sign_s: float = 0.4
    max_sign_s: float = 3.0
    stride: int = 4
    window_s: float = 1.5
    hold_s: float = 0.25
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> SegmenterConfig:
        return cls(
            mode=settings["live.segmentation"],
            min_sign_s=float(settings["live.min_sign_s"]),
            max_sign_s=float(settings["live.max_sign_s"]),
            stride=int(settings["live.stride"]),
            window_s=float(settings["live.window_s"]),
            hold_s=float(settings["live.hold_s"]),
        )

    def build(self, fps: float, *, keep_frames: bool = True) -> Segmenter:
        if self.mode == "continuous":
            return ContinuousSegmenter(fps, window_s=self.window_s, stride=self.stride, keep_frames=keep_frames,
                                       **self.extra)
        return MotionSegmenter(fps, min_sign_s=self.min_sign_s, max_sign_s=max(self.max_sign_s, self.min_sign_s + 0.1),
                               hold_s=self.hold_s, keep_frames=keep_frames, **self.extra)


class SegmentThread(threading.Thread):
    """Runs a segmenter over the frames of a ring, in order, as they arrive.

    ``on_clip`` gets each finished clip and ``on_status`` each change of the signing state (and the
    collected time in steps of 0.1 s); both are called from this thread and must return at once.
    """

    def __init__(self, ring: FrameRing, segmenter: Segmenter, on_clip: Callable[[SignClip], None],
                 on_status: Callable[[SegmenterStatus], None] | None = None,
                 name: str = "signdesk-segmenter") -> None:
        super().__init__(name=name, daemon=True)
        self.ring = ring
        self._segmenter = segmenter
        self._next: Segmenter | None = None
        self._lock = threading.Lock()
        self._on_clip = on_clip
        self._on_status = on_status or (lambda status: None)
        self._stop_event = threading.Event()
        self.missed = 0  # frames the ring dropped before this thread read them
        self.clips = 0

    def set_segmenter(self, segmenter: Segmenter) -> None:
        """Switch strategy or parameters; takes effect at the next frame."""
        with self._lock:
            self._next = segmenter

    def stop(self) -> None:
        self._stop_event.set()
        self.ring.close()  # wakes the wait

    def run(self) -> None:
        seq = self.ring.next_seq
        last_status: tuple[bool, int] | None = None
        while not self._stop_event.is_set():
            if not self.ring.wait_for(seq, timeout=0.5):
                if self.ring.closed:
                    break
                continue
            frames, missed = self.ring.read_since(seq)
            self.missed += missed
            with self._lock:
                if self._next is not None:
                    self._segmenter, self._next = self._next, None
            segmenter = self._segmenter
            for i, frame in enumerate(frames):
                if self._stop_event.is_set():
                    return
                try:
                    clip = segmenter.feed(frame.image, frame.pos_s, frame.seq, frame.t, gap=bool(missed) and i == 0)
                except Exception:
                    log.exception("segmenter failed on frame %d", frame.seq)
                    segmenter.reset()
                    continue
                if clip is not None:
                    self.clips += 1
                    self._safe(self._on_clip, clip)
                status = segmenter.status
                key = (status.signing, int(status.collected_s * 10))
                if key != last_status:
                    last_status = key
                    self._safe(self._on_status, status)
            if frames:
                seq = frames[-1].seq + 1

    @staticmethod
    def _safe(callback, value) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("segment listener failed")
