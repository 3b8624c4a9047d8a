"""Sample N frames uniformly over a frame range of a video file or of camera frames.

One sampler and one resize serve files and cameras alike, so training, evaluation and live use see
the same frames. Files are decoded with decord (random access, only the sampled frames); where decord
is not installed (macOS on Apple silicon has no wheel) OpenCV does the same sampling. Frames come
upright: both decoders apply the rotation metadata.
Frame ranges follow WLASL: 1-based, inclusive, ``-1`` means "to the end".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signdesk.errors import VideoError

# FFmpeg's own log lines ("moov atom not found") would bury our one-line errors; keep it quiet.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# Seeking costs a keyframe decode; below this gap, grabbing frames one by one is cheaper (OpenCV path).
_SEEK_GAP = 48


@dataclass(frozen=True)
class VideoInfo:
    path: str
    frame_count: int
    fps: float
    width: int  # as displayed, after rotation metadata is applied
    height: int
    rotation: int  # degrees clockwise from the rotation metadata: 0, 90, 180 or 270


@dataclass
class Clip:
    """Sampled frames (N, H, W, 3) uint8 RGB, and where in the source they came from."""

    frames: np.ndarray
    indices: list[int]  # 0-based source frame numbers
    fps: float
    source: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


def sample_indices(frame_count: int, num_frames: int, frame_start: int = 1, frame_end: int = -1) -> list[int]:
    """0-based indices of ``num_frames`` frames spread uniformly over a 1-based inclusive range.

    Each index is the middle of one of ``num_frames`` equal segments, so the first and last frames
    of a sign are not over-weighted; a range shorter than ``num_frames`` repeats frames.
    """
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    if frame_count < 1:
        raise ValueError("the video has no frames")
    start = max(frame_start, 1) - 1
    end = frame_count - 1 if frame_end is None or frame_end < 0 else min(frame_end, frame_count) - 1
    if start > frame_count - 1:
        raise ValueError(f"frame_start {frame_start} is after the last frame ({frame_count})")
    if end < start:
        raise ValueError(f"frame_end {frame_end} is before frame_start {frame_start}")
    length = end - start + 1
    return [start + int((i + 0.5) * length / num_frames) for i in range(num_frames)]


def resize_frames(frames: np.ndarray | Sequence[np.ndarray], size: tuple[int, int] | None) -> np.ndarray:
    """Resize RGB frames to ``size`` = (width, height) with area averaging (right for downscaling).

    Files and camera frames both go through here. decord could scale while decoding (about 20 % faster
    on 1080p) but its filter differs by up to 30 grey levels at edges, and live frames must look like
    the frames a model was trained on.
    """
    import cv2

    stacked = np.asarray(frames) if not isinstance(frames, np.ndarray) else frames
    if size is None or (stacked.shape[2], stacked.shape[1]) == tuple(size):
        return np.ascontiguousarray(stacked)
    width, height = size
    shrinking = width <= stacked.shape[2] and height <= stacked.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.stack([cv2.resize(frame, (width, height), interpolation=interp) for frame in stacked])


def sample_frames(
    frames: np.ndarray | Sequence[np.ndarray],
    num_frames: int,
    size: tuple[int, int] | None = None,
    frame_start: int = 1,
    frame_end: int = -1,
) -> np.ndarray:
    """The camera path: the same sampling and resize as ``read_clip``, over frames already in memory."""
    if len(frames) == 0:
        raise VideoError("no frames to sample: the clip is empty")
    indices = sample_indices(len(frames), num_frames, frame_start, frame_end)
    return resize_frames([frames[i] for i in indices], size)


def _open_container(path: str) -> tuple[int, int, int]:
    """Open the file once with OpenCV: (rotation degrees clockwise, width, height) as stored.

    It also screens out files FFmpeg cannot open at all, before decord (which logs noisily) sees them.
    """
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: not a readable video (damaged, truncated or not a video file)")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        rotation = round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    return (rotation if rotation in (90, 180, 270) else 0), width, height


def _check_file(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: no such video file")
    if p.is_dir():
        raise VideoError(f"{p}: is a folder, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: the file is empty (0 bytes); download or record it again")
    return str(p)


def _have_decord() -> bool:
    if os.environ.get("SIGNDESK_VIDEO_BACKEND", "").lower() == "opencv":
        return False
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def _open_decord(path: str):
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    except Exception:  # decord raises DECORDError, RuntimeError or ValueError depending on the damage
        raise VideoError(f"{path}: not a readable video (damaged, truncated or not a video file)") from None
    return reader


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame count, frame rate, displayed size and rotation, without decoding frames."""
    spath = _check_file(path)
    rotation, width, height = _open_container(spath)
    count, fps = _frame_count_decord(spath) if _have_decord() else _opencv_frame_count(spath)
    if count < 1 or width < 1 or height < 1:
        raise VideoError(f"{spath}: the video has no frames")
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(spath, count, fps, width, height, rotation)


def is_still_image(path: str | os.PathLike[str]) -> bool:
    """True for a one-frame image file, judged by its content (OpenCV's image codecs), not its name."""
    import cv2

    spath = str(path)
    if not os.path.isfile(spath) or not cv2.haveImageReader(spath):
        return False
    return cv2.imcount(spath) == 1  # an animated GIF or multi-page TIFF moves: it goes the video way


def probe_image(path: str | os.PathLike[str]) -> VideoInfo:
    """A still image described as a one-frame video (no frame rate), or VideoError if it cannot be decoded."""
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise VideoError(f"{path}: the image cannot be decoded (damaged or truncated)")
    height, width = image.shape[:2]
    return VideoInfo(str(path), 1, 0.0, width, height, 0)


def _read_decord(path: str, num_frames: int, frame_start: int, frame_end: int) -> tuple[np.ndarray, list[int], float]:
    reader = _open_decord(path)  # one reader gives the count and the frames
    count = len(reader)
    if count < 1:
        raise VideoError(f"{path}: the video has no frames")
    indices = _indices_or_error(path, count, num_frames, frame_start, frame_end)
    try:
        frames = reader.get_batch(indices).asnumpy()
    except Exception:
        where = f"frames {indices[0]}–{indices[-1]}"
        raise VideoError(f"{path}: truncated or damaged video (cannot decode {where})") from None
    return frames, indices, float(reader.get_avg_fps() or 0.0)


def _indices_or_error(path: str, count: int, num_frames: int, frame_start: int, frame_end: int) -> list[int]:
    try:
        return sample_indices(count, num_frames, frame_start, frame_end)
    except ValueError as exc:
        raise VideoError(f"{path}: {exc}") from None


def _frame_count_decord(path: str) -> tuple[int, float]:
    reader = _open_decord(path)
    return len(reader), float(reader.get_avg_fps() or 0.0)


def _read_opencv(path: str, indices: list[int]) -> tuple[np.ndarray, float, int]:
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise VideoError(f"{path}: not a readable video (damaged, truncated or not a video file)")
    try:
        # OpenCV turns frames upright by the rotation metadata, as decord does: both return what players show
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        wanted = sorted(set(indices))
        got: dict[int, np.ndarray] = {}
        position = 0
        for index in wanted:
            if index - position > _SEEK_GAP:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                position = index
            while position < index:
                if not cap.grab():
                    break
                position += 1
            ok, frame = cap.read()
            if not ok:
                raise VideoError(f"{path}: truncated or damaged video (cannot decode frame {index})")
            position += 1
            got[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return np.stack([got[i] for i in indices]), fps, count


def _opencv_frame_count(path: str) -> tuple[int, float]:
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise VideoError(f"{path}: not a readable video (damaged, truncated or not a video file)")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if count <= 0:  # some containers do not store a count: count by grabbing
        count = 0
        while cap.grab():
            count += 1
    cap.release()
    return count, fps


def read_clip(
    path: str | os.PathLike[str],
    num_frames: int,
    frame_start: int = 1,
    frame_end: int = -1,
    size: tuple[int, int] | None = None,
) -> Clip:
    """Decode only the ``num_frames`` sampled frames of a frame range, upright (rotation metadata applied), resized."""
    import time

    t0 = time.perf_counter()
    spath = _check_file(path)
    _open_container(spath)  # screens out unreadable files quietly
    frames = None
    if _have_decord():
        try:
            frames, indices, fps = _read_decord(spath, num_frames, frame_start, frame_end)
        except VideoError:
            frames = None  # decord gives up on some files OpenCV reads (e.g. very small MPEG-4 frames)
        if frames is not None and (frames.ndim != 4 or frames.shape[-1] != 3):
            frames = None  # ... or hands back malformed frames (4 channels at 48 px wide)
    if frames is None:
        count, fps = _opencv_frame_count(spath)
        if count < 1:
            raise VideoError(f"{spath}: the video has no frames")
        indices = _indices_or_error(spath, count, num_frames, frame_start, frame_end)
        frames = _read_opencv(spath, indices)[0]
    t1 = time.perf_counter()
    frames = resize_frames(frames, size)
    t2 = time.perf_counter()
    timings = {"decode": (t1 - t0) * 1000, "resize": (t2 - t1) * 1000}
    return Clip(frames=frames, indices=indices, fps=fps, source=spath, timings_ms=timings)
