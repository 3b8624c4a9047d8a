"""What the GUI's engine thread, ``signdesk transcribe`` and ``signdesk live`` use of an interpreter.

``signdesk.engine.interpreter.Interpreter`` satisfies ``InterpreterProtocol``; so do the stand-ins the
tests give those callers (tests/ui/conftest.py, tests/video/test_transcribe.py), and
tests/engine/test_interpreter_protocol.py checks all of them. Callers use these members directly:
a member a caller needs goes here, in the real interpreter and in every stand-in. Importing this
module imports neither torch nor Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


class CandidateInfo(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def score(self) -> float: ...


class ResultInfo(Protocol):
    """An interpretation: ``signdesk.engine.interpreter.Result``."""

    @property
    def text(self) -> str: ...

    @property
    def candidates(self) -> Sequence[CandidateInfo]: ...

    @property
    def timings_ms(self) -> dict[str, float]: ...


class DeviceInfo(Protocol):
    """``signdesk.hardware.DeviceChoice``: empty strings where a stand-in has no device."""

    @property
    def name(self) -> str: ...

    @property
    def dtype(self) -> str: ...


class ModelInfo(Protocol):
    """``signdesk.engine.loader.LoadedModel``: the model that loaded (an adapter may bring its own base)."""

    @property
    def model_id(self) -> str: ...

    @property
    def device(self) -> DeviceInfo: ...


class ProfileInfo(Protocol):
    """``signdesk.engine.profiles.Profile``: the visual budget in use."""

    @property
    def name(self) -> str: ...


@runtime_checkable
class InterpreterProtocol(Protocol):
    """A loaded model that turns sign clips into words; calls may block for the model's time."""

    @property
    def loaded(self) -> ModelInfo: ...

    @property
    def adapter(self) -> str | None: ...

    @property
    def mode(self) -> str: ...  # vocab | free

    @property
    def num_frames(self) -> int: ...

    @property
    def frame_size(self) -> tuple[int, int]: ...  # (width, height) every frame is resized to

    @property
    def profile(self) -> ProfileInfo: ...

    @property
    def tokens_per_frame(self) -> int: ...

    def interpret_frames(self, frames: np.ndarray, /) -> ResultInfo:
        """Frames (T, H, W, 3) uint8 RGB, sampled to ``num_frames`` and resized by the interpreter."""
        ...

    def interpret_video(self, path: str | Path, /, frame_start: int = 1, frame_end: int = -1) -> ResultInfo:
        """A video file (or still image), frames ``frame_start``..``frame_end`` (1-based, -1: the end)."""
        ...

    def set_adapter(self, adapter: str | None, /) -> str | None:
        """Switch to an adapter folder, or None: the plain base model."""
        ...

    def configure(self, *, mode: str | None = None, glossary: list[str] | str | None = "keep",
                  top_k: int | None = None, num_frames: int | None = None, profile: str | None = None) -> None:
        """Change mode, glossary (None clears it, "keep" keeps it), top-k, frames or profile between clips."""
        ...
