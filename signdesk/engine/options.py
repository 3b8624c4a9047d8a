"""The model options: one set of flags for every command that loads a model and interprets with it.

``interpret``, ``transcribe``, ``live``, ``gui``, ``bench`` and ``doctor`` all call ``add_model_options``,
so a flag means the same everywhere and a new one reaches every command at once
(``tests/engine/test_engine_cli.py`` fails when a command lacks one). The flags override the settings
file for this run; ``settings_from_args`` turns them into ``Settings``.

``--adapter DIR`` uses a LoRA adapter, ``--adapter none`` the base model even when the settings name an
adapter. ``--no-adapter`` is the old spelling of ``--adapter none``, kept (hidden) so scripts keep working.
"""

from __future__ import annotations

import argparse
from typing import Any

from signdesk.engine.server_options import add_server_options, server_overrides
from signdesk.hardware import DEVICE_CHOICES

PROFILE_CHOICES = ["quality", "balanced", "fast", "auto"]
NO_ADAPTER = "none"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that loads a model (they override the settings file)."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", metavar="ID|DIR", help="hub id or local model folder (default: settings / "
                                                         "SIGNDESK_MODEL)")
    group.add_argument("--revision", help="hub revision: branch, tag or commit")
    group.add_argument("--adapter", metavar="DIR|none",
                       help="LoRA adapter folder; 'none' for the base model even if the settings name an adapter")
    group.add_argument("--no-adapter", dest="adapter", action="store_const", const=NO_ADAPTER,
                       help=argparse.SUPPRESS)  # deprecated spelling of --adapter none (transcribe had it)
    group.add_argument("--device", choices=DEVICE_CHOICES, help="where the model runs (default: auto)")
    group.add_argument("--quantize", choices=["none", "4bit", "8bit"], help="CUDA only (bitsandbytes)")
    group.add_argument("--arithmetic", dest="cpu_arithmetic", choices=["auto", "float32", "bfloat16", "int8"],
                       help="CPU only: auto picks bfloat16 where the CPU has it natively; int8 needs torchao")
    group.add_argument("--frames", type=int, metavar="N", help="frames sampled per clip (default: the profile's)")
    group.add_argument("--profile", choices=PROFILE_CHOICES,
                       help="visual budget: quality (8 frames, native size), balanced (8 frames, half size), "
                            "fast (4 frames, half size), auto (fast on the CPU, quality on GPUs; default)")
    group.add_argument("--mode", choices=["vocab", "free"], help="rank the glossary, or generate freely")
    group.add_argument("--glossary", metavar="NAME|FILE",
                       help="packaged glossary name or a file with one gloss per line")
    group.add_argument("--top-k", type=int, dest="top_k", metavar="K", help="alternatives to report")
    add_server_options(group)  # where the model runs: here, or on a vLLM server


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the model flags set (only those given); ``--adapter none`` sets no adapter."""
    overrides = {
        "model.id": getattr(args, "model", None),
        "model.revision": getattr(args, "revision", None),
        "device": getattr(args, "device", None),
        "quantize": getattr(args, "quantize", None),
        "cpu_arithmetic": getattr(args, "cpu_arithmetic", None),
        "frames": getattr(args, "frames", None),
        "profile": getattr(args, "profile", None),
        "mode": getattr(args, "mode", None),
        "glossary": getattr(args, "glossary", None),
        "top_k": getattr(args, "top_k", None),
        **server_overrides(args),
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    adapter = getattr(args, "adapter", None)
    if adapter is not None:
        overrides["model.adapter"] = None if str(adapter).lower() == NO_ADAPTER else str(adapter)
    if overrides.get("mode") == "free" and "glossary" not in overrides:
        overrides["glossary"] = None  # free answers are not ranked against the settings' glossary
    return overrides


def settings_from_args(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Any:
    """Settings for this run: the settings file, then the model flags, then ``extra`` (given values only)."""
    from signdesk.config import load_settings

    overrides = model_overrides(args)
    overrides.update({k: v for k, v in (extra or {}).items() if v is not None})
    return load_settings(overrides)
