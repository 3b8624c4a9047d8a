"""A stop file stops training cleanly; --resume then ends exactly where an uninterrupted run ends.

On one machine the resumed run is bit-identical to the uninterrupted one (step, optimizer, scheduler,
RNG, data order and jitter restored); the tolerances only leave room for other CPUs' arithmetic.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from signdesk.cli import main
from signdesk.engine.adapters import METADATA_FILE

pytestmark = pytest.mark.slow

STOP_AT = 6  # of 20 steps (5 epochs x 4): inside epoch 2, between its evaluations
TOTAL = 20


def train_args(dataset, model, out, config):
    return ["train", "--dataset", str(dataset), "--out", str(out), "--model", str(model), "--device", "cpu",
            "--config", str(config), "--quiet"]


def lora_weights(folder):
    from safetensors.numpy import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_stop_then_resume_ends_like_an_uninterrupted_run(tmp_path, tiny_model_dir, small_dataset, resume_config):
    config = tmp_path / "train.yaml"
    config.write_text(resume_config)

    # 1. the reference: one uninterrupted run
    reference = tmp_path / "reference"
    assert main(train_args(small_dataset, tiny_model_dir, reference, config)) == 0

    # 2. the same run as the GUI starts it: a child process, events on stdout, a stop file
    stopped, stop_file = tmp_path / "stopped", tmp_path / "stop"
    child = subprocess.Popen(
        [sys.executable, "-m", "signdesk", *train_args(small_dataset, tiny_model_dir, stopped, config),
         "--events", "-", "--stop-file", str(stop_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    events = []
    for line in child.stdout:  # blocking reads of the child's events: no sleeping, no polling
        if not line.startswith("{"):
            continue
        events.append(json.loads(line))
        if events[-1]["event"] == "step" and events[-1]["step"] >= STOP_AT and not stop_file.exists():
            stop_file.touch()
    err = child.stderr.read()
    assert child.wait() == 3, err  # stopped, not finished or failed
    kinds = [e["event"] for e in events]
    assert "stopping" in kinds and kinds[-1] == "stopped" and events[-1]["exit_code"] == 3
    stop_step = events[-1]["metrics"]["global_step"]
    assert STOP_AT <= stop_step < TOTAL, "the run must stop before its end for this test to mean anything"
    assert (stopped / "checkpoints" / f"checkpoint-{stop_step}" / "signdesk-complete.json").is_file()
    meta = json.loads((stopped / METADATA_FILE).read_text())
    assert meta["metrics"]["stopped"] is True and meta["metrics"]["global_step"] == stop_step

    # the stopped run's adapter is usable: the engine loads it and interprets a clip with it
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.loader import load_model
    from signdesk.engine.prompts import PromptSpec
    from signdesk.training.dataset import load_dataset

    row = load_dataset(small_dataset).splits["test"][0]
    interpreter = Interpreter(load_model(str(tiny_model_dir), device="cpu"), PromptSpec(**meta["prompt"]),
                              num_frames=meta["frames"], glossary=meta["glossary"])
    interpreter.set_adapter(stopped)
    assert interpreter.interpret_video(row.video, row.frame_start, row.frame_end).text in meta["glossary"]

    # 3. resume: it continues at the stop step and ends where the reference ended
    resume_events = tmp_path / "resume.jsonl"
    assert main([*train_args(small_dataset, tiny_model_dir, stopped, config), "--resume",
                 "--events", str(resume_events)]) == 0
    resumed_events = [json.loads(line) for line in resume_events.read_text().splitlines()]
    assert resumed_events[0]["resume_from"].endswith(f"checkpoint-{stop_step}")
    assert next(e for e in resumed_events if e["event"] == "train_start")["step"] == stop_step
    first_step = next(e for e in resumed_events if e["event"] == "step")
    assert first_step["step"] == stop_step + 1

    expected = json.loads((reference / METADATA_FILE).read_text())["metrics"]
    got = json.loads((stopped / METADATA_FILE).read_text())["metrics"]
    assert got["global_step"] == expected["global_step"] == TOTAL and got["stopped"] is False
    assert got["val_top1"] == expected["val_top1"] and got["best_step"] == expected["best_step"]
    assert got["val_loss"] == pytest.approx(expected["val_loss"], abs=1e-5)
    assert got["train_loss"] == pytest.approx(expected["train_loss"], abs=1e-5)
    for a, b in zip(got["evals"], expected["evals"], strict=True):  # every epoch's evaluation, old and new
        assert a["step"] == b["step"] and a["eval_top1"] == b["eval_top1"]
        assert a["eval_loss"] == pytest.approx(b["eval_loss"], abs=1e-5)
    want, have = lora_weights(reference), lora_weights(stopped)
    assert set(want) == set(have)
    for name in want:
        assert abs(want[name] - have[name]).max() <= 1e-5 * max(1.0, abs(want[name]).max()), name
