"""The one door to the version-sensitive names of TRL's ``SFTConfig`` (transformers' ``TrainingArguments``).

Several of the names used here are recent, and their meaning has moved between releases:

- ``warmup_steps`` takes the warmup *ratio*: a float in [0, 1) is a share of the total steps in
  transformers 5 (``warmup_ratio`` is gone); 1 or more would be a number of steps.
- ``activation_checkpointing`` / ``activation_checkpointing_kwargs`` are transformers 5's names for
  gradient checkpointing; the old ``gradient_checkpointing*`` names remain as mirrored aliases (TRL
  still reads them) until transformers 6.
- ``max_length=None`` (no truncation: the collator builds whole clips), ``packing=False`` and
  ``dataset_kwargs={"skip_prepare_dataset": True}`` (the collator does all preprocessing) are SFTConfig's.

tests/training/test_trainer_contracts.py checks each against the installed trl and transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trl import SFTConfig

    from signdesk.hardware import DeviceChoice
    from signdesk.training.config import TrainConfig

#: Non-reentrant checkpointing: the reentrant kind needs inputs that require grad, which a frozen base model's are not.
CHECKPOINTING_KWARGS: dict[str, Any] = {"use_reentrant": False}


def sft_config(cfg: TrainConfig, device: DeviceChoice, *, output_dir: Path, max_steps: int, evaluate: bool,
               checkpointing: bool, selection_metric: str) -> SFTConfig:
    """The trainer arguments of a run: ``max_steps`` -1 trains ``cfg.epochs``; ``evaluate`` False
    (a benchmark) neither evaluates nor saves; ``selection_metric`` picks the best checkpoint."""
    from trl import SFTConfig

    from signdesk.errors import ConfigError

    if not 0 <= cfg.warmup_ratio < 1:  # at 1 or more, warmup_steps counts steps, not a share of them
        raise ConfigError(f"warmup_ratio must be at least 0 and below 1 (got {cfg.warmup_ratio})")
    return SFTConfig(
        output_dir=str(output_dir),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=cfg.grad_accum,
        num_train_epochs=cfg.epochs,
        max_steps=max_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=float(cfg.warmup_ratio),  # a float below 1: the ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        optim="adamw_torch",
        bf16=device.name == "cuda" and device.dtype == "bfloat16",
        fp16=device.name == "cuda" and device.dtype == "float16",
        use_cpu=device.name == "cpu",
        activation_checkpointing=checkpointing,  # gradient checkpointing, under its transformers 5 name
        activation_checkpointing_kwargs=dict(CHECKPOINTING_KWARGS) if checkpointing else None,
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="epoch" if evaluate else "no",
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=evaluate,
        metric_for_best_model=selection_metric if evaluate else None,
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        report_to="none",
        disable_tqdm=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=cfg.dataloader_workers,
        dataloader_pin_memory=device.name == "cuda",
        remove_unused_columns=False,
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,
        packing=False,
        ddp_find_unused_parameters=False,
    )


def checkpointing_enabled(args: Any) -> bool:
    """Whether trainer arguments turn gradient (activation) checkpointing on."""
    return bool(args.activation_checkpointing)
