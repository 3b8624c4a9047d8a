"""Fixtures for the window tests (pytest-qt, offscreen): thread-leak check, fake engine and cameras."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

THREAD_GRACE_S = 3.0
FPS = 25.0


@pytest.fixture(autouse=True)
def _dangling_threads(monkeypatch, no_thread_leaks):
    """Fail any test that leaves a thread running: Python threads (the shared fixture) and QThreads."""
    from PySide6.QtCore import QThread

    started: list[QThread] = []
    original_start = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(self)
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    leftover = []
    for qthread in started:
        try:
            if qthread.isRunning() and not qthread.wait(int(max(0.0, deadline - time.monotonic()) * 1000)):
                leftover.append(f"QThread {qthread.objectName() or type(qthread).__name__}")
        except RuntimeError:  # already deleted on the C++ side: it is not running
            pass
    if leftover:
        pytest.fail(f"the test left threads running: {', '.join(leftover)}")


# ------------------------------------------------------------------------------------------ fake engine


class FakeInterpreter:
    """Stands in for the engine's Interpreter (all of signdesk.engine.protocol.InterpreterProtocol):
    instant (or slow) answers from a small glossary."""

    def __init__(self, *, delay_s: float = 0.0, fail_first: int = 0, score: float = 0.8,
                 words: tuple[str, ...] = ("hello", "help", "home", "yes", "no")) -> None:
        # no model id or device: the window shows the settings' (and reloads as it would for them)
        self.loaded = SimpleNamespace(model_id="", device=SimpleNamespace(name="", dtype=""))
        self.num_frames = 8
        self.frame_size = (64, 64)
        self.profile = SimpleNamespace(name="")  # no profile named in the ready line
        self.tokens_per_frame = 0
        self.mode = "vocab"
        self.adapter = None
        self.delay_s = delay_s
        self.fail_first = fail_first
        self.score = score
        self.words = words
        self.calls = 0
        self.configured: list[dict] = []
        self.release = threading.Event()  # lets a test hold a call in progress (with delay_s=None)
        self.entered = threading.Event()

    def _result(self):
        self.calls += 1
        self.entered.set()
        if self.delay_s is None:
            self.release.wait(10)
        elif self.delay_s:
            threading.Event().wait(self.delay_s)  # the fake model's own compute time
        if self.calls <= self.fail_first:
            raise RuntimeError("simulated inference error")
        rest = (1 - self.score) / (len(self.words) - 1)
        cands = [SimpleNamespace(text=w, score=self.score if i == 0 else rest) for i, w in enumerate(self.words)]
        return SimpleNamespace(text=self.words[0], candidates=cands, timings_ms={"total": 1.0}, mode=self.mode)

    def interpret_frames(self, frames):
        assert frames.ndim == 4 and frames.shape[-1] == 3
        return self._result()

    def interpret_video(self, path, frame_start=1, frame_end=-1):
        return self._result()

    def set_adapter(self, path):
        self.adapter = path
        return path

    def configure(self, **options):
        self.configured.append(options)
        if options.get("mode"):
            self.mode = options["mode"]


@pytest.fixture
def fake_interpreter():
    return FakeInterpreter()


@pytest.fixture
def make_interpreter():
    """FakeInterpreter itself, for tests that need one with options."""
    return FakeInterpreter


def loader_for(interpreter):
    def load(settings, progress, allow_download):
        progress("load", 0.5, "loading the fake model")
        return interpreter

    return load


@pytest.fixture
def tiny_settings(tiny_model_dir):
    from signdesk.config import load_settings

    return load_settings({"model.id": str(tiny_model_dir)})


# ------------------------------------------------------------------------------------------ fake cameras


def sign_frames() -> np.ndarray:
    """idle 20, sign 30, idle 25, sign 36, idle 30 frames (at 25 fps: 5.6 s)."""
    from signdesk.video.synth import motion_frames

    a = motion_frames("left-right", 30, still_before=20, seed=1)
    b = motion_frames("circle", 36, still_before=25, still_after=30, seed=2)
    return np.concatenate([a, b])


@pytest.fixture(scope="session")
def camera_video(tmp_path_factory) -> Path:
    """The fake camera: a generated video of two signs with rests (looped by the file source)."""
    from signdesk.video.synth import write_video

    return write_video(tmp_path_factory.mktemp("camera") / "signs.mp4", sign_frames(), FPS)


# ------------------------------------------------------------------------------------------ the window


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build, show and start MainWindows; each is closed (threads joined) at teardown."""
    from signdesk.config import load_settings
    from signdesk.ui.main_window import MainWindow

    windows = []

    def make(settings=None, *, interpreter=None, start=True, **kwargs):
        settings = settings if settings is not None else load_settings()
        if interpreter is not None:
            kwargs.setdefault("loader", loader_for(interpreter))
        kwargs.setdefault("state_file", tmp_path / "window.json")
        window = MainWindow(settings, **kwargs)
        windows.append(window)
        window.show()
        if start:
            window.start()
        return window

    yield make
    for window in windows:
        window.close()
        assert window.shutdown(), "a thread did not stop when the window closed"


# ------------------------------------------------------------------------------------------ background jobs


@pytest.fixture
def runner():
    """The app's task runner (background work off the GUI thread), stopped and joined at teardown."""
    from signdesk.ui.workers import TaskRunner

    tasks = TaskRunner()
    yield tasks
    tasks.stop()
    assert tasks.join(5)


@pytest.fixture
def no_job_left_running(signdesk_home):
    """Kill any child-process job a test leaves behind (a failing test must not leak processes)."""
    from signdesk.jobs.runner import list_jobs

    yield
    for job in list_jobs():
        if job.is_alive():
            job.kill()
