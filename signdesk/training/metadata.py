"""The adapter folder: PEFT weights (safetensors), SignDesk metadata and a model card.

``signdesk.json`` records what the engine needs to use the adapter correctly and to refuse it on the
wrong base model: the base model's id, revision and shape fingerprint, the glossary, the frame count
and the prompt it was trained with, the dataset's content hash and the metrics. Files are replaced
atomically, so a crash while saving leaves the previous adapter intact rather than half of a new one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from signdesk import __version__
from signdesk.atomicio import atomic_write_json, atomic_write_text
from signdesk.engine.adapters import ADAPTER_FILES, METADATA_FILE, config_fingerprint
from signdesk.engine.prompts import PromptSpec

# The marker a checkpoint folder gets once fully written; --resume and the GUI trust only marked ones.
CHECKPOINT_MARK = "signdesk-complete.json"


def build_metadata(*, model_id: str, revision: str, model_config: Any, glosses: list[str], frames: int,
                   prompt: PromptSpec, dataset: dict[str, Any], metrics: dict[str, Any],
                   training: dict[str, Any], profile: str = "quality", budget: Any = None) -> dict[str, Any]:
    visual = {"frame_size": list(budget.frame_size), "tokens_per_frame": budget.tokens_per_frame} if budget else {}
    return {
        "base_model": {"id": model_id, "revision": revision, "fingerprint": config_fingerprint(model_config)},
        "glossary": list(glosses),
        "frames": int(frames),
        "profile": profile,  # the visual budget it was trained with, and so runs with (signdesk.engine.profiles)
        **visual,
        "prompt": {"system": prompt.system, "user": prompt.user},
        "dataset_hash": dataset.get("content_hash"),
        "dataset": dataset,
        "metrics": metrics,
        "training": training,
        "signdesk_version": __version__,
    }


def save_adapter(model: Any, folder: Path, metadata: dict[str, Any]) -> Path:
    """Write the PEFT adapter of ``model`` (a PeftModel), ``signdesk.json`` and ``README.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".adapter-", dir=folder))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        for name in ADAPTER_FILES:
            with open(staging / name, "rb+") as handle:  # flushed to disk before the rename
                os.fsync(handle.fileno())
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    atomic_write_json(folder / METADATA_FILE, metadata)
    atomic_write_text(folder / "README.md", model_card(metadata))
    return folder


def _pct(value: Any) -> str:
    return f"{100 * value:.1f} %" if isinstance(value, int | float) else "—"


def model_card(meta: dict[str, Any]) -> str:
    """A Hugging Face style model card: what the adapter is, how it was trained, how to use it."""
    base = meta["base_model"]
    training = meta.get("training", {})
    lora = training.get("lora", {})
    metrics = meta.get("metrics", {})
    dataset = meta.get("dataset", {})
    glosses = meta["glossary"]
    shown = ", ".join(glosses[:30]) + (f", … ({len(glosses)} in all)" if len(glosses) > 30 else "")
    wlasl = dataset.get("wlasl_subset")
    status = "stopped early by the user" if metrics.get("stopped") else "finished"
    lines = [
        "---",
        "library_name: peft",
        f"base_model: {base['id']}",
        "tags: [signdesk, sign-language, asl, lora, internvl]",
        "---",
        "",
        f"# SignDesk LoRA adapter for {base['id']}",
        "",
        f"Recognises {len(glosses)} isolated signs (vocab mode: SignDesk ranks the glossary's words by the",
        "model's likelihood). Trained with SignDesk's `signdesk train` (TRL SFTTrainer + PEFT LoRA).",
        "",
        "## Training",
        "",
        f"- Base model: `{base['id']}` (revision `{base.get('revision')}`, shape fingerprint `{base['fingerprint']}`)",
        f"- Dataset: {dataset.get('name', '?')} ({dataset.get('split_method', '?')} split), content hash "
        f"`{meta.get('dataset_hash')}`; {dataset.get('train_clips', '?')} training and "
        f"{dataset.get('val_clips', '?')} validation clips",
        f"- Frames per clip: {meta['frames']}, visual budget profile {meta.get('profile', 'quality')}"
        + (f" ({meta['frame_size'][0]}x{meta['frame_size'][1]}, {meta['tokens_per_frame']} tokens per frame)"
           if meta.get("frame_size") else "") + " (SignDesk uses both when interpreting with this adapter)",
        f"- LoRA: rank {lora.get('rank')}, alpha {lora.get('alpha')}, dropout {lora.get('dropout')}, "
        f"modules {lora.get('target_modules')}",
        f"- Optimisation: {training.get('epochs')} epochs, learning rate {training.get('learning_rate')} "
        f"({training.get('lr_scheduler')}), batch {training.get('batch_size')} × {training.get('grad_accum')} "
        f"accumulation, quantization {training.get('quantize')}",
        f"- Run: {status} after {metrics.get('global_step', '?')} steps",
        "",
        "## Results (validation split, vocab mode)",
        "",
        f"- top-1: {_pct(metrics.get('val_top1'))}, top-5: {_pct(metrics.get('val_top5'))}",
    ]
    if wlasl:
        lines.append(f"- Built from {wlasl.upper()} with WLASL's official split: run `signdesk evaluate` on the "
                     "test split to compare with published numbers.")
    lines += [
        "",
        "## Glossary",
        "",
        shown,
        "",
        "## Prompt",
        "",
        f"- system: {meta['prompt']['system']!r}",
        f"- user: {meta['prompt']['user']!r}",
        "",
        "## Use",
        "",
        "```sh",
        "signdesk interpret clip.mp4 --adapter ADAPTER_FOLDER   # its frames, profile, glossary and prompt",
        "signdesk evaluate --dataset DATASET --adapter ADAPTER_FOLDER",
        "```",
        "",
        "With plain PEFT:",
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForImageTextToText",
        f"base = AutoModelForImageTextToText.from_pretrained({base['id']!r})",
        "model = PeftModel.from_pretrained(base, 'ADAPTER_FOLDER')",
        "```",
        "",
        "WLASL is licensed for academic and computational use only (C-UDA); so are adapters trained on it.",
        "",
    ]
    return "\n".join(lines)
