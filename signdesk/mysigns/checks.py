"""Why a take is refused: too short, too long or motionless, said in one line.

A take is what the live segmenter cut out of the camera (or out of an imported file): one sign, from
its first movement to its last. The limits follow the live view's (``live.min_sign_s``/``max_sign_s``
defaults), so a take teaches the model what live use will show it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A take shorter than this is a twitch, not a sign.
MIN_TAKE_S = 0.3
#: A take longer than this holds more than one sign (the live segmenter cuts motions there too).
MAX_TAKE_S = 4.0
#: Frames a take needs at least, whatever its length (the model samples up to 8).
MIN_TAKE_FRAMES = 4
#: Frames that must move (by the live motion meter's measure) for a take not to be motionless.
MIN_MOVING_FRAMES = 2


class TakeRefused(Exception):
    """A take that cannot be kept; ``str()`` is the one-line reason shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def moving_frames(frames: Sequence[np.ndarray], fps: float = 30.0) -> int:
    """How many frames moved, by the live segmenter's motion meter at its default sensitivity."""
    from signdesk.video.segment import MotionMeter

    meter = MotionMeter(fps=fps)
    return sum(1 for frame in frames if meter.measure(frame) > meter.on_threshold)


def refusal(duration_s: float, frame_count: int, *, cut: bool = False, moving: int | None = None,
            min_s: float = MIN_TAKE_S, max_s: float = MAX_TAKE_S) -> str | None:
    """The reason to refuse a take, or None to keep it. ``moving`` None: motion not measured."""
    if moving is not None and moving < MIN_MOVING_FRAMES:
        return "motionless: nothing moved in this take; sign the word with your hands in view of the camera"
    if cut or duration_s > max_s:
        what = f"more than {max_s:g} s" if cut else f"{duration_s:.1f} s"
        return f"too long: the motion lasted {what} (at most {max_s:g} s); sign one word, then rest your hands"
    if duration_s < min_s or frame_count < MIN_TAKE_FRAMES:
        return (f"too short: {duration_s:.2f} s of motion (a take needs at least {min_s:g} s); "
                "sign the whole word")
    return None


def check_frames(frames: Sequence[np.ndarray], fps: float, *, cut: bool = False,
                 duration_s: float | None = None) -> str | None:
    """``refusal`` for frames in hand: duration from the frame count unless given, motion measured."""
    count = len(frames)
    duration = duration_s if duration_s is not None else max(0, count - 1) / max(fps, 1e-6)
    first = refusal(duration, count, cut=cut)  # length first: no need to measure the motion of a refused take
    if first is not None:
        return first
    return refusal(duration, count, cut=cut, moving=moving_frames(frames, fps))
