"""Load InternVL3 (hub id or local folder) natively with transformers, on the chosen device.

Always ``trust_remote_code=False`` and safetensors weights only. SDPA attention, or flash-attention 2
when it is installed and the device is CUDA. Quantization (bitsandbytes) on CUDA only; on the CPU,
``cpu_arithmetic`` chooses float32, bfloat16 or int8 weights (torchao), and one thread per physical core.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from signdesk.engine.download import ModelProgress, is_local_folder, looks_like_path, resolve_model
from signdesk.errors import DeviceError, ModelError
from signdesk.hardware import (
    CpuArithmetic,
    DeviceChoice,
    check_quantization,
    choose_cpu_arithmetic,
    choose_device,
    set_cpu_threads,
)

log = logging.getLogger(__name__)


class _TorchaoEnumNoise(logging.Filter):
    """transformers imports torchao when it is installed (the ``cpu`` extra), and torchao's import makes torch
    warn about its own enums (``register_constant() on Enum subclasses is deprecated``): noise to users."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "register_constant() on Enum subclasses" not in record.getMessage()


def _quiet_torchao_import() -> None:
    pytree = logging.getLogger("torch.utils._pytree")
    if not any(isinstance(f, _TorchaoEnumNoise) for f in pytree.filters):
        pytree.addFilter(_TorchaoEnumNoise())


@dataclass
class LoadedModel:
    model: Any
    processor: Any
    model_id: str
    revision: str
    folder: Path
    device: DeviceChoice
    quantize: str
    frame_size: tuple[int, int]  # (width, height) every frame is resized to before the processor
    load_seconds: float = 0.0
    preprocessing: dict[str, Any] = field(default_factory=dict)
    arithmetic: CpuArithmetic | None = None  # on the CPU: float32 | bfloat16 | int8, and why
    threads: int = 0  # CPU compute threads set at load (0: not on the CPU)

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer


def video_preprocessing(processor: Any) -> dict[str, Any]:
    """The processor's effective video frame size and normalisation (logged, and shown by doctor)."""
    video = getattr(processor, "video_processor", None)
    if video is None:
        raise ModelError("this model's processor has no video processor; use an InternVL3 -hf checkpoint")
    size = video.size
    height = getattr(size, "height", None) or size["height"]
    width = getattr(size, "width", None) or size["width"]
    return {
        "width": int(width),
        "height": int(height),
        "mean": [round(float(v), 4) for v in video.image_mean],
        "std": [round(float(v), 4) for v in video.image_std],
        "rescale_factor": float(getattr(video, "rescale_factor", 1 / 255)),
        "image_seq_length": int(getattr(processor, "image_seq_length", 0)),
    }


def _attention_implementation(device: DeviceChoice) -> str:
    if device.name == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _quantization_config(quantize: str, device: DeviceChoice) -> Any:
    if quantize == "none":
        return None
    from transformers import BitsAndBytesConfig

    if quantize == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=device.torch_dtype(),
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def _int8_config(arithmetic: CpuArithmetic) -> Any:
    """Int8 weights (per output channel, torchao) for every linear layer of the language model and the
    vision tower; transformers leaves the output head as it is (glossary scores are read from its logits),
    and peft can put LoRA adapters on top of these layers.

    With bfloat16 activations the weights are widened to bfloat16 inside the matmul (as fast as bfloat16,
    half its memory); in float32 that is no faster than float32, so the activations are quantized to
    int8 per token as well and the matmul runs in int8 (1.65x float32 on InternVL3-1B shapes).
    """
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig
        from transformers import TorchAoConfig

        if arithmetic.dtype == "bfloat16":
            return TorchAoConfig(quant_type=Int8WeightOnlyConfig())
        return TorchAoConfig(quant_type=Int8DynamicActivationInt8WeightConfig())
    except ImportError as exc:
        raise DeviceError(f"CPU arithmetic int8 needs a working torchao ({exc})".splitlines()[0]) from None


def load_model(
    model_id: str,
    revision: str = "main",
    *,
    device: str | DeviceChoice = "auto",
    quantize: str = "none",
    cpu_arithmetic: str = "float32",
    allow_download: bool = False,
    progress: ModelProgress | None = None,
) -> LoadedModel:
    """Resolve, then load model and processor; every failure is a one-line ``ModelError``/``DeviceError``.

    ``cpu_arithmetic`` (auto | float32 | bfloat16 | int8) applies on the CPU only; float32, the default,
    is what training loads (LoRA trains on float32 weights).
    """
    started = time.perf_counter()
    choice = device if isinstance(device, DeviceChoice) else choose_device(device)
    check_quantization(quantize, choice)
    arithmetic = choose_cpu_arithmetic(cpu_arithmetic, choice)
    threads = 0
    if choice.name == "cpu":
        choice = replace(choice, dtype=arithmetic.dtype)  # inputs follow: the interpreter casts to choice.dtype
        threads, why = set_cpu_threads()
        log.info("CPU arithmetic %s (%s); %d compute threads (%s)", arithmetic.name, arithmetic.reason, threads, why)
    folder = resolve_model(model_id, revision, allow_download=allow_download, progress=progress)
    if progress:
        progress("load", None, f"loading {model_id} on {choice.name}")

    _quiet_torchao_import()
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-tensor bars are noise; our progress callback says "loading"
    try:
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_id}: cannot load its processor ({exc})".splitlines()[0]) from None
    quant_config = _quantization_config(quantize, choice)
    int8 = choice.name == "cpu" and arithmetic.int8_weights
    kwargs: dict[str, Any] = {
        "trust_remote_code": False,
        "use_safetensors": True,
        "dtype": choice.torch_dtype(),
        "attn_implementation": _attention_implementation(choice),
    }
    if quant_config is not None:
        kwargs.update(quantization_config=quant_config, device_map={"": choice.index})
    elif int8:
        kwargs.update(quantization_config=_int8_config(arithmetic))
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{model_id}: cannot load the model ({exc})".splitlines()[0]) from None
    if quant_config is None and not int8:
        model.to(choice.torch_device())
    model.eval()

    prep = video_preprocessing(processor)
    log.info(
        "loaded %s on %s (%s): video frames %dx%d, mean %s, std %s, %d tokens per frame",
        model_id, choice.name, choice.dtype, prep["width"], prep["height"], prep["mean"], prep["std"],
        prep["image_seq_length"],
    )
    return LoadedModel(
        model=model, processor=processor, model_id=model_id, revision=revision, folder=Path(folder),
        device=choice, quantize=quantize, frame_size=(prep["width"], prep["height"]),
        load_seconds=time.perf_counter() - started, preprocessing=prep,
        arithmetic=arithmetic if choice.name == "cpu" else None, threads=threads,
    )


def open_interpreter(settings: Any, progress: ModelProgress | None = None, allow_download: bool = False):
    """Load the model, adapter and glossary named by ``settings`` into a ready ``Interpreter``.

    With an adapter, the base model and glossary nobody chose come from the adapter's metadata
    (``adapter_defaults``), so every caller (commands, live, the app) runs an adapter the same way.
    """
    if settings.get("backend") == "server":  # the model runs on a vLLM server (signdesk.engine.server)
        from signdesk.engine.server import open_server_interpreter

        return open_server_interpreter(settings, progress=progress, allow_download=allow_download)
    from signdesk.engine.adapters import adapter_defaults
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.vocab import resolve_glossary

    configured_model = settings["model.id"]
    settings, adapter_signs = adapter_defaults(settings)  # a bad adapter fails before the slow load
    glossary = adapter_signs if adapter_signs is not None else resolve_glossary(settings["glossary"])
    model_id, adapter = settings["model.id"], settings["model.adapter"]
    from_adapter = model_id != configured_model  # the user never named this model: messages must say where it is from
    if from_adapter and looks_like_path(model_id) and not is_local_folder(model_id):
        raise ModelError(f"adapter {adapter} was trained on the model folder {model_id}, which is not here; "
                         "pass --model with that model (or a copy of it)")
    try:
        loaded = load_model(
            model_id, settings["model.revision"], device=settings["device"],
            quantize=settings["quantize"], cpu_arithmetic=settings["cpu_arithmetic"],
            allow_download=allow_download, progress=progress,
        )
    except ModelError as exc:
        if not from_adapter:
            raise
        raise ModelError(f"adapter {adapter} was trained on {model_id}: {exc}") from None
    interpreter = Interpreter.from_settings(loaded, settings, glossary=glossary)
    if settings["model.adapter"]:
        if progress:
            progress("adapter", None, f"loading adapter {settings['model.adapter']}")
        interpreter.set_adapter(settings["model.adapter"])
    if progress:
        progress("ready", 1.0, "ready")
    return interpreter
