"""Cut WLASL instances out of a long source video by frame range, in one streaming pass.

WLASL's asl5200 YouTube videos hold hundreds of signs each. Every instance cut from one video is
written in a single sequential decode (frame n goes to every range that contains it), holding one
frame in memory at a time and stopping at the last frame any range needs. Frame numbers are those
of a sequential decode, 1-based and inclusive, -1 = to the end: the convention of WLASL's own
preprocessing, so ranges land on the same frames. Outputs are MPEG-4 files written to a temporary
name and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signdesk.errors import VideoError


@dataclass(frozen=True)
class TrimRange:
    key: str  # the instance's video id
    frame_start: int  # 1-based inclusive
    frame_end: int  # 1-based inclusive, -1 = to the end
    dest: Path


@dataclass
class TrimResult:
    key: str
    dest: Path | None  # None when nothing was written
    frames: int = 0
    error: str = ""  # one line when the range could not be cut
    short: bool = False  # the source ended before frame_end


def _tmp_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.stem}.trimming{dest.suffix}")


def trim_ranges(source: str | os.PathLike[str], ranges: list[TrimRange], *,
                should_stop: Callable[[], bool] | None = None) -> dict[str, TrimResult]:
    """Write every range of ``source`` to its ``dest``; returns a result per range key.

    A range whose start lies past the end of the video gets an ``error``; one whose end does gets
    what exists (``short``). ``should_stop`` is polled every 64 frames; on a stop, unfinished
    outputs are deleted and ``InterruptedError`` is raised.
    """
    import cv2

    results = {r.key: TrimResult(r.key, None) for r in ranges}
    if not ranges:
        return results
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise VideoError(f"{source}: not a readable video")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 25.0
    pending = sorted(ranges, key=lambda r: r.frame_start)
    last_needed = -1 if any(r.frame_end == -1 for r in ranges) else max(r.frame_end for r in ranges)
    open_writers: dict[str, tuple[TrimRange, object, Path]] = {}
    number = 0
    try:
        while pending or open_writers:
            if last_needed != -1 and number >= last_needed:
                break
            if should_stop is not None and number % 64 == 0 and should_stop():
                raise InterruptedError("trimming stopped")
            # Frames before any range are only grabbed (decoded, not converted): cheaper than read().
            needed = bool(open_writers) or (pending and pending[0].frame_start <= number + 1)
            if not needed:
                if not cap.grab():
                    break
                number += 1
                continue
            ok, frame = cap.read()
            if not ok:
                break
            number += 1
            while pending and pending[0].frame_start <= number:
                r = pending.pop(0)
                tmp = _tmp_name(r.dest)
                tmp.parent.mkdir(parents=True, exist_ok=True)
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                if not writer.isOpened():
                    raise VideoError(f"{tmp}: OpenCV cannot write MPEG-4 video here")
                open_writers[r.key] = (r, writer, tmp)
            for key, (r, writer, tmp) in list(open_writers.items()):
                writer.write(frame)
                results[key].frames += 1
                if r.frame_end != -1 and number >= r.frame_end:
                    writer.release()
                    os.replace(tmp, r.dest)
                    results[key].dest = r.dest
                    del open_writers[key]
        for key, (r, writer, tmp) in open_writers.items():  # the video ended inside these ranges
            writer.release()
            os.replace(tmp, r.dest)
            results[key].dest = r.dest
            results[key].short = r.frame_end != -1
        open_writers.clear()
        for r in pending:  # never reached
            results[r.key].error = f"frame_start {r.frame_start} is after the video's last frame ({number})"
    finally:
        cap.release()
        for _, writer, tmp in open_writers.values():
            writer.release()
            tmp.unlink(missing_ok=True)
    return results
