"""``signdesk train``: LoRA (or QLoRA) fine-tuning of InternVL3 with TRL's SFTTrainer.

The run, in order: check the dataset (before any model is loaded), load the base model with the
engine's loader, wrap it in PEFT LoRA on the language model's attention and MLP projections, train
with SFTTrainer on batches from ``SignCollator``, evaluate on val each epoch in vocab mode (top-1 over
the glossary, exactly as the live view scores), keep the best checkpoint, stop early when val stops
improving, and save the adapter with its metadata and model card. A stop file ends the run cleanly
(checkpoint + usable adapter, exit 3); ``--resume`` continues from the last complete checkpoint with
the step, optimizer, scheduler, RNG and data order restored.

The same command runs under ``accelerate launch`` on several GPUs: the Trainer picks up the
distributed environment, each rank loads the model onto its own GPU, and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from trl import SFTTrainer

from signdesk import __version__
from signdesk.atomicio import atomic_write_json
from signdesk.engine.adapters import ADAPTER_FILES
from signdesk.engine.profiles import LEGACY, apply_profile, resolve_profile
from signdesk.engine.prompts import PromptSpec, answer_token_ids
from signdesk.errors import ConfigError, DeviceError, SignDeskError
from signdesk.hardware import DeviceChoice, choose_device
from signdesk.jobs.events import EXIT_FAILED, EXIT_FINISHED, EXIT_STOPPED, EXIT_USAGE, StopFlag
from signdesk.mysigns.training import shown_dataset_path
from signdesk.training.callbacks import JobCallback, RunLog, latest_complete_checkpoint
from signdesk.training.collator import SignCollator
from signdesk.training.config import CONFIG_FILE, TrainConfig, from_dict, load_config, settings_file
from signdesk.training.dataset import SignDataset, load_dataset
from signdesk.training.evaluate import score_rows, summarize
from signdesk.training.metadata import build_metadata, save_adapter
from signdesk.training.trainer_args import sft_config

CHECKPOINTS = "checkpoints"
LOG_FILE = "train.log"
SELECTION_METRIC = "selection"  # val top-1, ties broken by the lower val loss


@dataclass
class TrainJob:
    """Everything that defines a run; saved as ``train_config.json`` and reused by ``--resume``."""

    dataset: Path
    out: Path
    config: TrainConfig
    model_id: str
    revision: str
    device: str
    frames: int | None  # None until the profile is resolved on the chosen device: then the profile's own
    prompt: PromptSpec
    dataset_hash: str = ""
    settings: str = ""  # where the settings came from: the --config file, the dataset's train.yaml or the defaults
    profile: str = "quality"  # visual budget; "auto" is resolved on the training device before the run starts

    def resolve_profile(self, device: str) -> None:
        """Make ``profile`` concrete for ``device`` and ``frames`` a number (the profile's unless chosen)."""
        spec = resolve_profile(self.profile, device)
        self.profile, self.frames = spec.name, int(self.frames or spec.frames)

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "model": {"id": self.model_id, "revision": self.revision},
            "device": self.device,
            "frames": self.frames,
            "profile": self.profile,
            "prompt": {"system": self.prompt.system, "user": self.prompt.user},
            "dataset": {"path": shown_dataset_path(self.dataset), "content_hash": self.dataset_hash},
            "settings": self.settings,
            "signdesk_version": __version__,
        }


# ------------------------------------------------------------------------------------------- setup
def _dist() -> tuple[int, int, int]:
    """(rank, local rank, world size) from the environment ``accelerate launch``/``torchrun`` sets."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)))


def choose_training_device(requested: str) -> DeviceChoice:
    choice = choose_device(requested)
    if choice.name == "directml":
        raise DeviceError("training on DirectML is not supported (no autograd support in torch-directml); "
                          "use --device cpu, or a CUDA GPU")
    return choice  # under a distributed launch, choose_device binds CUDA to this process's LOCAL_RANK


def _overrides(args: Any) -> dict[str, Any]:
    return {
        "epochs": getattr(args, "epochs", None), "learning_rate": getattr(args, "lr", None),
        "max_steps": getattr(args, "max_steps", None), "frames": getattr(args, "frames", None),
        "batch_size": getattr(args, "batch_size", None), "quantize": getattr(args, "quantize", None),
    }


def _model_ref(model: str | None) -> str | None:
    """A local model folder as an absolute path (so the adapter's metadata works from anywhere); ids as given."""
    if model and Path(model).expanduser().is_dir():
        return str(Path(model).expanduser().resolve())
    return model


def plan_job(args: Any) -> tuple[TrainJob, Path | None]:
    """The run to do and the checkpoint to resume from; every problem found here is a user error."""
    from signdesk.config import load_settings

    out = Path(args.out).expanduser().absolute()
    dataset = Path(args.dataset).expanduser().absolute()
    model_arg = _model_ref(args.model)
    checkpoints = out / CHECKPOINTS
    spec_file = out / CONFIG_FILE
    flags = {k: v for k, v in _overrides(args).items() if v is not None}
    if args.resume:
        if not spec_file.is_file():
            raise ConfigError(f"{out}: nothing to resume (no {CONFIG_FILE}); start a new run without --resume")
        checkpoint = latest_complete_checkpoint(checkpoints)
        if checkpoint is None:
            raise ConfigError(f"{out}: no complete checkpoint to resume from; start a new run without --resume")
        try:
            saved = json.loads(spec_file.read_text(encoding="utf-8"))
            config = from_dict(saved["config"], str(spec_file))
            model, prompt = saved["model"], PromptSpec(**saved["prompt"])
            frames, dataset_hash = int(saved["frames"]), str(saved["dataset"]["content_hash"])
            profile = str(saved.get("profile") or LEGACY)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{spec_file}: unreadable ({type(exc).__name__}); train into a new folder") from None
        # without --config, the saved settings are the base (never the dataset's train.yaml or the defaults)
        wanted = (load_config(args.config) if args.config else config).with_overrides(flags)
        if wanted != config:
            changed = [k for k, v in config.to_dict().items() if wanted.to_dict()[k] != v]
            raise ConfigError(f"--resume continues with the settings saved in {spec_file}; these differ: "
                              f"{', '.join(changed)} (drop the flags, or train into a new folder)")
        if model_arg and model_arg != model["id"]:
            raise ConfigError(f"--resume: this run trains {model['id']}, not {args.model}")
        if getattr(args, "profile", None) and args.profile not in (profile, "auto"):
            raise ConfigError(f"--resume continues with the profile saved in {spec_file} ({profile}), not "
                              f"{args.profile} (drop the flag, or train into a new folder)")
        job = TrainJob(
            dataset=dataset, out=out, config=config, model_id=model["id"],
            revision=model["revision"], device=args.device or saved.get("device", "auto"), frames=frames,
            prompt=prompt, dataset_hash=dataset_hash, settings=f"{spec_file} (saved by the run)", profile=profile,
        )
        return job, checkpoint
    leftovers = [name for name in (CHECKPOINTS, *ADAPTER_FILES) if (out / name).exists()]
    if leftovers:
        raise ConfigError(f"{out} already holds a training run ({', '.join(leftovers)}); continue it with "
                          "--resume, or choose another --out folder")
    path, source = settings_file(args.config, dataset)
    config = load_config(path).with_overrides(flags)
    overrides = {"model.id": model_arg, "model.revision": getattr(args, "revision", None), "device": args.device,
                 "profile": getattr(args, "profile", None)}
    settings = load_settings({k: v for k, v in overrides.items() if v is not None})
    job = TrainJob(
        dataset=dataset, out=out, config=config, model_id=_model_ref(settings["model.id"]) or settings["model.id"],
        revision=settings["model.revision"], device=settings["device"],
        # frames: the config's, else a chosen setting, else (None) the profile's, once the device is known
        frames=config.frames or (settings["frames"] if settings.is_explicit("frames") else None),
        prompt=PromptSpec.from_settings(settings), profile=settings["profile"],
        settings=source + (f", with {', '.join(sorted(flags))} from the command line" if flags else ""),
    )
    return job, None


# InternVL (transformers) module names beyond the language model that ``lora.vision`` adds
PROJECTOR_TARGETS = r"multi_modal_projector\.(linear_1|linear_2)"
TOWER_TARGETS = r"vision_tower.*\.(q_proj|k_proj|v_proj|projection_layer|fc1|fc2)"


def lora_targets(targets: list[str] | str, vision: str = "none") -> str:
    """A PEFT regular expression: short names on the language model only, plus the projector and vision
    tower when ``vision`` asks for them (a string is used as it is)."""
    if isinstance(targets, str):
        return targets
    names = "|".join(re.escape(t) for t in targets)
    language = rf"(?!.*vision_tower).*language_model.*\.({names})"
    if vision == "none":
        return language
    extra = [PROJECTOR_TARGETS] + ([TOWER_TARGETS] if vision == "tower" else [])
    return rf"(?:{language}|.*(?:{'|'.join(extra)}))"


def _examples(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"index": i, "video": r.video, "gloss": r.gloss, "frame_start": r.frame_start,
             "frame_end": r.frame_end, "frames": r.frames} for i, r in enumerate(rows)]


# ------------------------------------------------------------------------------------------- trainer
class VocabEvaluator:
    """Val top-1/top-5 and loss through the engine's glossary scoring, sharded over the ranks."""

    def __init__(self, loaded: Any, prompt: PromptSpec, frames: int, glosses: list[str], rows: list[Any],
                 profile: str = "quality") -> None:
        self.loaded = loaded
        self.prompt = prompt
        self.frames = frames
        self.profile = profile
        self.glosses = glosses
        self.rows = rows
        self.lengths = [len(answer_token_ids(loaded.tokenizer, g)) for g in glosses]
        self._interpreter = None

    def run(self, model: Any, accelerator: Any) -> dict[str, float]:
        import torch

        from signdesk.engine.interpreter import Interpreter

        if self._interpreter is None or self._interpreter.loaded.model is not model:
            loaded = dataclasses.replace(self.loaded, model=model)
            self._interpreter = Interpreter(loaded, self.prompt, num_frames=self.frames, glossary=self.glosses,
                                            top_k=min(5, len(self.glosses)), profile=self.profile)
        mine = self.rows[accelerator.process_index :: accelerator.num_processes]
        was_training = model.training
        model.eval()
        try:
            scores = score_rows(self._interpreter, mine) if mine else np.zeros((0, len(self.glosses)))
        finally:
            model.train(was_training)
        sums = torch.zeros(4, dtype=torch.float64, device=accelerator.device)
        if len(mine):
            labels = [r.label for r in mine]
            summary = summarize(scores, labels, self.glosses, answer_lengths=self.lengths)
            n = summary["clips"]
            sums += torch.tensor([summary["top1"] * n, summary["top5"] * n, summary["loss"] * n, n],
                                 dtype=torch.float64, device=accelerator.device)
        sums = accelerator.reduce(sums, reduction="sum") if accelerator.num_processes > 1 else sums
        top1, top5, loss, n = (float(x) for x in sums.tolist())
        n = max(n, 1.0)
        loss = loss / n
        return {"top1": top1 / n, "top5": top5 / n, "loss": loss, "clips": int(n),
                SELECTION_METRIC: top1 / n - 1e-6 * min(loss, 10.0)}


class SignTrainer(SFTTrainer):
    """SFTTrainer whose evaluation is vocab-mode glossary scoring instead of a teacher-forced loss pass."""

    vocab_eval: VocabEvaluator | None = None

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        from transformers.trainer_utils import EvalLoopOutput

        assert self.vocab_eval is not None
        metrics = self.vocab_eval.run(self.model, self.accelerator)
        return EvalLoopOutput(predictions=None, label_ids=None, num_samples=metrics["clips"],
                              metrics={f"{metric_key_prefix}_{k}": v for k, v in metrics.items()})


def build_trainer(job: TrainJob, data: SignDataset, loaded: Any, run: RunLog, stop: StopFlag, *,
                  bench_steps: int = 0) -> tuple[SignTrainer, JobCallback]:
    """SFTTrainer + LoRA over the loaded model; ``bench_steps`` > 0 trains that many steps, no eval or saving."""
    import datasets
    from peft import LoraConfig, prepare_model_for_kbit_training
    from transformers import EarlyStoppingCallback

    cfg = job.config
    device: DeviceChoice = loaded.device
    on_gpu = device.name in ("cuda", "mps")
    checkpointing = on_gpu if cfg.gradient_checkpointing == "auto" else bool(cfg.gradient_checkpointing)
    model = loaded.model
    if cfg.quantize == "4bit":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    lora = LoraConfig(r=cfg.lora.rank, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=lora_targets(cfg.lora.target_modules, cfg.lora.vision), bias="none",
                      task_type="CAUSAL_LM")
    _, _, world = _dist()
    evaluate = bench_steps == 0
    args = sft_config(cfg, device, output_dir=job.out / CHECKPOINTS, max_steps=bench_steps or cfg.max_steps or -1,
                      evaluate=evaluate, checkpointing=checkpointing, selection_metric=SELECTION_METRIC)
    pixel_dtype = device.torch_dtype()
    job.resolve_profile(device.name)
    spec = resolve_profile(job.profile, device.name)
    budget = apply_profile(loaded.processor, spec, loaded.model.config)  # the live interpreter's frame size, tokens
    collator = SignCollator(loaded.processor, job.prompt, job.frames, budget.frame_size, jitter=cfg.jitter,
                            seed=cfg.seed, pixel_dtype=pixel_dtype, profile=spec, model_config=loaded.model.config)
    train_rows, val_rows = data.splits["train"], data.splits["val"]
    if cfg.max_eval_clips and len(val_rows) > cfg.max_eval_clips:  # an even spread, the same every epoch
        keep = np.linspace(0, len(val_rows) - 1, cfg.max_eval_clips).round().astype(int)
        val_rows = [val_rows[i] for i in sorted(set(keep.tolist()))]
    job_callback = JobCallback(run, stop, samples_per_step=cfg.batch_size * cfg.grad_accum * world, collator=collator)
    callbacks: list[Any] = [job_callback]
    if evaluate and cfg.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    try:
        trainer = SignTrainer(
            model=model, args=args, data_collator=collator,
            train_dataset=datasets.Dataset.from_list(_examples(train_rows)),
            eval_dataset=datasets.Dataset.from_list(_examples(val_rows)) if evaluate else None,
            processing_class=loaded.processor, peft_config=lora, callbacks=callbacks,
        )
    except ValueError as exc:
        if "target modules" in str(exc).lower() or "target_modules" in str(exc):
            raise ConfigError(f"lora.target_modules {cfg.lora.target_modules!r} match no module of "
                              f"{job.model_id} ({exc})".splitlines()[0]) from None
        raise
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # progress goes through JobCallback, not dicts on stdout
    trainer.vocab_eval = VocabEvaluator(loaded, job.prompt, job.frames, data.glosses, val_rows, profile=job.profile)
    return trainer, job_callback


# ------------------------------------------------------------------------------------------- the run
def _dataset_info(data: SignDataset) -> dict[str, Any]:
    glossary = data.meta.get("glossary") or {}
    return {
        "name": glossary.get("name", data.folder.name) if isinstance(glossary, dict) else str(glossary),
        "path": shown_dataset_path(data.folder),  # my signs: a label, never the takes folder
        "content_hash": data.content_hash,
        "split_method": (data.meta.get("split") or {}).get("method"),
        "train_clips": len(data.splits["train"]),
        "val_clips": len(data.splits["val"]),
        "wlasl_subset": data.wlasl_subset(),
    }


def _final_metrics(trainer: SignTrainer, stopped: bool) -> dict[str, Any]:
    state = trainer.state
    evals = [e for e in state.log_history if "eval_top1" in e]
    best = next((e for e in evals if e.get("step") == state.best_global_step), evals[-1] if evals else None)
    losses = [e["loss"] for e in state.log_history if "loss" in e]
    return {
        "val_top1": best.get("eval_top1") if best else None,
        "val_top5": best.get("eval_top5") if best else None,
        "val_loss": best.get("eval_loss") if best else None,
        "val_clips": best.get("eval_clips") if best else None,
        "best_step": best.get("step") if best else None,
        "global_step": state.global_step,
        "epochs": round(float(state.epoch or 0.0), 4),
        "train_loss": losses[-1] if losses else None,
        "stopped": stopped,
        "evals": [{k: e.get(k) for k in ("step", "epoch", "eval_top1", "eval_top5", "eval_loss")} for e in evals],
    }


@contextlib.contextmanager
def _ctrl_c_stops(stop: StopFlag):
    """First Ctrl-C: a clean stop (like the stop file); a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def train(args: Any) -> int:
    """The ``signdesk train`` handler body: exit 0 finished, 3 stopped, 1 failed; user errors raise."""
    rank, _, _ = _dist()
    main = rank == 0
    events = getattr(args, "events", None)
    stop = StopFlag(getattr(args, "stop_file", None))
    early = RunLog(None, events, enabled=main, echo=False)  # until the adapter folder is known to be ours
    try:
        job, checkpoint = plan_job(args)
        data = load_dataset(job.dataset, need=("train", "val"))
        if job.dataset_hash and job.dataset_hash != data.content_hash:
            raise ConfigError(f"--resume: {job.dataset} changed since this run started (content hash "
                              f"{data.content_hash} ≠ {job.dataset_hash}); train into a new folder")
    except SignDeskError as exc:
        early.emit("failed", error=str(exc), exit_code=EXIT_USAGE)
        raise
    finally:
        early.close()
    job.dataset_hash = data.content_hash
    job.out.mkdir(parents=True, exist_ok=True)
    run = RunLog(job.out / LOG_FILE, events, enabled=main, echo=not getattr(args, "quiet", False))
    try:
        with _ctrl_c_stops(stop), warnings.catch_warnings():
            # peft and trl still ask transformers 5 for this deprecated name; the warning is noise here
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return _train(job, checkpoint, data, run, stop, main)
    except SignDeskError as exc:
        run.emit("failed", error=str(exc), exit_code=EXIT_USAGE)
        run.line(f"error: {exc}")
        raise
    except Exception as exc:
        run.details(traceback.format_exc())
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        run.emit("failed", error=message, exit_code=EXIT_FAILED)
        run.line(f"training failed: {message}")
        print(f"signdesk: error: training failed: {message} (details in {job.out / LOG_FILE})", file=sys.stderr)
        return EXIT_FAILED
    finally:
        run.close()


def _train(job: TrainJob, checkpoint: Path | None, data: SignDataset, run: RunLog, stop: StopFlag,
           main: bool) -> int:
    from signdesk.engine.loader import load_model

    started = time.time()
    device = choose_training_device(job.device)
    job.resolve_profile(device.name)  # auto: fast on the CPU, quality on a GPU; saved, so --resume keeps it
    if main:
        atomic_write_json(job.out / CONFIG_FILE, job.to_json())
    run.emit("start", command="train", out=str(job.out), dataset=str(job.dataset), model=job.model_id,
             resume_from=str(checkpoint) if checkpoint else None, frames=job.frames,
             train_clips=len(data.splits["train"]), val_clips=len(data.splits["val"]), glosses=len(data.glosses),
             settings=job.settings)
    run.line(f"settings: {job.settings}")
    run.line(f"{'resuming' if checkpoint else 'training'} {job.model_id} on {shown_dataset_path(job.dataset)} "
             f"({len(data.splits['train'])} train / {len(data.splits['val'])} val clips, {len(data.glosses)} glosses,"
             f" {job.frames} frames, {job.profile} profile)")
    run.emit("phase", phase="loading model", device=device.name, dtype=device.dtype)
    loaded = load_model(job.model_id, job.revision, device=device, quantize=job.config.quantize)
    trainer, callback = build_trainer(job, data, loaded, run, stop)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    stopped = callback.stopped
    trainer.accelerator.wait_for_everyone()
    metrics = _final_metrics(trainer, stopped)
    if main:
        meta = build_metadata(
            model_id=job.model_id, revision=job.revision, model_config=loaded.model.config, glosses=data.glosses,
            frames=job.frames, prompt=job.prompt, dataset=_dataset_info(data), metrics=metrics,
            training=job.config.to_dict(), profile=job.profile,
            budget=apply_profile(loaded.processor, resolve_profile(job.profile, loaded.device.name),
                                 loaded.model.config),
        )
        save_adapter(trainer.model, job.out, meta)
    outcome, code = ("stopped", EXIT_STOPPED) if stopped else ("finished", EXIT_FINISHED)
    run.emit(outcome, exit_code=code, adapter=str(job.out), metrics={k: v for k, v in metrics.items() if k != "evals"},
             seconds=round(time.time() - started, 1))
    top1 = metrics["val_top1"]
    run.line(f"{outcome} at step {metrics['global_step']}: adapter saved to {job.out}"
             + (f" (best val top-1 {100 * top1:.1f} % at step {metrics['best_step']})" if top1 is not None else ""))
    return code
