"""What ``signdesk doctor`` reports: versions, devices, the choice it would make and why, the model cache."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

from signdesk import __version__, paths
from signdesk.errors import SignDeskError

PACKAGES = ("torch", "torchvision", "transformers", "peft", "trl", "accelerate", "huggingface_hub",
            "decord", "opencv-python-headless", "PySide6-Essentials", "yt-dlp", "bitsandbytes",
            "torch-directml", "flash-attn")


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
        chosen = {"error": str(exc)}
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
        "settings_file": str(paths.settings_file()),
        "model_cache": str(paths.models_cache_dir()),
        "model": {"id": model_id, "revision": revision, "present": model_state,
                  "adapter": settings["model.adapter"]},
        "folders": {"data": str(paths.data_dir()), "logs": str(paths.log_dir()), "cache": str(paths.cache_dir())},
    }


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
    model = report["model"]
    lines += [
        "", f"Model: {model['id']} @ {model['revision']}", f"  {model['present']}",
        f"  adapter: {model['adapter'] or 'none'}", "",
        f"Settings file: {report['settings_file']}", f"Model cache:   {report['model_cache']}",
        f"Data folder:   {report['folders']['data']}", f"Logs:          {report['folders']['logs']}",
    ]
    return "\n".join(lines)
