"""The training configuration: defaults < ``--config FILE`` (YAML or JSON) < command-line flags.

Without ``--config``, a ``train.yaml`` in the dataset folder takes the file's place: the dataset's
recommended settings (``signdesk synth-dataset`` writes one; ``signdesk data prepare`` does not, so
real datasets train with the defaults).

Every key is declared once, with its check, so a wrong key or value in a config file is refused
before a model is loaded, naming the file, the key and what is allowed. The resolved configuration is
saved beside the adapter (``train_config.json``), which is also what ``--resume`` continues with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from signdesk.errors import ConfigError
from signdesk.schema import Key, Schema, choice, int_at_least

CONFIG_FILE = "train_config.json"
DATASET_CONFIG = "train.yaml"  # a dataset's own recommended settings, used when no --config is given
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SCHEDULERS = ("cosine", "linear", "constant_with_warmup")
VISION_LORA = ("none", "projector", "tower")


@dataclass
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # Short names are applied to the language model only (never the vision tower); a string is a full
    # PEFT regular expression over module names, for anything else (e.g. the multimodal projector).
    target_modules: list[str] | str = field(default_factory=lambda: list(DEFAULT_TARGETS))
    # LoRA beyond the language model (with list targets): none; projector (the vision-language MLP);
    # tower (the projector and the vision tower's attention and MLP). The adapter stays a PEFT LoRA
    # file, but servers that load only language-model LoRA (vLLM) cannot use one trained with them.
    vision: str = "none"


@dataclass
class TrainConfig:
    frames: int | None = None  # None: the settings' ``frames``, i.e. what live use samples
    epochs: float = 3.0
    max_steps: int = 0  # > 0 overrides epochs
    batch_size: int = 4
    grad_accum: int = 4
    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    lora: LoraSettings = field(default_factory=LoraSettings)
    quantize: str = "none"  # 4bit: QLoRA (NF4, CUDA only)
    gradient_checkpointing: bool | str = "auto"  # auto: on for GPUs, off on the CPU
    jitter: float = 0.1  # training only: up to this share of a clip's range is cut at each end
    # Epochs without a better val result (higher top-1, or the same top-1 with a lower loss); 0: off.
    early_stopping_patience: int = 3
    max_eval_clips: int = 0  # 0: all of val every epoch
    save_total_limit: int = 2
    logging_steps: int = 5
    dataloader_workers: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, flat: Mapping[str, Any], source: str = "command line") -> TrainConfig:
        values = SCHEMA.flatten(self.to_dict())
        values.update(SCHEMA.validate({k: v for k, v in flat.items() if v is not None}, source))
        return _build(values)


_INT_POS = int_at_least(1)
_INT_NONNEG = int_at_least(0)
SCHEMA = Schema({
    "frames": Key(int, "an integer from 1 to 64, or null", lambda v: 1 <= v <= 64, nullable=True),
    "epochs": Key((int, float), "a number above 0", lambda v: v > 0),
    "max_steps": _INT_NONNEG,
    "batch_size": _INT_POS,
    "grad_accum": _INT_POS,
    "learning_rate": Key((int, float), "a number above 0 and below 1", lambda v: 0 < v < 1),
    "lr_scheduler": choice(*SCHEDULERS),
    "warmup_ratio": Key((int, float), "a number from 0 to 0.5", lambda v: 0 <= v <= 0.5),
    "weight_decay": Key((int, float), "a number from 0 to 1", lambda v: 0 <= v <= 1),
    "max_grad_norm": Key((int, float), "a number of 0 or more (0 = no clipping)", lambda v: v >= 0),
    "lora.rank": _INT_POS,
    "lora.alpha": _INT_POS,
    "lora.dropout": Key((int, float), "a number from 0 to 0.9", lambda v: 0 <= v <= 0.9),
    "lora.target_modules": Key(
        (list, str), "a list of module names (q_proj, ...) or one regular expression",
        lambda v: bool(v) and (isinstance(v, str) or all(isinstance(x, str) and x for x in v)),
    ),
    "lora.vision": choice(*VISION_LORA),
    "quantize": choice("none", "4bit"),
    "gradient_checkpointing": Key((bool, str), "true, false or auto", lambda v: v in (True, False, "auto")),
    "jitter": Key((int, float), "a number from 0 to 0.4", lambda v: 0 <= v <= 0.4),
    "early_stopping_patience": _INT_NONNEG,
    "max_eval_clips": _INT_NONNEG,
    "save_total_limit": _INT_POS,
    "logging_steps": _INT_POS,
    "dataloader_workers": _INT_NONNEG,
    "seed": _INT_NONNEG,
}, noun="training setting", known="known", sort_known=False, ints_as_floats=True)


def _build(flat: Mapping[str, Any]) -> TrainConfig:
    lora = {k.split(".", 1)[1]: v for k, v in flat.items() if k.startswith("lora.")}
    top = {k: v for k, v in flat.items() if not k.startswith("lora.")}
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in top.items() if k in names}, lora=LoraSettings(**lora))


def from_dict(data: Mapping[str, Any], source: str) -> TrainConfig:
    return _build({**SCHEMA.flatten(TrainConfig().to_dict()), **SCHEMA.validate(SCHEMA.flatten(data), source)})


def settings_file(config: str | Path | None, dataset: str | Path) -> tuple[Path | None, str]:
    """The settings file a run uses, and how to say so: ``--config``, else the dataset's own, else none."""
    if config is not None:
        return Path(config).expanduser(), str(config)
    own = Path(dataset).expanduser() / DATASET_CONFIG
    if own.is_file():
        return own, f"{own} (the dataset's recommended settings; --config FILE to use others)"
    return None, "the defaults (no --config, and the dataset has no train.yaml)"


def load_config(path: str | Path | None) -> TrainConfig:
    """The defaults, with a YAML or JSON file's keys on top (nested ``lora:`` or dotted ``lora.rank``)."""
    if path is None:
        return TrainConfig()
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the training config ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"{path}: not valid YAML; fix the file") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a training config is a mapping of settings to values")
    return from_dict(data, str(path))
