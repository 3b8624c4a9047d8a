"""Load InternVL3 (hub id or local folder) natively with transformers, on the chosen device.

Always ``trust_remote_code=False`` and safetensors weights only. SDPA attention, or flash-attention 2
when it is installed and the device is CUDA. Quantization (bitsandbytes) on CUDA only.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signdesk.engine.download import Progress, is_local_folder, looks_like_path, resolve_model
from signdesk.errors import ModelError
from signdesk.hardware import DeviceChoice, check_quantization, choose_device

log = logging.getLogger(__name__)


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


def load_model(
    model_id: str,
    revision: str = "main",
    *,
    device: str | DeviceChoice = "auto",
    quantize: str = "none",
    allow_download: bool = False,
    progress: Progress | None = None,
) -> LoadedModel:
    """Resolve, then load model and processor; every failure is a one-line ``ModelError``/``DeviceError``."""
    started = time.perf_counter()
    choice = device if isinstance(device, DeviceChoice) else choose_device(device)
    check_quantization(quantize, choice)
    folder = resolve_model(model_id, revision, allow_download=allow_download, progress=progress)
    if progress:
        progress("load", None, f"loading {model_id} on {choice.name}")

    from transformers import AutoModelForImageTextToText, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-tensor bars are noise; our progress callback says "loading"
    try:
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_id}: cannot load its processor ({exc})".splitlines()[0]) from None
    quant_config = _quantization_config(quantize, choice)
    kwargs: dict[str, Any] = {
        "trust_remote_code": False,
        "use_safetensors": True,
        "dtype": choice.torch_dtype(),
        "attn_implementation": _attention_implementation(choice),
    }
    if quant_config is not None:
        kwargs.update(quantization_config=quant_config, device_map={"": choice.index})
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{model_id}: cannot load the model ({exc})".splitlines()[0]) from None
    if quant_config is None:
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
    )


def open_interpreter(settings: Any, progress: Progress | None = None, allow_download: bool = False):
    """Load the model, adapter and glossary named by ``settings`` into a ready ``Interpreter``.

    With an adapter, the base model and glossary nobody chose come from the adapter's metadata
    (``adapter_defaults``), so every caller (commands, live, the app) runs an adapter the same way.
    """
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
            quantize=settings["quantize"], allow_download=allow_download, progress=progress,
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
