"""Which device and dtype to run on, and whether quantization is possible there.

Order for ``auto``: CUDA (bf16 where the GPU supports it, else fp16) -> Apple MPS (fp16) -> DirectML
(only when ``torch_directml`` is installed; it is never imported otherwise) -> CPU (float32).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
from dataclasses import dataclass
from typing import Any

from signdesk.errors import DeviceError

log = logging.getLogger(__name__)

DEVICES = ("cuda", "mps", "directml", "cpu")
QUANTIZE = ("none", "4bit", "8bit")


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # cuda | mps | directml | cpu
    dtype: str  # bfloat16 | float16 | float32
    reason: str
    detail: str = ""  # e.g. the GPU's name
    index: int = 0  # the CUDA GPU: this process's LOCAL_RANK under accelerate launch / torchrun

    def torch_device(self) -> Any:
        """The object to pass to ``.to()``: a string, or DirectML's own device object."""
        if self.name == "directml":
            import torch_directml

            return torch_directml.device()
        return f"cuda:{self.index}" if self.name == "cuda" else self.name

    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype)


def _cuda() -> tuple[bool, str, bool]:
    import torch

    if not torch.cuda.is_available():
        return False, "", False
    name = torch.cuda.get_device_name(0)
    return True, name, bool(torch.cuda.is_bf16_supported())


def _mps() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _directml() -> tuple[bool, str]:
    if importlib.util.find_spec("torch_directml") is None:
        return False, "torch-directml is not installed"
    try:
        import torch_directml

        if torch_directml.device_count() < 1:
            return False, "torch-directml found no DirectX 12 GPU"
        return True, str(torch_directml.device_name(0))
    except Exception as exc:  # a broken driver must not stop the app from starting on the CPU
        return False, f"torch-directml failed to start ({exc})"


def probe() -> dict[str, dict[str, Any]]:
    """What each device reports here, for ``signdesk doctor``."""
    cuda_ok, cuda_name, bf16 = _cuda()
    dml_ok, dml_detail = _directml()
    mps_ok = _mps()
    return {
        "cuda": {"available": cuda_ok, "detail": cuda_name or "no CUDA GPU visible to torch", "bf16": bf16},
        "mps": {"available": mps_ok, "detail": "Apple GPU" if mps_ok else "not available (Apple silicon only)"},
        "directml": {"available": dml_ok, "detail": dml_detail},
        "cpu": {"available": True, "detail": platform.processor() or platform.machine()},
    }


def choose_device(requested: str = "auto") -> DeviceChoice:
    """Pick the device for ``requested`` (auto or a name); an unavailable forced device is an error."""
    if requested not in ("auto", *DEVICES):
        raise DeviceError(f"unknown device {requested!r}; choose auto, {', '.join(DEVICES)}")
    if requested in ("auto", "cuda"):
        ok, name, bf16 = _cuda()
        if ok:
            dtype = "bfloat16" if bf16 else "float16"
            why = "bf16 supported" if bf16 else "this GPU has no bf16, so fp16"
            local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)  # one GPU per process when distributed
            return DeviceChoice("cuda", dtype, f"CUDA GPU found ({why})", name, index=local_rank)
        if requested == "cuda":
            raise DeviceError("device 'cuda' asked for, but torch sees no CUDA GPU; use --device auto or cpu")
    if requested in ("auto", "mps"):
        if _mps():
            return DeviceChoice("mps", "float16", "Apple MPS available", "Apple GPU")
        if requested == "mps":
            raise DeviceError("device 'mps' asked for, but Apple MPS is not available; use --device auto or cpu")
    if requested in ("auto", "directml"):
        ok, detail = _directml()
        if ok:
            return DeviceChoice("directml", "float16", "DirectML GPU found", detail)
        if requested == "directml":
            raise DeviceError(
                f"device 'directml' asked for, but {detail}; install it with "
                "`pip install signdesk[directml]` on Windows, or use --device auto"
            )
    reason = "forced" if requested == "cpu" else "no GPU found"
    return DeviceChoice("cpu", "float32", f"CPU ({reason})", platform.machine())


def bitsandbytes_installed() -> bool:
    return importlib.util.find_spec("bitsandbytes") is not None


def check_quantization(quantize: str, device: DeviceChoice) -> None:
    """Quantization runs through bitsandbytes on CUDA only; anything else is a clear error."""
    if quantize not in QUANTIZE:
        raise DeviceError(f"unknown quantization {quantize!r}; choose {', '.join(QUANTIZE)}")
    if quantize == "none":
        return
    if device.name != "cuda":
        raise DeviceError(
            f"{quantize} quantization needs an NVIDIA GPU (CUDA), but the device is {device.name}; "
            "use --quantize none"
        )
    if not bitsandbytes_installed():
        raise DeviceError(
            f"{quantize} quantization needs bitsandbytes; install it with `pip install signdesk[cuda]`"
        )


def quantization_support() -> dict[str, str]:
    cuda_ok = _cuda()[0]
    if not cuda_ok:
        return {q: "no (needs a CUDA GPU)" for q in ("4bit", "8bit")}
    if not bitsandbytes_installed():
        return {q: "no (pip install signdesk[cuda])" for q in ("4bit", "8bit")}
    return {"4bit": "yes (NF4)", "8bit": "yes"}
