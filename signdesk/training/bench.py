"""``signdesk train-bench``: training throughput and peak memory, on the real training path.

It builds the same trainer ``signdesk train`` builds (collator, LoRA, SFTTrainer) over a synthetic
dataset, runs a few warm-up steps and then times optimizer steps. Throughput includes decoding and
preprocessing, as in real training. Memory: peak allocated GPU memory on CUDA, else the process's
peak resident set size (which includes Python and the libraries, reported beside it).
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WARMUP_STEPS = 2


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_train_bench(args: Any) -> dict[str, Any]:
    import torch
    from transformers import TrainerCallback

    from signdesk.engine.loader import load_model
    from signdesk.engine.prompts import PromptSpec
    from signdesk.engine.testmodel import make_test_model
    from signdesk.jobs.events import StopFlag
    from signdesk.training.callbacks import RunLog
    from signdesk.training.config import TrainConfig
    from signdesk.training.dataset import load_dataset
    from signdesk.training.finetune import TrainJob, build_trainer, choose_training_device
    from signdesk.training.synthetic import write_synthetic_dataset
    from signdesk.training.trainer_args import checkpointing_enabled

    class StepTimes(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter())

    device = choose_training_device(args.device)
    rss_start = _peak_rss_mb()
    with tempfile.TemporaryDirectory(prefix="signdesk-train-bench-") as tmp:
        folder = Path(tmp)
        if args.model:
            model_id, label = args.model, args.model
        else:
            dtype = "float32" if device.name == "cpu" or not args.like else "bfloat16"
            model_id = str(make_test_model(folder / "model", like=args.like, dtype=dtype))
            label = f"random weights shaped like {args.like}" if args.like else "tiny test model"
        per_sign = max(2, -(-args.batch_size // 4))
        write_synthetic_dataset(folder / "data", signs=4, counts=(per_sign, 1, 1), size=(96, 96))
        data = load_dataset(folder / "data")
        gc = {"auto": "auto", "on": True, "off": False}[args.gradient_checkpointing]
        config = TrainConfig(frames=args.frames, batch_size=args.batch_size, grad_accum=1, quantize=args.quantize,
                             gradient_checkpointing=gc, jitter=0.0, logging_steps=10**6, epochs=10**6)
        job = TrainJob(dataset=folder / "data", out=folder / "run", config=config, model_id=model_id,
                       revision="main", device=args.device, frames=args.frames,
                       profile=getattr(args, "profile", None) or "quality",
                       prompt=PromptSpec("You are an expert interpreter of American Sign Language (ASL).",
                                         "Which ASL sign does the person in this video make? "
                                         "Answer with the English word only."))
        loaded = load_model(model_id, device=device, quantize=args.quantize)
        rss_loaded = _peak_rss_mb()
        trainer, _ = build_trainer(job, data, loaded, RunLog(None, None, enabled=False), StopFlag(None),
                                   bench_steps=WARMUP_STEPS + args.steps)
        timer = StepTimes()
        trainer.add_callback(timer)
        cuda = device.name == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
        if cuda:
            torch.cuda.synchronize()
        timed = timer.times[WARMUP_STEPS - 1 :]
        seconds = timed[-1] - timed[0]
        steps = len(timed) - 1
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in trainer.model.parameters())
        report = {
            "model": label,
            "device": device.name,
            "dtype": device.dtype,
            "detail": device.detail or platform.processor() or platform.machine(),
            "quantize": args.quantize,
            "gradient_checkpointing": checkpointing_enabled(trainer.args),
            "frames": args.frames,
            "profile": job.profile,
            "batch_size": args.batch_size,
            "tokens_per_clip": int(trainer.data_collator([_example(data)])["input_ids"].shape[1]),
            "parameters": total,
            "trainable_parameters": trainable,
            "steps_timed": steps,
            "seconds_per_step": round(seconds / steps, 4),
            "clips_per_s": round(steps * args.batch_size / seconds, 2),
            "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
            "peak_rss_mb": _peak_rss_mb(),
            "rss_before_model_mb": rss_start,
            "rss_after_load_mb": rss_loaded,
            "threads": torch.get_num_threads(),
        }
    return report


def _example(data: Any) -> dict[str, Any]:
    row = data.splits["train"][0]
    return {"index": 0, "video": row.video, "gloss": row.gloss, "frame_start": row.frame_start,
            "frame_end": row.frame_end, "frames": row.frames}


def format_bench(report: dict[str, Any]) -> str:
    memory = (f"peak GPU memory {report['peak_gpu_memory_mb']} MB" if report["peak_gpu_memory_mb"] is not None
              else f"peak RSS {report['peak_rss_mb']} MB (after loading {report['rss_after_load_mb']} MB, "
                   f"at start {report['rss_before_model_mb']} MB)")
    return "\n".join([
        f"{report['model']} on {report['device']} ({report['dtype']}, {report['detail']}), "
        f"quantize {report['quantize']}, gradient checkpointing {'on' if report['gradient_checkpointing'] else 'off'}",
        f"{report['frames']} frames, {report['tokens_per_clip']} tokens per clip, batch {report['batch_size']}, "
        f"{report['trainable_parameters']:,} of {report['parameters']:,} parameters trainable",
        f"{report['clips_per_s']} clips/s ({report['seconds_per_step']} s per step over {report['steps_timed']} steps)",
        memory,
    ])
