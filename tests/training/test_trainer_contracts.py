"""Contracts with trl and transformers that training relies on (signdesk/training/trainer_args.py, finetune.py).

Each test checks one name, or one meaning, of the installed libraries, so an upgrade that renames or
changes it fails here with a message naming the change. When one fails after a bump: adapt
trainer_args.py (or the named spot in finetune.py), then run this file and tests/training/.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
import torch
import transformers
import trl

from signdesk.hardware import DeviceChoice
from signdesk.training.config import TrainConfig
from signdesk.training.trainer_args import CHECKPOINTING_KWARGS, checkpointing_enabled, sft_config

CPU = DeviceChoice("cpu", "float32", "test")


def changed(what: str) -> str:
    return (f"trl {trl.__version__} / transformers {transformers.__version__} changed: {what}. SignDesk's training "
            "relies on it (signdesk/training/trainer_args.py); adapt it there, then run tests/training/")


def make_args(tmp_path: Path, *, evaluate: bool = True, checkpointing: bool = False, **config):
    cfg = dataclasses.replace(TrainConfig(), **config)
    try:
        return sft_config(cfg, CPU, output_dir=tmp_path / "checkpoints", max_steps=-1, evaluate=evaluate,
                          checkpointing=checkpointing, selection_metric="selection")
    except TypeError as exc:  # an unknown keyword: a field was renamed or removed
        pytest.fail(changed(f"SFTConfig refuses an argument SignDesk passes ({exc})"))


@pytest.mark.parametrize("evaluate", [True, False], ids=["training run", "benchmark"])
def test_sft_config_takes_every_argument_with_its_value(tmp_path, evaluate):
    args = make_args(tmp_path, evaluate=evaluate)
    assert isinstance(args, trl.SFTConfig) and isinstance(args, transformers.TrainingArguments)
    expected = {"max_length": None, "packing": False, "remove_unused_columns": False,
                "dataset_kwargs": {"skip_prepare_dataset": True}, "trust_remote_code": False,
                "eval_strategy": "epoch" if evaluate else "no", "save_strategy": "epoch" if evaluate else "no",
                "metric_for_best_model": "selection" if evaluate else None, "load_best_model_at_end": evaluate}
    for name, value in expected.items():
        got = getattr(args, name, "<missing>")
        assert got == value, changed(f"SFTConfig.{name} is {got!r} after passing {value!r}")


@pytest.mark.parametrize("ratio", [0.0, 0.03, 0.1, 0.5])
def test_a_float_warmup_steps_below_one_is_a_ratio_of_the_total_steps(tmp_path, ratio):
    """TrainConfig.warmup_ratio goes in as ``warmup_steps``: transformers 5 reads a float < 1 as a share."""
    import math

    args = make_args(tmp_path, warmup_ratio=ratio)
    for total in (7, 100, 1000):
        got = args.get_warmup_steps(total)
        assert got == math.ceil(total * ratio), changed(
            f"warmup_steps={ratio} gives {got} warmup steps over {total} steps, not {math.ceil(total * ratio)} "
            "(a float below 1 is no longer a ratio)")


def test_the_scheduler_warms_up_over_that_share_of_the_steps(tmp_path):
    """The same, end to end: the Trainer's own scheduler rises for exactly 10 % of 100 steps."""
    args = make_args(tmp_path, evaluate=False, warmup_ratio=0.1, lr_scheduler="linear", learning_rate=1e-3)
    trainer = transformers.Trainer(model=torch.nn.Linear(2, 2), args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=100)
    rates = []
    for _ in range(12):
        rates.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    peak = rates.index(max(rates))
    assert peak == 10 and rates[0] == 0.0 and rates[10] == pytest.approx(1e-3), changed(
        f"the learning rate peaks at step {peak} of 100 with warmup_steps=0.1, not at step 10 ({rates})")


def test_a_warmup_ratio_of_one_or_more_is_refused(tmp_path):
    from signdesk.errors import ConfigError

    with pytest.raises(ConfigError, match="warmup_ratio"):
        sft_config(dataclasses.replace(TrainConfig(), warmup_ratio=1.0), CPU, output_dir=tmp_path, max_steps=-1,
                   evaluate=False, checkpointing=False, selection_metric="selection")


@pytest.mark.parametrize("on", [True, False])
def test_activation_checkpointing_is_the_gradient_checkpointing_setting(tmp_path, on):
    args = make_args(tmp_path, checkpointing=on)
    assert checkpointing_enabled(args) is on
    assert args.activation_checkpointing is on, changed("SFTConfig.activation_checkpointing is not kept as given")
    assert args.activation_checkpointing_kwargs == (CHECKPOINTING_KWARGS if on else None)
    # trl reads the deprecated names; transformers mirrors them until v6
    assert getattr(args, "gradient_checkpointing", on) is on, changed(
        "gradient_checkpointing no longer mirrors activation_checkpointing (trl reads the old name)")
    assert getattr(args, "gradient_checkpointing_kwargs", args.activation_checkpointing_kwargs) == \
        args.activation_checkpointing_kwargs, changed("gradient_checkpointing_kwargs no longer mirrors the new name")


@pytest.fixture(scope="module")
def tiny_lm():
    config = transformers.Qwen2Config(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                      num_key_value_heads=1, intermediate_size=32, max_position_embeddings=64)
    return config


@pytest.mark.parametrize("on", [True, False])
def test_training_turns_activation_checkpointing_on_in_the_model_as_set(tmp_path, tiny_lm, on):
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(tiny_lm)
    args = dataclasses.replace(make_args(tmp_path, evaluate=False, checkpointing=on), max_steps=1,
                               per_device_train_batch_size=2, logging_steps=1)
    ids = torch.arange(8).reshape(2, 4)
    data = [{"input_ids": row, "labels": row} for row in ids]
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data,
                                   data_collator=lambda rows: {k: torch.stack([r[k] for r in rows]) for k in rows[0]})
    trainer.train()
    assert model.is_activation_checkpointing is on, changed(
        f"training with activation_checkpointing={on} left the model's checkpointing "
        f"{'off' if on else 'on'}")


def test_the_trainer_api_finetune_uses_is_there():
    """Names finetune.py uses around the arguments: SFTTrainer's keywords, the evaluation hook it
    overrides, the state and callbacks it reads, peft's QLoRA preparation."""
    import peft
    from transformers.trainer_callback import PrinterCallback, TrainerState
    from transformers.trainer_utils import EvalLoopOutput

    params = inspect.signature(trl.SFTTrainer.__init__).parameters
    for name in ("model", "args", "data_collator", "train_dataset", "eval_dataset", "processing_class",
                 "peft_config", "callbacks"):
        assert name in params, changed(f"SFTTrainer() takes no `{name}`")
    hook = list(inspect.signature(trl.SFTTrainer.evaluation_loop).parameters)
    assert hook == ["self", "dataloader", "description", "prediction_loss_only", "ignore_keys",
                    "metric_key_prefix"], changed(f"Trainer.evaluation_loop (SignTrainer overrides it) takes {hook}")
    assert set(EvalLoopOutput._fields) >= {"predictions", "label_ids", "metrics", "num_samples"}, changed(
        f"EvalLoopOutput has fields {EvalLoopOutput._fields}")
    assert "best_global_step" in {f.name for f in dataclasses.fields(TrainerState)}, changed(
        "TrainerState.best_global_step is gone (the run's best step)")
    assert issubclass(PrinterCallback, transformers.TrainerCallback)
    assert "early_stopping_patience" in inspect.signature(transformers.EarlyStoppingCallback).parameters
    kbit = inspect.signature(peft.prepare_model_for_kbit_training).parameters
    for name in ("use_gradient_checkpointing", "gradient_checkpointing_kwargs"):
        assert name in kbit, changed(f"peft {peft.__version__}: prepare_model_for_kbit_training takes no `{name}`")
