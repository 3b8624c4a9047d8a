"""Which device and dtype to run on, and whether quantization is possible there.

Order for ``auto``: CUDA (bf16 where the GPU supports it, else fp16) -> Apple MPS (fp16) -> DirectML
(only when ``torch_directml`` is installed; it is never imported otherwise) -> CPU (float32, or the CPU
arithmetic ``choose_cpu_arithmetic`` picks: bfloat16 where the CPU computes it natively, int8 weights
through torchao on request), with one compute thread per physical core.
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
DEVICE_CHOICES = ("auto", *DEVICES)  # what --device, settings and the GUI accept for running the model
# Training runs where PyTorch autograd and TRL work: DirectML's backward pass is incomplete.
TRAIN_DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
QUANTIZE = ("none", "4bit", "8bit")
CPU_ARITHMETIC = ("auto", "float32", "bfloat16", "int8")


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
    if requested not in DEVICE_CHOICES:
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


# ---------------------------------------------------------------------------- CPU arithmetic
@dataclass(frozen=True)
class CpuArithmetic:
    """How the model computes on the CPU: ``name`` is the setting's value once ``auto`` is resolved."""

    name: str  # float32 | bfloat16 | int8
    dtype: str  # the activations' (and unquantized weights') dtype: float32 | bfloat16
    reason: str
    int8_weights: bool = False


def _cpu_bf16() -> tuple[bool, str]:
    """Whether this CPU computes bfloat16 natively (not emulated), and the feature that says so."""
    import torch

    cpu = getattr(torch, "cpu", None)
    amx = getattr(cpu, "_is_amx_tile_supported", None)
    if amx is not None and amx():
        return True, "AMX"
    avx512_bf16 = getattr(cpu, "_is_avx512_bf16_supported", None)
    if avx512_bf16 is not None and avx512_bf16():
        return True, "AVX512-BF16"
    if platform.machine().lower() in ("aarch64", "arm64"):
        try:  # Linux on ARM lists the BF16 extension (Graviton 3, Ampere One, ...) among the CPU's features
            with open("/proc/cpuinfo", encoding="utf-8") as fh:
                if any(line.startswith("Features") and " bf16" in line for line in fh):
                    return True, "ARM BF16"
        except OSError:
            pass
    return False, "no AVX512-BF16, AMX or ARM BF16"


def torchao_installed() -> bool:
    return importlib.util.find_spec("torchao") is not None


def physical_cores() -> int:
    """Physical cores this process may run on: compute threads beyond them (hyper-threads) only slow matmuls."""
    import psutil

    logical = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))  # a container or `taskset` may allow fewer CPUs
    except (AttributeError, OSError):  # macOS and Windows have no affinity query
        usable = logical
    physical = psutil.cpu_count(logical=False) or logical
    return max(1, min(physical, usable))


def set_cpu_threads() -> tuple[int, str]:
    """One compute thread per physical core, unless OMP_NUM_THREADS already says how many: (threads, why)."""
    import torch

    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        return torch.get_num_threads(), "OMP_NUM_THREADS"
    cores = physical_cores()
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)
    return cores, "physical cores"


# what int8 computes, with and without native bfloat16 (signdesk.engine.loader._int8_config)
_INT8 = {True: "torchao int8 weights, bfloat16 activations",
         False: "torchao int8 weights and per-token int8 activations"}


def choose_cpu_arithmetic(requested: str = "auto", device: DeviceChoice | None = None) -> CpuArithmetic:
    """Resolve ``cpu_arithmetic`` for ``device``; an explicit choice this machine cannot run is a one-line error.

    ``auto``: bfloat16 where the CPU computes it natively (2.7x faster than float32 for prefill and
    glossary scoring with InternVL3-1B shapes on AVX512-BF16), else float32. int8 is never chosen by
    itself: with bfloat16 it is no faster (only half the memory), and without bfloat16 it quantizes the
    activations too (1.65x float32 there), which random-weight measurements cannot vouch for on real weights.
    """
    if requested not in CPU_ARITHMETIC:
        raise DeviceError(f"unknown CPU arithmetic {requested!r}; choose {', '.join(CPU_ARITHMETIC)}")
    if device is not None and device.name != "cpu":
        if requested != "auto":
            raise DeviceError(
                f"CPU arithmetic {requested} applies to the CPU only, but the device is {device.name} "
                f"({device.dtype}); use --arithmetic auto, and --quantize 4bit|8bit to shrink the model there"
            )
        return CpuArithmetic(device.dtype, device.dtype, f"not used on {device.name}")
    bf16, feature = _cpu_bf16()
    if requested == "auto":
        if bf16:
            return CpuArithmetic("bfloat16", "bfloat16", f"auto: this CPU computes bfloat16 natively ({feature})")
        return CpuArithmetic("float32", "float32", f"auto: this CPU has no native bfloat16 ({feature})")
    if requested == "float32":
        return CpuArithmetic("float32", "float32", "chosen in the settings")
    if requested == "bfloat16" and not bf16:
        raise DeviceError(
            f"CPU arithmetic bfloat16 needs a CPU that computes it natively, and this one has {feature}; "
            "use --arithmetic auto or float32"
        )
    if requested == "bfloat16":
        return CpuArithmetic("bfloat16", "bfloat16", f"chosen in the settings ({feature})")
    if not torchao_installed():
        raise DeviceError(
            "CPU arithmetic int8 needs torchao; install it with `pip install signdesk[cpu]`, "
            "or use --arithmetic auto"
        )
    dtype = "bfloat16" if bf16 else "float32"
    return CpuArithmetic("int8", dtype, f"chosen in the settings ({_INT8[bf16]})", int8_weights=True)


def cpu_arithmetic_support() -> dict[str, str]:
    """What each CPU arithmetic would do here, for ``signdesk doctor``."""
    bf16, feature = _cpu_bf16()
    return {
        "float32": "yes",
        "bfloat16": f"yes ({feature})" if bf16 else f"no ({feature})",
        "int8": f"yes ({_INT8[bf16]})" if torchao_installed() else "no (pip install signdesk[cpu])",
    }
