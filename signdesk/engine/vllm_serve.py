"""The ``vllm serve`` command for the configured model and adapters, and which adapters vLLM can serve.

vLLM serves LoRA on the language model of the ``-hf`` InternVL only: an adapter with weights on the vision
tower or the projector, or with ``modules_to_save`` (whole replaced modules), would be refused or silently
served without those weights, i.e. not the adapter that was trained. ``check_servable`` refuses it here,
with the reason. SignDesk's own training targets the language model only (``lora_targets``).
"""

from __future__ import annotations

import json
import math
import shlex
import struct
from pathlib import Path
from typing import Any

from signdesk.engine.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS, check_adapter_folder, read_metadata
from signdesk.errors import ModelError

#: module names of InternVL's vision side (transformers' -hf layout and the original one)
VISION_PARTS = ("vision_tower", "multi_modal_projector", "vision_model", "mlp1", "visual")
#: ranks vLLM accepts for --max-lora-rank
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
#: tokens around each frame's visual tokens: "FrameN: <img>" ... "</img>\n"
FRAME_OVERHEAD_TOKENS = 8


def _weight_names(folder: Path) -> list[str]:
    """Tensor names in the adapter's safetensors file, from its JSON header (no weights are read)."""
    path = folder / ADAPTER_WEIGHTS
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(fh.read(size))
    except (OSError, ValueError, struct.error):
        raise ModelError(f"{path}: not a readable safetensors file; retrain or re-copy the adapter") from None
    return [name for name in header if name != "__metadata__"]


def check_servable(folder: str | Path) -> Path:
    """The adapter folder, or ModelError saying why vLLM cannot serve it."""
    folder = check_adapter_folder(folder)
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ModelError(f"{folder / ADAPTER_CONFIG}: unreadable adapter config; retrain or re-copy it") from None
    if config.get("modules_to_save"):
        raise ModelError(f"{folder}: vLLM cannot serve this adapter: it replaces whole modules (modules_to_save "
                         f"{config['modules_to_save']}); retrain it with LoRA on the language model only")
    vision = sorted({part for name in _weight_names(folder) for part in VISION_PARTS if f"{part}." in name})
    targets = config.get("target_modules")
    if not vision and isinstance(targets, str):
        vision = [part for part in VISION_PARTS if part in targets and "(?!" not in targets]
    if vision:
        raise ModelError(f"{folder}: vLLM cannot serve this adapter: it has LoRA weights on the {', '.join(vision)} "
                         "(vLLM serves language-model LoRA only for InternVL); retrain it with the default targets")
    return folder


def lora_rank(folder: Path) -> int:
    config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    ranks = [int(config.get("r") or 8), *(int(v) for v in (config.get("rank_pattern") or {}).values())]
    return max(ranks)


def max_lora_rank(ranks: list[int]) -> int:
    """The smallest rank vLLM accepts for --max-lora-rank that holds every adapter's rank."""
    need = max(ranks, default=8)
    for value in VLLM_LORA_RANKS:
        if value >= need:
            return value
    raise ModelError(f"an adapter has LoRA rank {need}; vLLM serves ranks up to {VLLM_LORA_RANKS[-1]}")


def prompt_tokens(processor: Any, prompt: Any, frames: int) -> int:
    """Tokens of the prompt with ``frames`` images at the native size, as the server's processor counts them."""
    import numpy as np

    from signdesk.engine.profiles import PROFILES, budget
    from signdesk.engine.prompts import build_messages

    native = budget(PROFILES["quality"], processor, None)
    messages = build_messages(prompt)
    for message in messages:
        parts = []
        for part in message["content"]:
            if part.get("type") == "video":
                for i in range(1, frames + 1):
                    parts += [{"type": "text", "text": f"Frame{i}: "}, {"type": "image"}]
            else:
                parts.append(part)
        message["content"] = parts
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    width, height = native.frame_size
    try:
        images = [np.zeros((height, width, 3), np.uint8)] * frames
        return int(processor(text=text, images=images, return_tensors="np")["input_ids"].shape[1])
    except Exception:  # a processor that cannot count: the per-frame estimate
        base = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
        return base + frames * (native.tokens_per_frame + FRAME_OVERHEAD_TOKENS)


def serve_command(settings: Any, adapters: list[str | Path], *, host: str = "0.0.0.0", port: int = 8000,
                  adapter_root: str | None = None, processor: Any = None) -> dict[str, Any]:
    """The ``vllm serve`` arguments for ``settings``' model and these adapters, and the figures behind them."""
    from signdesk.engine.prompts import PromptSpec, answer_token_ids
    from signdesk.engine.server import load_client_processor, served_adapter_name, served_model_name
    from signdesk.engine.vocab import resolve_glossary

    model_id = settings["model.id"]
    processor = processor or load_client_processor(model_id, settings["model.revision"])
    frames = [int(settings["frames"]) if settings.is_explicit("frames") else 8]
    modules, ranks, names = [], [], set()
    prompts = [PromptSpec.from_settings(settings)]
    for adapter in adapters:
        folder = check_servable(adapter)
        name = served_adapter_name(folder)
        if name in names:
            raise ModelError(f"two adapters would be served as {name!r}; rename one of the folders")
        names.add(name)
        meta = read_metadata(folder)
        if isinstance(meta.get("frames"), int) and meta["frames"] > 0:
            frames.append(int(meta["frames"]))
        if isinstance(meta.get("prompt"), dict) and meta["prompt"].get("user"):
            prompts.append(PromptSpec(system=str(meta["prompt"].get("system") or ""), user=str(meta["prompt"]["user"])))
        ranks.append(lora_rank(folder))
        path = f"{adapter_root.rstrip('/')}/{folder.name}" if adapter_root else str(folder.resolve())
        modules.append(f"{name}={path}")
    images = max(frames)
    glossary = resolve_glossary(settings["glossary"]) or []
    answer = max([settings["generation.max_new_tokens"],
                  *(len(answer_token_ids(processor.tokenizer, w)) + 2 for w in glossary)])
    prompt_len = max(prompt_tokens(processor, p, images) for p in prompts)
    max_len = int(math.ceil((prompt_len + answer + 64) / 256) * 256)
    served = served_model_name(model_id)
    args = ["vllm", "serve", model_id]
    if settings["model.revision"] != "main":
        args += ["--revision", settings["model.revision"]]
    args += ["--served-model-name", served, "--host", host, "--port", str(port),
             "--max-model-len", str(max_len), "--limit-mm-per-prompt", json.dumps({"image": images}),
             "--logprobs-mode", "raw_logprobs"]
    if modules:
        args += ["--enable-lora", "--max-lora-rank", str(max_lora_rank(ranks)), "--max-loras", str(len(modules)),
                 "--lora-modules", *modules]
    args += ["--api-key", "$VLLM_API_KEY"]
    return {"args": args, "served_model": served, "adapters": sorted(names), "images_per_prompt": images,
            "prompt_tokens": prompt_len, "max_model_len": max_len, "max_lora_rank": max_lora_rank(ranks) if ranks
            else None}


def format_command(args: list[str]) -> str:
    """A shell line; ``$VLLM_API_KEY`` stays a variable (the key is never printed)."""
    quoted = [('"$VLLM_API_KEY"' if a == "$VLLM_API_KEY" else shlex.quote(a)) for a in args]
    lines, current = [], quoted[0]
    for word in quoted[1:]:
        if word.startswith("--"):
            lines.append(current)
            current = "  " + word
        else:
            current += " " + word
    lines.append(current)
    return " \\\n".join(lines)
