"""Test streams of a signer at a webcam, built from real sign clips, and how well a segmenter finds the signs.

A *stream* strings clips of single signs together with rests between them, the way a person signs at
a camera: each clip's first frame is held before it and its last frame after it (the signer at rest),
then the camera is imitated: a size and frame rate of its own, sensor noise, auto-exposure flicker,
a 15 fps sensor delivered at 30 fps (every other frame repeated), starting in the middle of a sign,
and compression (the stream is written as an MPEG-4 file, keyframes and all). Each stream knows the
truth: where every clip lies in it.

:func:`score_spans` matches found spans to the truth one to one and reports recall, precision and the
start/end errors. ``signdesk bench segment`` and the tests use both on the real samples in
``shared/data/samples`` (never shipped: their licences forbid it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from signdesk.errors import SignDeskError


@dataclass(frozen=True)
class Camera:
    """How the imitated camera delivers the stream."""

    width: int = 640
    height: int = 480
    fps: float = 30.0
    noise: float = 3.0  # sensor noise, grey levels (standard deviation, per pixel)
    flicker: float = 0.0  # auto-exposure: relative brightness steps up to this size (0.04 = ±4 %)
    duplicate: bool = False  # a 15 fps sensor delivered at ``fps``: every other frame repeats
    start_in_sign: float = 0.0  # the stream starts this far (0–1) into the first clip, the signer already moving
    rest_s: float = 1.0  # rest between signs (each rest varies ±20 % with the seed)
    seed: int = 0


@dataclass(frozen=True)
class TruthSign:
    label: str
    start_s: float
    end_s: float


@dataclass
class Stream:
    path: str
    fps: float
    frame_count: int
    signs: list[TruthSign]
    camera: Camera
    clips: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": self.path, "fps": self.fps, "frames": self.frame_count, "clips": self.clips,
                "camera": asdict(self.camera), "signs": [asdict(s) for s in self.signs]}


def _read_all(path: str | os.PathLike[str]) -> tuple[list[np.ndarray], float]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 25.0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    if not frames:
        raise SignDeskError(f"{path}: not a readable video")
    return frames, fps


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale a clip frame into the camera's frame, keeping its aspect; the rest is a dark background."""
    import cv2

    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(frame, size, interpolation=interp)
    canvas = np.full((height, width, 3), 24, np.uint8)
    x, y = (width - size[0]) // 2, (height - size[1]) // 2
    canvas[y:y + size[1], x:x + size[0]] = small
    return canvas


def build_stream(clips: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
                 camera: Camera = Camera()) -> Stream:
    """Write a stream of ``clips`` (rests between them) as imitated by ``camera`` to ``out`` (.mp4)."""
    import cv2

    if not clips:
        raise ValueError("a stream needs at least one clip")
    rng = np.random.default_rng(camera.seed)
    sensor_fps = camera.fps / 2 if camera.duplicate else camera.fps
    period = 1.0 / sensor_fps
    # 1. the sensor's timeline: (source frame, is the signer signing) at the sensor's rate
    timeline: list[np.ndarray] = []
    signs: list[TruthSign] = []
    for n, path in enumerate(clips):
        frames, fps = _read_all(path)
        duration = len(frames) / fps
        rest = camera.rest_s * float(rng.uniform(0.8, 1.2))
        skip = camera.start_in_sign * duration if n == 0 else 0.0
        if n > 0 or skip == 0:
            timeline += [frames[0]] * max(1, round(rest * sensor_fps))
        start = len(timeline) * period
        t = skip
        while t < duration:
            timeline.append(frames[min(len(frames) - 1, int(t * fps))])
            t += period
        signs.append(TruthSign(Path(path).stem, start, len(timeline) * period))
        if n == len(clips) - 1:
            timeline += [frames[-1]] * max(1, round(rest * sensor_fps))
    # 2. the camera: fit, exposure, noise; a duplicating camera repeats each sensor frame
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), camera.fps, (camera.width, camera.height))
    if not writer.isOpened():
        raise SignDeskError(f"{out}: cannot write an MPEG-4 video here")
    gain = 1.0
    written = 0
    # a bank of noise frames, drawn from at random: fresh noise every frame at a fraction of the cost
    shape = (camera.height, camera.width, 3)
    bank = [rng.standard_normal(shape, dtype=np.float32) * camera.noise for _ in range(12 if camera.noise else 0)]
    last = -1
    try:
        for frame in timeline:
            if camera.flicker and rng.random() < 0.08:  # auto-exposure steps now and then
                gain = 1.0 + float(rng.uniform(-camera.flicker, camera.flicker))
            image = _fit(frame, camera.width, camera.height).astype(np.float32) * gain
            if bank:
                last = (last + 1 + int(rng.integers(0, len(bank) - 1))) % len(bank)  # never the same twice
                image += bank[last]
            image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
            for _ in range(2 if camera.duplicate else 1):
                writer.write(image)
                written += 1
    finally:
        writer.release()
    return Stream(str(out), camera.fps, written, signs, camera, [Path(c).name for c in clips])


# --------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    signs: int
    found: int
    matched: int
    recall: float
    precision: float
    start_error_s: float  # median absolute error of matched spans
    end_error_s: float
    start_errors: tuple[float, ...] = ()
    end_errors: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        row = asdict(self)
        row.pop("start_errors")
        row.pop("end_errors")
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def score_spans(truth: Sequence[TruthSign], found: Sequence[tuple[float, float]]) -> Score:
    """Match found (start_s, end_s) spans to true signs one to one, by overlap.

    A true sign is found when a span overlaps it and is matched to it (each span matches at most one
    sign, each sign at most one span: the pair with the most overlap first). Unmatched spans count
    against precision: a false alarm in a rest, a second piece of a split sign, a span that swallowed
    two signs (it matches only one of them; the other is a miss).
    """
    pairs = []
    for i, sign in enumerate(truth):
        for j, span in enumerate(found):
            overlap = _overlap((sign.start_s, sign.end_s), span)
            if overlap > 0:
                pairs.append((overlap, i, j))
    pairs.sort(reverse=True)
    used_t: set[int] = set()
    used_f: set[int] = set()
    starts: list[float] = []
    ends: list[float] = []
    for _overlap_s, i, j in pairs:
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        starts.append(abs(found[j][0] - truth[i].start_s))
        ends.append(abs(found[j][1] - truth[i].end_s))
    matched = len(used_t)
    return Score(
        signs=len(truth), found=len(found), matched=matched,
        recall=matched / len(truth) if truth else 1.0,
        precision=matched / len(found) if found else (1.0 if not truth else 0.0),
        start_error_s=float(np.median(starts)) if starts else math.nan,
        end_error_s=float(np.median(ends)) if ends else math.nan,
        start_errors=tuple(starts), end_errors=tuple(ends),
    )


def pool_scores(scores: Sequence[Score]) -> Score:
    """One score over several streams (counts added, errors pooled)."""
    signs = sum(s.signs for s in scores)
    found = sum(s.found for s in scores)
    matched = sum(s.matched for s in scores)
    starts = tuple(e for s in scores for e in s.start_errors)
    ends = tuple(e for s in scores for e in s.end_errors)
    return Score(signs, found, matched, matched / signs if signs else 1.0, matched / found if found else 0.0,
                 float(np.median(starts)) if starts else math.nan, float(np.median(ends)) if ends else math.nan,
                 starts, ends)


# --------------------------------------------------------------------------------------- the sample set


def find_samples(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """The real sample clips: ``folder``, ``$SIGNDESK_SAMPLES``, or ``shared/data/samples`` beside the checkout."""
    candidates = [folder, os.environ.get("SIGNDESK_SAMPLES")]
    here = Path(__file__).resolve()
    candidates += [parent.parent / "shared" / "data" / "samples" for parent in here.parents[:4]]
    candidates.append(Path.cwd().parent / "shared" / "data" / "samples")
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.mp4")):
            return Path(candidate)
    return None


#: Camera set-ups the benchmark and the tests imitate (webcam and phone sizes, 15 and 30 fps).
CAMERAS: dict[str, Camera] = {
    "webcam-640x480-30fps": Camera(640, 480, 30.0, noise=3.0),
    "webcam-1280x720-30fps-flicker": Camera(1280, 720, 30.0, noise=4.0, flicker=0.05),
    "lowlight-640x480-15in30fps": Camera(640, 480, 30.0, noise=6.0, duplicate=True),
    "phone-360x640-30fps-midsign": Camera(360, 640, 30.0, noise=3.0, start_in_sign=0.4),
    "webcam-320x240-15fps": Camera(320, 240, 15.0, noise=2.0),
    "webcam-960x540-25fps-flicker": Camera(960, 540, 25.0, noise=5.0, flicker=0.06, start_in_sign=0.3),
}


def stream_plan(samples: Path, *, held_out: bool, cameras: Sequence[str] | None = None,
                max_signs: int = 5) -> list[tuple[str, list[Path], Camera]]:
    """Named streams over the samples: every camera set-up for every group of clips.

    Tuning streams use the even clips of each group, held-out streams the odd ones (and other seeds), so
    figures on the held-out half come from clips the segmenter was never tuned on. Groups (webcam,
    dictionary, WLASL) are kept apart: one stream is one kind of set-up, in a seeded order.
    """
    groups = {prefix: sorted(samples.glob(f"{prefix}_*.mp4")) for prefix in ("webcam", "dict", "wlasl")}
    plan: list[tuple[str, list[Path], Camera]] = []
    for g, (prefix, clips) in enumerate(groups.items()):
        chosen = clips[1::2] if held_out else clips[0::2]
        if len(chosen) < 2:
            continue
        for c, name in enumerate(cameras or CAMERAS):
            seed = 1000 * int(held_out) + 100 * g + c
            order = np.random.default_rng(seed).permutation(len(chosen))[:max_signs]
            camera = Camera(**{**asdict(CAMERAS[name]), "seed": seed})
            plan.append((f"{prefix}-{name}", [chosen[i] for i in order], camera))
    return plan
