"""Progress and control for a training run, written by a trainer callback (as LLaMA-Factory does).

``RunLog`` is the run's output: JSON-lines events (``--events``, the GUI's contract), a text log
(``train.log`` in the adapter folder) and short lines on stderr. ``JobCallback`` feeds it from the
trainer (step, epoch, loss, learning rate, samples/s, ETA, eval metrics), polls the stop file after
every optimizer step and turns a stop request into a clean stop: save a checkpoint, end the loop,
and let the caller save a usable adapter. Under ``accelerate launch`` every rank polls, the ranks
agree on the answer (any rank seeing the file stops them all), and only rank 0 writes.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from signdesk.atomicio import atomic_write_json
from signdesk.jobs.events import EventWriter, StopFlag
from signdesk.training.metadata import CHECKPOINT_MARK


class RunLog:
    """Events, text log and terminal lines of one run; a no-op on ranks other than 0."""

    def __init__(self, log_file: Path | None, events: str | None, *, enabled: bool = True, echo: bool = True) -> None:
        self.enabled = enabled
        self.events = EventWriter(events if enabled else None)
        self.echo = echo and enabled
        self._handle = None
        self._handler: logging.Handler | None = None
        if enabled and log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            # Library warnings (transformers, peft, torch) land in the same file, for the GUI's log view.
            self._handler = logging.StreamHandler(self._handle)
            self._handler.setLevel(logging.WARNING)
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                                         "%Y-%m-%d %H:%M:%S"))
            for name in ("", "transformers", "peft", "trl", "accelerate"):
                logging.getLogger(name).addHandler(self._handler)
            logging.captureWarnings(True)

    def emit(self, event: str, **fields: Any) -> None:
        self.events.emit(event, **fields)

    def line(self, text: str) -> None:
        if self._handle is not None:
            self._handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
            self._handle.flush()
        if self.echo:
            print(text, file=sys.stderr, flush=True)

    def details(self, text: str) -> None:
        """Long text (a traceback) for the log file only."""
        if self._handle is not None:
            self._handle.write(text if text.endswith("\n") else text + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handler is not None:
            for name in ("", "transformers", "peft", "trl", "accelerate"):
                logging.getLogger(name).removeHandler(self._handler)
            logging.captureWarnings(False)
            self._handler = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.events.close()


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _round(value: Any, digits: int = 6) -> Any:
    return round(float(value), digits) if isinstance(value, int | float) else value


class JobCallback(TrainerCallback):
    """Events and text log from the trainer, the stop file, and the collator's epoch (for jitter)."""

    def __init__(self, run: RunLog, stop: StopFlag, *, samples_per_step: int, collator: Any = None) -> None:
        self.run = run
        self.stop = stop
        self.samples_per_step = samples_per_step
        self.collator = collator
        self.stopped = False
        self._last = time.perf_counter()
        self._step_seconds = 0.0
        self._steps_timed = 0
        self._eval_seconds: float | None = None
        self._eval_started: float | None = None

    # ----------------------------------------------------------------------------- timing
    def _mark(self) -> None:
        self._last = time.perf_counter()

    def seconds_per_step(self) -> float | None:
        return self._step_seconds / self._steps_timed if self._steps_timed else None

    def _eta(self, args: Any, state: Any) -> float | None:
        per_step = self.seconds_per_step()
        if per_step is None or not state.max_steps:
            return None
        remaining = max(state.max_steps - state.global_step, 0)
        eta = remaining * per_step
        if self._eval_seconds and args.eval_strategy != "no" and state.num_train_epochs:
            epochs_left = max(math.ceil(state.num_train_epochs - (state.epoch or 0) - 1e-9), 0)
            eta += epochs_left * self._eval_seconds
        return eta

    # ----------------------------------------------------------------------------- trainer events
    def on_train_begin(self, args, state, control, **kwargs):
        self._mark()
        self.run.emit("train_start", step=state.global_step, total_steps=state.max_steps,
                      epochs=_round(args.num_train_epochs, 3), samples_per_step=self.samples_per_step)
        verb = "resuming at" if state.global_step else "starting:"
        self.run.line(f"{verb} step {state.global_step}/{state.max_steps}, {self.samples_per_step} clips per step")

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.collator is not None:
            self.collator.epoch = math.floor((state.epoch or 0.0) + 1e-6)

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self._step_seconds += now - self._last
        self._steps_timed += 1
        self._last = now
        if self._stop_requested(args):
            control.should_training_stop = True
            control.should_save = True
            if not self.stopped:
                self.stopped = True
                self.run.emit("stopping", step=state.global_step)
                self.run.line(f"stop requested: saving at step {state.global_step} and stopping")

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.stopped:
            # The trainer ends the interrupted epoch as if it were complete; an evaluation now would make
            # the user wait and would enter the run's history (best checkpoint, early stopping), which a
            # resumed run must not see. The checkpoint is still saved.
            control.should_evaluate = False
            control.should_save = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return
        per_step = self.seconds_per_step()
        rate = self.samples_per_step / per_step if per_step else None
        eta = self._eta(args, state)
        self.run.emit(
            "step", step=state.global_step, total_steps=state.max_steps, epoch=_round(state.epoch, 4),
            loss=_round(logs.get("loss")), learning_rate=_round(logs.get("learning_rate"), 10),
            grad_norm=_round(logs.get("grad_norm")), samples_per_s=_round(rate, 3),
            eta_s=_round(eta, 1),
        )
        self.run.line(
            f"step {state.global_step}/{state.max_steps} epoch {state.epoch or 0:.2f} loss {logs['loss']:.4f} "
            f"lr {logs.get('learning_rate') or 0:.2e} {rate or 0:.1f} clips/s ETA {_duration(eta)}"
        )
        self._mark()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        self._eval_seconds = metrics.get("eval_runtime", self._eval_seconds)
        best = "" if state.best_metric is None else f" (best so far {100 * state.best_metric:.1f} %)"
        self.run.emit(
            "eval", step=state.global_step, epoch=_round(state.epoch, 4), top1=_round(metrics.get("eval_top1")),
            top5=_round(metrics.get("eval_top5")), loss=_round(metrics.get("eval_loss")),
            clips=metrics.get("eval_clips"), seconds=_round(metrics.get("eval_runtime"), 2),
        )
        self.run.line(
            f"eval at step {state.global_step} (epoch {state.epoch or 0:.2f}): val top-1 "
            f"{100 * metrics.get('eval_top1', 0):.1f} %, top-5 {100 * metrics.get('eval_top5', 0):.1f} %, "
            f"loss {metrics.get('eval_loss', float('nan')):.4f}{best}"
        )
        self._mark()

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            # Written after the trainer finished the checkpoint: --resume only trusts marked ones.
            atomic_write_json(folder / CHECKPOINT_MARK, {"step": state.global_step, "epoch": state.epoch,
                                                         "time": round(time.time(), 3)})
            self.run.emit("checkpoint", step=state.global_step, path=str(folder))
        self._mark()

    # ----------------------------------------------------------------------------- stop file
    def _stop_requested(self, args: Any) -> bool:
        wanted = self.stop.is_set()
        try:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
                import torch

                flag = torch.tensor([1 if wanted else 0], device=args.device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                wanted = bool(flag.item())
        except (ImportError, RuntimeError):
            pass
        return wanted


def latest_complete_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint that was completely written (marked by ``JobCallback.on_save``)."""
    if not folder.is_dir():
        return None
    found = []
    for path in folder.glob("checkpoint-*"):
        mark = path / CHECKPOINT_MARK
        if path.is_dir() and mark.is_file() and (path / "trainer_state.json").is_file():
            try:
                found.append((int(json.loads(mark.read_text(encoding="utf-8"))["step"]), path))
            except (ValueError, KeyError, OSError):
                continue
    return max(found)[1] if found else None
