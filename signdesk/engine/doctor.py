"""What ``signdesk doctor`` reports: versions, devices, the choice it would make and why, the model cache."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from signdesk import __version__, paths
from signdesk.errors import SignDeskError

PACKAGES = ("torch", "torchvision", "transformers", "peft", "trl", "accelerate", "huggingface_hub",
            "decord", "opencv-python-headless", "PySide6-Essentials", "yt-dlp", "bitsandbytes",
            "torch-directml", "flash-attn", "torchao")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect(settings: Any) -> dict[str, Any]:
    from signdesk import hardware
    from signdesk.engine.download import local_model_path

    try:
        choice = hardware.choose_device(settings["device"])
        chosen = {"device": choice.name, "dtype": choice.dtype, "reason": choice.reason, "detail": choice.detail}
    except SignDeskError as exc:
        choice, chosen = None, {"error": str(exc)}
    arithmetic = _cpu_arithmetic(settings, choice)
    if arithmetic.get("chosen"):  # on the CPU the model computes in the arithmetic's dtype
        chosen["dtype"] = arithmetic["dtype"]
    model_id, revision = settings["model.id"], settings["model.revision"]
    try:
        folder = local_model_path(model_id, revision)
        model_state = str(folder) if folder else f"not downloaded (run `signdesk model download {model_id}`)"
    except SignDeskError as exc:
        model_state = str(exc)
    return {
        "signdesk": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "devices": hardware.probe(),
        "choice": chosen,
        "quantization": hardware.quantization_support(),
        "cpu_arithmetic": arithmetic,
        "settings_file": str(paths.settings_file()),
        "model_cache": str(paths.models_cache_dir()),
        "model": {"id": model_id, "revision": revision, "present": model_state,
                  "adapter": settings["model.adapter"]},
        "folders": {"data": str(paths.data_dir()), "logs": str(paths.log_dir()), "cache": str(paths.cache_dir())},
    }


def _cpu_arithmetic(settings: Any, choice: Any) -> dict[str, Any]:
    """The CPU arithmetic a model load would use (or why it would be refused), the options, and the threads."""
    from signdesk import hardware

    requested = settings["cpu_arithmetic"]
    info: dict[str, Any] = {"setting": requested, "support": hardware.cpu_arithmetic_support(),
                            "threads": hardware.physical_cores(), "threads_reason": "one per physical core"}
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        info.update(threads=int(os.environ["OMP_NUM_THREADS"]), threads_reason="OMP_NUM_THREADS")
    if choice is None:
        return info
    try:
        arithmetic = hardware.choose_cpu_arithmetic(requested, choice)
    except SignDeskError as exc:
        return {**info, "error": str(exc)}
    if choice.name != "cpu":
        return {**info, "chosen": None, "reason": f"not used: the device is {choice.name}"}
    return {**info, "chosen": arithmetic.name, "dtype": arithmetic.dtype, "reason": arithmetic.reason}


def format_report(report: dict[str, Any]) -> str:
    lines = [f"SignDesk {report['signdesk']} on Python {report['python']} ({report['platform']})", "", "Packages:"]
    lines += [f"  {name:<24} {version}" for name, version in report["packages"].items()]
    lines += ["", "Devices:"]
    for name, info in report["devices"].items():
        lines.append(f"  {name:<9} {'yes' if info['available'] else 'no ':<4} {info['detail']}")
    choice = report["choice"]
    lines += ["", "Choice:"]
    if "error" in choice:
        lines.append(f"  error: {choice['error']}")
    else:
        lines.append(f"  {choice['device']} ({choice['dtype']}): {choice['reason']}")
    lines += ["", "Quantization:"] + [f"  {k}: {v}" for k, v in report["quantization"].items()]
    arithmetic = report["cpu_arithmetic"]
    lines += ["", f"CPU arithmetic (setting: {arithmetic['setting']}):"]
    if "error" in arithmetic:
        lines.append(f"  error: {arithmetic['error']}")
    elif arithmetic.get("chosen"):
        lines.append(f"  chosen: {arithmetic['chosen']} ({arithmetic['dtype']}): {arithmetic['reason']}")
    elif "reason" in arithmetic:
        lines.append(f"  {arithmetic['reason']}")
    lines += [f"  {k}: {v}" for k, v in arithmetic["support"].items()]
    lines.append(f"  threads: {arithmetic['threads']} ({arithmetic['threads_reason']})")
    model = report["model"]
    lines += [
        "", f"Model: {model['id']} @ {model['revision']}", f"  {model['present']}",
        f"  adapter: {model['adapter'] or 'none'}", "",
        f"Settings file: {report['settings_file']}", f"Model cache:   {report['model_cache']}",
        f"Data folder:   {report['folders']['data']}", f"Logs:          {report['folders']['logs']}",
    ]
    return "\n".join(lines)
