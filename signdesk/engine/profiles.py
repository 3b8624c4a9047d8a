"""Visual budget profiles: how many frames of a clip, at what size, become the model's visual tokens.

- ``quality``: 8 frames at the processor's native size (448² for InternVL3: 256 tokens per frame).
- ``balanced``: 8 frames at half the native size (224²: 64 tokens per frame). The InternVL vision tower
  interpolates its position embeddings to the smaller patch grid by itself; the processor's frame size
  and its ``image_seq_length`` (``<IMG_CONTEXT>`` tokens per frame) must both change, which
  ``apply_profile`` does.
- ``fast``: 4 frames at half size (a sixteenth of the quality profile's visual tokens).
- ``auto``: ``fast`` on the CPU, ``quality`` on GPUs (CUDA, MPS, DirectML).

An explicit frame count (``frames`` setting or ``--frames``) wins over a profile's. The same profile
is used by interpretation, live use, training and evaluation; an adapter records the one it was trained
with in its ``signdesk.json`` and runs with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from signdesk.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Profile:
    name: str
    frames: int
    scale: float  # frame side relative to the model's native frame side


PROFILES: dict[str, Profile] = {
    "quality": Profile("quality", 8, 1.0),
    "balanced": Profile("balanced", 8, 0.5),
    "fast": Profile("fast", 4, 0.5),
}
CHOICES = ("auto", *PROFILES)
#: what an adapter trained before profiles existed was trained with: the native frame size
LEGACY = "quality"


@dataclass(frozen=True)
class Budget:
    """What a profile means for one model: the frame size fed to the processor and its tokens per frame."""

    profile: str
    frame_size: tuple[int, int]  # (width, height)
    tokens_per_frame: int


def resolve_profile(name: str | None, device: str | None) -> Profile:
    """The concrete profile for a setting (``auto`` → ``fast`` on the CPU, ``quality`` elsewhere)."""
    name = name or "auto"
    if name == "auto":
        return PROFILES["fast" if (device or "cpu") == "cpu" else "quality"]
    if name not in PROFILES:
        raise ConfigError(f"profile must be {' | '.join(CHOICES)} (got {name!r})")
    return PROFILES[name]


def _pair(value: Any) -> int:
    return int(value[0] if isinstance(value, list | tuple) else value)


def _native(processor: Any) -> tuple[int, int, int]:
    """(width, height, tokens per frame) the processor came with; remembered before the first change."""
    native = getattr(processor, "_signdesk_native", None)
    if native is None:
        size = processor.video_processor.size
        height = getattr(size, "height", None) or size["height"]
        width = getattr(size, "width", None) or size["width"]
        native = (int(width), int(height), int(getattr(processor, "image_seq_length", 0)))
        processor._signdesk_native = native
    return native


def budget(profile: Profile, processor: Any, model_config: Any) -> Budget:
    """The frame size and tokens per frame of ``profile`` for this processor and model.

    Half size is computed from the native size, then rounded down to a multiple of the unit the model
    can pool: the vision patch times the pixel-shuffle factor (14 × 2 = 28 px for InternVL3, 8 × 2 = 16 px
    for the tiny test model), so every token count is whole and the grid stays square. InternVL3 at 448²
    → 224² (exactly half); the tiny model at 64² → 32² (exactly half).
    """
    width, height, native_tokens = _native(processor)
    if profile.scale == 1.0:
        return Budget(profile.name, (width, height), native_tokens)
    vision = model_config.vision_config
    patch = _pair(vision.patch_size)
    ratio = float(getattr(model_config, "downsample_ratio", 0.5))
    shuffle = round(1 / ratio)
    unit = patch * shuffle
    side = min(width, height)
    scaled = max(unit, int(side * profile.scale) // unit * unit)
    tokens = (scaled // patch) ** 2 // (shuffle * shuffle)
    return Budget(profile.name, (scaled, scaled), tokens)


def apply_profile(processor: Any, profile: Profile, model_config: Any) -> Budget:
    """Set the processor's video frame size and ``<IMG_CONTEXT>`` tokens per frame for ``profile``.

    Idempotent and cheap: the interpreter and the training collator call it before every batch, so a
    processor shared by several users always encodes with the profile of the one calling.
    """
    result = budget(profile, processor, model_config)
    width, height = result.frame_size
    video = processor.video_processor
    current = video.size
    if (getattr(current, "width", None), getattr(current, "height", None)) != (width, height):
        try:
            from transformers.image_utils import SizeDict

            video.size = SizeDict(height=height, width=width)
        except ImportError:  # pragma: no cover - older transformers
            video.size = {"height": height, "width": width}
    processor.image_seq_length = result.tokens_per_frame
    return result


def describe(result: Budget, frames: int) -> str:
    """e.g. ``fast: 4 frames at 224x224, 64 tokens per frame``."""
    width, height = result.frame_size
    return f"{result.profile}: {frames} frames at {width}x{height}, {result.tokens_per_frame} tokens per frame"
