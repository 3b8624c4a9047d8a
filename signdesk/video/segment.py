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
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from signdesk.errors import SignDeskError
from signdesk.video.camera import FrameRing

log = logging.getLogger(__name__)

#: Width of the grey copies motion is measured on: enough for a hand to cover a few dozen pixels.
ANALYSIS_WIDTH = 160
#: A pixel has changed when it differs by more than this many grey levels ...
PIXEL_THRESHOLD = 8.0
#: ... and by more than this many times the frame's median difference (the camera's noise).
NOISE_FACTOR = 6.0
#: % of changed pixels above which a frame moves (at sensitivity 5), and below which a sign rests.
ON_THRESHOLD = 0.6
OFF_THRESHOLD = 0.1
#: The rest floor: this quantile of the measures over the last FLOOR_WINDOW_S seconds.
FLOOR_QUANTILE = 0.1
FLOOR_WINDOW_S = 20.0
#: Frames of a clip kept at most: the longest sign (4 s) and its pre-roll at 30 fps, so live clips are
#: sampled from exactly the frames a file's clip is. Longer (or faster) signs are thinned out uniformly
#: (every other frame dropped); at the model's 448x448 this bounds a clip to about 77 MB.
CLIP_CAPACITY = 128


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
    seqs: list[int] = field(default_factory=list)  # the stream frame number of each frame in ``frames``

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def sample(self, num_frames: int) -> np.ndarray:
        """``num_frames`` frames sampled as ``read_clip`` samples the same frame range of a file.

        The indices are chosen over the stream's frame numbers ``start_seq..end_seq``; where the clip
        buffer thinned a long sign out, the nearest frame it kept stands in.
        """
        from signdesk.video.decode import resize_frames, sample_frames, sample_indices

        if not self.frames:
            raise SignDeskError("the clip has no frames")
        if len(self.seqs) != len(self.frames) or self.end_seq < self.start_seq:
            return sample_frames(self.frames, num_frames)
        kept = np.asarray(self.seqs)
        picks = []
        for index in sample_indices(self.end_seq - self.start_seq + 1, num_frames):
            picks.append(int(np.abs(kept - (self.start_seq + index)).argmin()))
        frames = [self.frames[i] for i in picks]
        newest = frames[-1].shape[:2]
        if any(f.shape[:2] != newest for f in frames):  # the model's size became known during this sign
            frames = [resize_frames(f[None], (newest[1], newest[0]))[0] for f in frames]
        return np.stack(frames)


@dataclass(frozen=True)
class SegmenterStatus:
    """What the live view overlays: are we in a sign, how long has the clip been collecting."""

    signing: bool
    collected_s: float
    energy: float  # % of the picture that moved at the last frame
    threshold: float  # ... above which a frame counts as moving
    calibrating: bool = False


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
    """How much of the picture moved between two frames, robust to what cameras do when nothing moves.

    The measure is the *share of changed pixels* (in %) on a small grey copy, not a mean difference:
    hands are a small part of a webcam frame, and a whole-frame mean drowns them (0.5–2 grey levels
    for real signing). A pixel counts as changed when its difference stands well above the camera's
    noise, which is estimated on every frame from the median difference (most of the picture is still
    even while someone signs). Before comparing, the previous frame is brought to the current one's
    brightness, so auto-exposure steps and flicker do not count as motion.

    The thresholds start from fixed values that hold on real webcams, so there is no warm-up to get
    wrong when the stream starts mid-sign. A *rest floor* (the motion the scene shows at rest: a fan, a
    flickering screen, a restless signer) raises them: it is a low quantile of the recent measures,
    which a long sign cannot drag up, and ``calibrate`` sets it from a second of holding still.
    """

    def __init__(self, *, sensitivity: float = 5.0, width: int = ANALYSIS_WIDTH, fps: float = 30.0) -> None:
        self.width = width
        self.sensitivity = sensitivity
        self._prev: np.ndarray | None = None
        self.energy = 0.0  # % of pixels changed at the last frame
        self._history: deque[float] = deque(maxlen=max(8, round(FLOOR_WINDOW_S * fps)))
        self.calibrated_floor: float | None = None
        self._calibrating: list[float] | None = None

    @property
    def sensitivity(self) -> float:
        return self._sensitivity

    @sensitivity.setter
    def sensitivity(self, value: float) -> None:
        self._sensitivity = min(10.0, max(1.0, float(value)))

    def analysis_image(self, image: np.ndarray) -> np.ndarray:
        """The small, smoothed grey copy motion is measured on (float32)."""
        import cv2

        height, width = image.shape[:2]
        if width != self.width:
            size = (self.width, max(1, round(height * self.width / width)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        return cv2.GaussianBlur(grey.astype(np.float32), (3, 3), 0)

    def measure(self, image: np.ndarray, gap: bool = False) -> float:
        """% of pixels that changed since the previous frame; 0 for the first frame or after a gap."""
        grey = self.analysis_image(image)
        prev, self._prev = self._prev, grey
        if prev is None or gap or prev.shape != grey.shape:
            self.energy = 0.0
            return self.energy
        mean_prev = float(prev.mean())
        if mean_prev > 1.0:  # exposure: scale the previous frame to this one's brightness
            prev = prev * (float(grey.mean()) / mean_prev)
        diff = np.abs(grey - prev)
        noise = float(np.median(diff))
        changed = diff > max(PIXEL_THRESHOLD, NOISE_FACTOR * noise)
        self.energy = 100.0 * float(np.count_nonzero(changed)) / changed.size
        if self._calibrating is not None:
            self._calibrating.append(self.energy)
        else:
            self._history.append(self.energy)
        return self.energy

    @property
    def floor(self) -> float:
        """Motion of the scene at rest (%): calibrated, or a low quantile of the recent measures."""
        if self.calibrated_floor is not None:
            return self.calibrated_floor
        if len(self._history) < self._history.maxlen // 4:
            return 0.0
        return float(np.quantile(np.asarray(self._history), FLOOR_QUANTILE))

    @property
    def on_threshold(self) -> float:
        """Above this a frame is moving (and a sign may start)."""
        return ON_THRESHOLD * 5.0 / self.sensitivity + 1.5 * self.floor

    @property
    def off_threshold(self) -> float:
        """Lower than ``on_threshold`` (hysteresis): a sign's slow moments do not end it."""
        return OFF_THRESHOLD * 5.0 / self.sensitivity + 1.2 * self.floor

    # -- calibration: "hold still for a second"
    def start_calibration(self) -> None:
        self._calibrating = []

    @property
    def calibrating(self) -> bool:
        return self._calibrating is not None

    def finish_calibration(self) -> float:
        """Take the measures since ``start_calibration`` as rest; returns the new floor (%)."""
        values, self._calibrating = self._calibrating or [], None
        if values:
            self.calibrated_floor = float(np.quantile(np.asarray(values), 0.9))
        return self.floor

    def reset_reference(self) -> None:
        self._prev = None


class MotionSegmenter:
    """One clip per sign, from motion (see the module docstring).

    A sign starts when ``start_frames`` frames within ``start_window_s`` move: one frame alone (a
    keyframe's noise jump, a cut) never starts one, while a 15 fps camera delivered at 30 fps (every
    other frame a repeat, so every other measure near zero) still does. The clip reaches back
    ``preroll_s`` before the first moving frame, so the hands' first movement is in it. It ends after
    ``hold_s`` without motion (shorter pauses inside a sign keep it whole), on its last moving frame.
    """

    def __init__(
        self,
        fps: float = 30.0,
        *,
        min_sign_s: float = 0.3,
        max_sign_s: float = 4.0,
        hold_s: float = 0.6,
        preroll_s: float = 0.2,
        start_window_s: float = 0.2,
        start_frames: int = 2,
        sensitivity: float = 5.0,
        keep_frames: bool = True,
        capacity: int = CLIP_CAPACITY,
    ) -> None:
        if max_sign_s <= min_sign_s:
            raise ValueError(f"max_sign_s ({max_sign_s}) must be longer than min_sign_s ({min_sign_s})")
        self.fps = fps
        self.min_sign_s = min_sign_s
        self.max_sign_s = max_sign_s
        self.hold_s = hold_s
        self.preroll_s = preroll_s
        self.start_window_s = start_window_s
        self.start_frames = max(1, start_frames)
        self.keep_frames = keep_frames
        self.capacity = capacity
        self.meter = MotionMeter(sensitivity=sensitivity, fps=fps)
        window = max(2, math.ceil((preroll_s + start_window_s) * fps) + 2)
        self._preroll: deque[tuple[int, float, float, np.ndarray | None]] = deque(maxlen=window)
        self._recent_moves: deque[float] = deque(maxlen=window)  # positions of recent moving frames
        self._recent_energy: deque[float] = deque([0.0, 0.0, 0.0], maxlen=3)
        self._buffer: ClipBuffer | None = None
        self._quiet_s = 0.0
        self._last_active: tuple[int, float, float, np.ndarray | None] | None = None  # the last moving frame
        self._start_pos = 0.0
        self._first_move_pos = 0.0
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
        return SegmenterStatus(self.signing, max(0.0, collected), self.meter.energy, self.meter.on_threshold,
                               self.meter.calibrating)

    def reset(self) -> None:
        self._buffer = None
        self._preroll.clear()
        self._recent_moves.clear()
        self.meter.reset_reference()
        self._prev_pos = None

    # -- feeding
    def feed(self, image: np.ndarray, pos_s: float, seq: int = -1, t: float | None = None,
             gap: bool = False, keep: np.ndarray | None = None) -> SignClip | None:
        """Take the next frame; return a finished clip when this frame completes one.

        ``image`` is what motion is measured on; ``keep`` (default: ``image``) is what the clip holds.
        """
        t = time.monotonic() if t is None else t
        energy = self.meter.measure(image, gap)
        dt = 1.0 / self.fps if self._prev_pos is None else max(0.0, pos_s - self._prev_pos)
        self._prev_pos = pos_s
        item = (seq, pos_s, t, (image if keep is None else keep) if self.keep_frames else None)
        if self.meter.calibrating:  # holding still on request: nothing is a sign
            self._preroll.append(item)
            return None
        if self._buffer is None:
            self._feed_idle(item, energy)
            return None
        return self._feed_active(item, energy, dt)

    def _feed_idle(self, item, energy: float) -> None:
        self._preroll.append(item)
        pos_s = item[1]
        if energy > self.meter.on_threshold:
            self._recent_moves.append(pos_s)
        while self._recent_moves and pos_s - self._recent_moves[0] > self.start_window_s:
            self._recent_moves.popleft()
        if len(self._recent_moves) >= self.start_frames:
            self._first_move_pos = self._recent_moves[0]
            self._begin([it for it in self._preroll if it[1] >= self._first_move_pos - self.preroll_s - 1e-6], item)

    def _begin(self, items: list, current) -> None:
        self._motion_id += 1
        self._buffer = ClipBuffer(self.capacity)
        for it in items:
            self._buffer.add(*it)
        self._start_pos = items[0][1]
        self._last_active = current
        self._quiet_s = 0.0
        self._preroll.clear()
        self._recent_moves.clear()

    def _feed_active(self, item, energy: float, dt: float) -> SignClip | None:
        assert self._buffer is not None
        self._buffer.add(*item)
        _seq, pos_s, _t, _ = item
        # a frame keeps the sign going when it and one of the two before it move: a lone spike in a rest
        # (a keyframe's noise, a cut) does not, a 15 fps camera's repeated frames in between do not stop it
        self._recent_energy.append(energy)
        if energy >= self.meter.off_threshold and sorted(self._recent_energy)[-2] >= self.meter.off_threshold:
            self._last_active = item
            self._quiet_s = 0.0
        else:
            self._quiet_s += dt
        if self._quiet_s >= self.hold_s:
            return self._finish(cut=False)
        if pos_s - self._start_pos >= self.max_sign_s:
            if self._quiet_s > 0:  # the sign is ending anyway: end it on its last moving frame
                return self._finish(cut=False)
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
        if last_pos - max(self._first_move_pos, items[0][1]) < self.min_sign_s and not cut:  # the motion itself
            self.discarded += 1
            return None
        frames = [it[3] for it in items if it[3] is not None]
        return SignClip(
            frames=frames, start_s=items[0][1], end_s=last_pos, start_seq=items[0][0], end_seq=last_seq,
            motion_id=self._motion_id, last_frame_t=last_t, emitted_t=time.monotonic(), cut=cut,
            seqs=[it[0] for it in items if it[3] is not None],
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
                 sensitivity: float = 5.0, capacity: int = CLIP_CAPACITY, keep_frames: bool = True) -> None:
        self.fps = fps
        self.stride = max(1, stride)
        self.window = max(2, min(capacity, round(window_s * fps)))
        self.keep_frames = keep_frames
        self.meter = MotionMeter(sensitivity=sensitivity, fps=fps)
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
                               self.meter.on_threshold, self.meter.calibrating)

    def reset(self) -> None:
        self._items.clear()
        self._energies.clear()
        self._since = 0
        self.meter.reset_reference()

    def feed(self, image: np.ndarray, pos_s: float, seq: int = -1, t: float | None = None,
             gap: bool = False, keep: np.ndarray | None = None) -> SignClip | None:
        t = time.monotonic() if t is None else t
        energy = self.meter.measure(image, gap)
        moving = energy > self.meter.on_threshold and not self.meter.calibrating
        if moving:
            if not self._moving and pos_s - self._last_moving_pos > 0.5:
                self._motion_id += 1  # motion after a rest: a new motion
            self._last_moving_pos = pos_s
        self._moving = pos_s - self._last_moving_pos <= 0.5
        self._items.append((seq, pos_s, t, (image if keep is None else keep) if self.keep_frames else None))
        self._energies.append(energy)
        self._since += 1
        if self._since < self.stride or len(self._items) < self.window:
            return None
        self._since = 0
        if max(self._energies) <= self.meter.on_threshold or self.meter.calibrating:
            return None  # nothing moved in this window
        first, last = self._items[0], self._items[-1]
        kept = [it for it in self._items if it[3] is not None]
        return SignClip(
            frames=[it[3] for it in kept], start_s=first[1], end_s=last[1],
            start_seq=first[0], end_seq=last[0], motion_id=self._motion_id, last_frame_t=last[2],
            emitted_t=time.monotonic(), seqs=[it[0] for it in kept],
        )

    def flush(self) -> SignClip | None:
        return None


Segmenter = MotionSegmenter | ContinuousSegmenter


@dataclass
class SegmenterConfig:
    """The settings a segmenter is built from (``live.*`` keys), so the UI can rebuild one on change."""

    mode: str = "motion"  # motion | continuous
    min_sign_s: float = 0.3
    max_sign_s: float = 4.0
    stride: int = 4
    window_s: float = 1.5
    hold_s: float = 0.6
    sensitivity: float = 5.0
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
            sensitivity=float(settings["live.sensitivity"]),
        )

    def build(self, fps: float, *, keep_frames: bool = True) -> Segmenter:
        if self.mode == "continuous":
            return ContinuousSegmenter(fps, window_s=self.window_s, stride=self.stride, keep_frames=keep_frames,
                                       sensitivity=self.sensitivity, **self.extra)
        return MotionSegmenter(fps, min_sign_s=self.min_sign_s, max_sign_s=max(self.max_sign_s, self.min_sign_s + 0.1),
                               hold_s=self.hold_s, sensitivity=self.sensitivity, keep_frames=keep_frames,
                               **self.extra)


class SegmentThread(threading.Thread):
    """Runs a segmenter over the frames of a ring, in order, as they arrive.

    ``on_clip`` gets each finished clip; ``on_status`` gets the segmenter's status when the signing
    state changes and otherwise about ten times a second (the motion meter); ``on_calibrated`` the
    rest floor found by :meth:`calibrate`. All are called from this thread and must return at once.
    Frames that carry a ``clip_image`` (the model's size) hand that to the clip; motion is always
    measured on the small display copy.
    """

    STATUS_PERIOD_S = 0.1

    def __init__(self, ring: FrameRing, segmenter: Segmenter, on_clip: Callable[[SignClip], None],
                 on_status: Callable[[SegmenterStatus], None] | None = None,
                 on_calibrated: Callable[[float], None] | None = None,
                 name: str = "signdesk-segmenter") -> None:
        super().__init__(name=name, daemon=True)
        self.ring = ring
        self._segmenter = segmenter
        self._next: Segmenter | None = None
        self._calibrate_s: float | None = None
        self._lock = threading.Lock()
        self._on_clip = on_clip
        self._on_status = on_status or (lambda status: None)
        self._on_calibrated = on_calibrated or (lambda floor: None)
        self._stop_event = threading.Event()
        self.missed = 0  # frames the ring dropped before this thread read them
        self.clips = 0

    @property
    def segmenter(self) -> Segmenter:
        return self._segmenter

    def set_segmenter(self, segmenter: Segmenter) -> None:
        """Switch strategy or parameters; takes effect at the next frame (a calibration carries over)."""
        with self._lock:
            self._next = segmenter

    def calibrate(self, seconds: float = 1.0) -> None:
        """Take the next ``seconds`` of video as the signer at rest ("hold still for a second")."""
        with self._lock:
            self._calibrate_s = max(0.2, seconds)

    def stop(self) -> None:
        self._stop_event.set()
        self.ring.close()  # wakes the wait

    def _take_requests(self, pos_s: float, calibration_end: float | None) -> float | None:
        with self._lock:
            if self._next is not None:
                old, self._segmenter, self._next = self._segmenter, self._next, None
                self._segmenter.meter.calibrated_floor = old.meter.calibrated_floor
                if old.meter.calibrating:
                    self._segmenter.meter.start_calibration()
            if self._calibrate_s is not None:
                self._segmenter.reset()  # a sign in progress is dropped: the user asked to hold still
                self._segmenter.meter.start_calibration()
                calibration_end, self._calibrate_s = pos_s + self._calibrate_s, None
        return calibration_end

    def run(self) -> None:
        seq = self.ring.next_seq
        last_key: tuple[bool, int] | None = None
        last_report = -1.0
        calibration_end: float | None = None
        while not self._stop_event.is_set():
            if not self.ring.wait_for(seq, timeout=0.5):
                if self.ring.closed:
                    break
                continue
            frames, missed = self.ring.read_since(seq)
            self.missed += missed
            for i, frame in enumerate(frames):
                if self._stop_event.is_set():
                    return
                calibration_end = self._take_requests(frame.pos_s, calibration_end)
                segmenter = self._segmenter
                try:
                    clip = segmenter.feed(frame.image, frame.pos_s, frame.seq, frame.t,
                                          gap=bool(missed) and i == 0, keep=frame.clip_image)
                except Exception:
                    log.exception("segmenter failed on frame %d", frame.seq)
                    segmenter.reset()
                    continue
                if clip is not None:
                    self.clips += 1
                    self._safe(self._on_clip, clip)
                if calibration_end is not None and frame.pos_s >= calibration_end:
                    calibration_end = None
                    self._safe(self._on_calibrated, segmenter.meter.finish_calibration())
                status = segmenter.status
                key = (status.signing, int(status.collected_s * 10))
                if key != last_key or frame.pos_s - last_report >= self.STATUS_PERIOD_S:
                    last_key, last_report = key, frame.pos_s
                    self._safe(self._on_status, status)
            if frames:
                seq = frames[-1].seq + 1

    @staticmethod
    def _safe(callback, value) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("segment listener failed")
