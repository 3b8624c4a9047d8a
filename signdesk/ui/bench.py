"""``signdesk bench-live``: drive the real window offscreen with a 30 fps fake camera and measure it.

Scenarios (each runs for ``--seconds`` after the model is ready):

- ``tiny``: the tiny random-weight test model, motion segmentation; signs every ~1.7 s.
- ``slow``: the same model made artificially slow: every clip also burns ``--slow-ms`` of CPU in torch
  (as a big model would), so inference never pauses and competes with the GUI for the CPU.
- ``continuous``: the tiny model in continuous mode, stride 2: a window every 67 ms, inference nonstop.

Figures: frames painted per second (display fps), frames captured per second, the longest gap
between two ticks of a 5 ms GUI-thread timer (the longest stall), and for each transcript entry the
time from the clip leaving the segmenter to the word on screen beyond the model's own time, split
into waiting for the engine (latest wins) and the rest. The segmenter's hold time (how long it waits
to be sure a sign is over) is reported apart.

The benchmark runs in a clean, temporary SignDesk home: no settings file, window state or Training
tab state of the user is read (an adapter "in use" or a changed sign length would measure something
else, or nothing). A scenario that interpreted no clip fails the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from signdesk import paths
from signdesk.errors import SignDeskError
from signdesk.video.camera import ArraySource

STALL_TICK_MS = 5


def camera_frames(width: int = 640, height: int = 480, fps: float = 30.0) -> np.ndarray:
    """A loop of signs (1 s of motion) between rests (0.7 s), at camera resolution."""
    from signdesk.video.synth import motion_frames

    sign, rest = round(fps), round(0.7 * fps)
    parts = [motion_frames(m, sign, width, height, still_before=rest, seed=i)
             for i, m in enumerate(("left-right", "circle", "up-down"))]
    return np.concatenate(parts)


class SlowInterpreter:
    """Wraps an interpreter: each clip also keeps the CPU busy in torch for ``extra_ms``."""

    def __init__(self, inner: Any, extra_ms: float) -> None:
        self._inner = inner
        self.extra_ms = extra_ms

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _burn(self) -> float:
        import torch

        t0 = time.perf_counter()
        a = torch.randn(256, 256)
        while (time.perf_counter() - t0) * 1000 < self.extra_ms:
            a = torch.tanh(a @ a) * 0.5  # torch releases the GIL while it computes, like a real model
        return (time.perf_counter() - t0) * 1000

    def interpret_frames(self, frames: np.ndarray, **kwargs: Any) -> Any:
        result = self._inner.interpret_frames(frames, **kwargs)
        burned = self._burn()
        result.timings_ms["total"] = result.timings_ms.get("total", 0.0) + burned
        return result


class StallMeter:
    """The longest gap between ticks of a fast GUI-thread timer: how long the GUI could not respond."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(STALL_TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    @property
    def longest_ms(self) -> float:
        return max(self.gaps, default=0.0)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.gaps, q)) if self.gaps else 0.0


def _spin(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        _spin(0.02)
    return True


def _med(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


#: Environment that would carry the user's choices into the benchmark.
_USER_ENV = ("SIGNDESK_MODEL", "SIGNDESK_DEVICE")


@contextlib.contextmanager
def clean_home(folder: Path) -> Iterator[Path]:
    """Point SIGNDESK_HOME at an empty ``folder`` for the duration (settings, window and wizard state)."""
    saved = {name: os.environ.get(name) for name in (paths.HOME_ENV, *_USER_ENV)}
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[paths.HOME_ENV] = str(folder)
    for name in _USER_ENV:
        os.environ.pop(name, None)
    try:
        yield folder
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def resolve_model(model_id: str) -> str:
    """A hub id as the folder it is cached in (found with the user's cache, before the clean home hides it)."""
    from signdesk.engine.download import local_model_path, looks_like_path

    folder = local_model_path(model_id)
    if folder is None and looks_like_path(model_id):
        raise SignDeskError(f"{model_id}: no such model folder")
    if folder is None:
        raise SignDeskError(f"model {model_id} is not downloaded: run `signdesk model download {model_id}` first "
                            "(the benchmark never downloads)")
    return str(folder)


def measured_nothing(results: list[dict[str, Any]]) -> str | None:
    """One line naming the scenarios that interpreted no clip (their figures would be NaN), or None."""
    empty = [r["scenario"] for r in results if not r["clips_interpreted"]]
    if not empty:
        return None
    return (f"signdesk: error: bench live measured nothing: scenario {', '.join(empty)} interpreted no clip "
            "in its run (no sign found, or every clip failed); try a longer --seconds or look at the log with -v")


def run_scenario(name: str, model_id: str, frames: np.ndarray, *, fps: float, seconds: float,
                 slow_ms: float, state_dir: Path) -> dict[str, Any]:
    window = _open_window(name, model_id, frames, fps=fps, slow_ms=slow_ms, state_dir=state_dir)
    try:
        # a failed load ends the wait at once: say why instead of waiting out the timeout
        if not _wait_until(lambda: window.banner.state in {"ready", "failed", "missing"}, 300) \
                or window.banner.state != "ready":
            raise SignDeskError(f"bench live, scenario {name}: the model did not load: {window.banner.label.text()}")
        _wait_until(lambda: window.live.session.state == "running", 30)
        _spin(1.0)  # warm up: first clips, caches
        return _measure(window, name, seconds)
    finally:
        window.close()


def _open_window(name: str, model_id: str, frames: np.ndarray, *, fps: float, slow_ms: float,
                 state_dir: Path) -> Any:
    """The real window with the scenario's settings and a fake camera, shown and loading its model."""
    from signdesk.config import load_settings
    from signdesk.ui.main_window import MainWindow
    from signdesk.ui.workers import default_loader

    overrides: dict[str, Any] = {"model.id": model_id}
    if name == "continuous":
        overrides.update({"live.segmentation": "continuous", "live.stride": 2})
    # the packaged defaults only: an explicit user file that does not exist (whatever SIGNDESK_HOME is)
    settings = load_settings(overrides, user_file=state_dir / "no-user-settings.yaml")

    def loader(settings, progress, allow_download):
        interp = default_loader(settings, progress, allow_download)
        return SlowInterpreter(interp, slow_ms) if name == "slow" else interp

    source = ArraySource(frames, fps=fps)
    window = MainWindow(settings, loader=loader, source_factory=lambda: source,
                        state_file=state_dir / f"window-{name}.json")
    window.resize(1200, 760)
    window.show()
    window.start()
    return window


def _measure(window: Any, name: str, seconds: float) -> dict[str, Any]:
    """Run the window for ``seconds`` and report its figures (see the module's docstring)."""
    live, view, engine = window.live, window.live.view, window.engine
    ring = live.session.ring
    meter = StallMeter()
    painted0, captured0 = view.frames_painted, ring.next_seq if ring else 0
    entries0, done0, dropped0 = len(live.latencies), engine.clips_done, engine.clips_dropped
    t0 = time.perf_counter()
    meter.start()
    _spin(seconds)
    meter.stop()
    elapsed = time.perf_counter() - t0
    ring = live.session.ring
    rows = list(live.latencies)[entries0:]
    added = [r["added_ms"] for r in rows]
    queued = [r["queued_ms"] for r in rows]
    beyond = [r["added_ms"] - r["queued_ms"] for r in rows]
    return {
        "scenario": name,
        "seconds": round(elapsed, 1),
        "display_fps": round((view.frames_painted - painted0) / elapsed, 1),
        "capture_fps": round(((ring.next_seq if ring else 0) - captured0) / elapsed, 1),
        "longest_stall_ms": round(meter.longest_ms, 1),
        "stall_p99_ms": round(meter.percentile(99), 1),
        "clips_interpreted": engine.clips_done - done0,
        "clips_dropped_latest_wins": engine.clips_dropped - dropped0,
        "entries": len(rows),
        "model_ms_median": round(_med([r["model_ms"] for r in rows]), 1),
        "added_ms_median": round(_med(added), 1),
        "added_ms_max": round(max(added, default=float("nan")), 1),
        "waiting_for_engine_ms_median": round(_med(queued), 1),
        "added_beyond_wait_ms_median": round(_med(beyond), 1),
        "added_beyond_wait_ms_max": round(max(beyond, default=float("nan")), 1),
        "segmenter_hold_ms_median": round(_med([r["detect_ms"] for r in rows]), 1),
        "gui_trip_ms_median": round(_med([r["post_ms"] for r in rows]), 1),
    }


COLUMNS = (
    ("display_fps", "display fps"), ("capture_fps", "capture fps"), ("longest_stall_ms", "longest GUI stall ms"),
    ("stall_p99_ms", "GUI stall p99 ms"), ("clips_interpreted", "clips interpreted"),
    ("clips_dropped_latest_wins", "clips dropped (latest wins)"), ("entries", "results to transcript"),
    ("model_ms_median", "model ms (median)"), ("added_ms_median", "added delay ms (median)"),
    ("added_ms_max", "added delay ms (max)"), ("waiting_for_engine_ms_median", "  of which waiting for engine"),
    ("added_beyond_wait_ms_median", "added beyond wait ms (median)"),
    ("added_beyond_wait_ms_max", "added beyond wait ms (max)"),
    ("segmenter_hold_ms_median", "segmenter hold ms (median)"), ("gui_trip_ms_median", "engine→GUI ms (median)"),
)


def format_table(results: list[dict[str, Any]]) -> str:
    header = f"{'':34}" + "".join(f"{r['scenario']:>14}" for r in results)
    lines = [header]
    for key, label in COLUMNS:
        lines.append(f"{label:34}" + "".join(f"{r[key]:>14}" for r in results))
    return "\n".join(lines)


def run_bench_live(args: Any) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from signdesk.ui.app import install_qt_messages, make_application

    install_qt_messages(bool(getattr(args, "verbose", False)))
    model_id = resolve_model(args.model) if args.model else None
    with tempfile.TemporaryDirectory(prefix="signdesk-bench-") as tmp, clean_home(Path(tmp) / "home"):
        tmp_path = Path(tmp)
        make_application()
        if not model_id:
            from signdesk.engine.testmodel import make_test_model

            model_id = str(make_test_model(tmp_path / "tiny-model"))
        frames = camera_frames(fps=args.fps)
        results = []
        for name in args.scenario or ["tiny", "slow", "continuous"]:
            result = run_scenario(name, model_id, frames, fps=args.fps, seconds=args.seconds,
                                  slow_ms=args.slow_ms, state_dir=tmp_path)
            results.append(result)
            if not args.json:
                print(f"{name}: done", flush=True)
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print(format_table(results))
            print(f"\nfake camera: {frames.shape[2]}x{frames.shape[1]} at {args.fps:g} fps; "
                  f"slow model: +{args.slow_ms:g} ms of torch CPU work per clip")
    problem = measured_nothing(results)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0
