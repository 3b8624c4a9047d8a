"""``signdesk self-test``: prove this installation (source or frozen) can start, interpret and train.

Each check runs on its own and reports one line; the exit code is 0 only when every check passed.
Nothing is downloaded: the model is the tiny random-weight InternVL built here, in a temporary folder.
It sits above the GUI (the last check opens the window), so the command is registered here, not by the engine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

Check = Callable[[Path], str]


def _check_model(tmp: Path) -> str:
    from signdesk.engine.testmodel import make_test_model

    folder = make_test_model(tmp / "tiny-model")
    return f"built a tiny InternVL offline ({sum(p.stat().st_size for p in folder.iterdir()) // 1024} KB)"


def _check_interpret(tmp: Path) -> str:
    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter
    from signdesk.video.synth import motion_frames, write_video

    glossary = tmp / "glossary.txt"
    glossary.write_text("hello\nthank you\nyes\nno\n", encoding="utf-8")
    clip = write_video(tmp / "clip.mp4", motion_frames("circle", 24, 320, 240, still_before=4, still_after=4))
    settings = load_settings({"model.id": str(tmp / "tiny-model"), "device": "cpu", "glossary": str(glossary),
                              "model.adapter": None})
    result = open_interpreter(settings).interpret_video(clip)
    words = {"hello", "thank you", "yes", "no"}
    if result.text not in words or abs(sum(c.score for c in result.candidates) - 1) > 1e-3:
        raise RuntimeError(f"unexpected interpretation {result.to_json()}")
    return f"interpreted a generated clip in {result.timings_ms['total']:.0f} ms"


def _check_training_job(tmp: Path) -> str:
    """A short fine-tuning run as a background job: the executable starts itself with ``train``."""
    from signdesk.engine.adapters import ADAPTER_WEIGHTS, METADATA_FILE
    from signdesk.jobs.runner import FINISHED, Job
    from signdesk.training.synthetic import write_synthetic_dataset

    dataset = tmp / "dataset"
    write_synthetic_dataset(dataset, signs=2, counts=(4, 2, 2), size=(64, 64), seed=0)
    adapter = tmp / "adapter"
    argv = ["train", "--dataset", str(dataset), "--out", str(adapter), "--model", str(tmp / "tiny-model"),
            "--device", "cpu", "--frames", "2", "--epochs", "1", "--batch-size", "2", "--quiet"]
    job = Job.create("train", argv, root=tmp / "jobs").start()
    if not job.wait(300):
        job.kill()
        raise RuntimeError("the training job did not finish within 300 s")
    state = job.state()
    if state.status != FINISHED:
        raise RuntimeError(f"training job {state.message}")
    steps = [e for e in job.all_events() if e.get("event") == "step"]
    if not steps or not (adapter / ADAPTER_WEIGHTS).exists() or not (adapter / METADATA_FILE).exists():
        raise RuntimeError("the training job finished without steps or without a saved adapter")
    return f"trained a LoRA adapter in a background job ({len(steps)} steps, {job.command()[0]})"


def _check_window(tmp: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from signdesk.ui.app import require_qt

    require_qt()  # without PySide6 this check fails with one line that says so
    from PySide6.QtCore import QTimer

    from signdesk.ui.app import build_window

    app, window = build_window()
    shown = window.isVisible()
    QTimer.singleShot(200, window.close)
    app.exec()
    clean = window.shutdown()
    if not shown:
        raise RuntimeError("the main window did not show")
    if not clean:
        raise RuntimeError("the main window's threads did not stop")
    return "opened the main window offscreen and closed it"


CHECKS: list[tuple[str, Check]] = [
    ("model", _check_model),
    ("interpret", _check_interpret),
    ("training", _check_training_job),
    ("window", _check_window),
]


def run_self_test(verbose: bool = False) -> int:
    failures = 0
    with tempfile.TemporaryDirectory(prefix="signdesk-self-test-") as folder:
        tmp = Path(folder)
        for name, check in CHECKS:
            started = time.perf_counter()
            try:
                detail = check(tmp)
                print(f"ok    {name:<10} {detail} ({time.perf_counter() - started:.1f} s)", flush=True)
            except Exception as exc:
                failures += 1
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                print(f"FAIL  {name:<10} {reason}", flush=True)
                if verbose:
                    traceback.print_exc()
    print("self-test passed" if not failures else f"self-test failed: {failures} of {len(CHECKS)} checks")
    return 0 if not failures else 1


def _self_test(args: argparse.Namespace) -> int:
    return run_self_test(verbose=args.verbose)


def register(subparsers: argparse._SubParsersAction) -> None:
    st = subparsers.add_parser("self-test", help="check this installation: model, interpretation, jobs, window")
    st.set_defaults(handler=_self_test)
