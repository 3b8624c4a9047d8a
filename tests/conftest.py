"""Shared fixtures: every test runs with its own SIGNDESK_HOME, so no user folder is ever touched.

``SIGNDESK_BLOCK_QT=1`` makes PySide6 (and pytest-qt) unimportable for the whole run, as on a machine
without them: the core's tests must pass so (``tests/ui`` and tests marked ``gui`` excluded). Run it as
``SIGNDESK_BLOCK_QT=1 python -m pytest -p no:pytest-qt -m "not gui" --ignore=tests/ui``.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np  # neither numpy nor pytest imports Qt
import pytest

QT_MODULES = frozenset({"PySide6", "shiboken6", "pytestqt"})


class QtBlocker(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: importing Qt fails with the error an uninstalled package gives."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in QT_MODULES:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        return None  # everything else: the next finder


def block_qt() -> QtBlocker:
    """Install the blocker (before anything imports Qt); refuse when Qt is imported already."""
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in QT_MODULES)
    if loaded:  # pytest-qt's plugin loads before any conftest: it must be switched off
        raise RuntimeError(f"SIGNDESK_BLOCK_QT=1, but {', '.join(loaded[:3])} is imported already: "
                           "run pytest with -p no:pytest-qt")
    blocker = QtBlocker()
    sys.meta_path.insert(0, blocker)
    return blocker


# first thing: before any test module (or fixture) imports signdesk
if os.environ.get("SIGNDESK_BLOCK_QT") == "1":
    block_qt()

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub; they make their own models
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def signdesk_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("signdesk-home")
    monkeypatch.setenv("SIGNDESK_HOME", str(home))
    for var in ("SIGNDESK_MODEL", "SIGNDESK_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def without_qt(monkeypatch) -> None:
    """PySide6 unimportable for one test, as on a machine without it, even where Qt is loaded already."""
    for name in [m for m in sys.modules if m.partition(".")[0] in QT_MODULES]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [QtBlocker(), *sys.meta_path])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real WLASL files and sample clips beside the checkout; tests that need them skip without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (licensed real data is never part of the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def samples(shared_data) -> Path:
    """The 25 real ASL clips (real signers at webcams and in dictionary videos)."""
    folder = shared_data / "samples"
    if not any(folder.glob("*.mp4")):
        pytest.skip("../shared/data/samples holds no clips")
    return folder


#: Camera set-ups the held-out test streams imitate (signdesk.video.streams.CAMERAS): webcam and phone
#: sizes, 30 and 15 fps, a 15 fps sensor delivered at 30 fps, flicker and a start in the middle of a sign.
TEST_CAMERAS = ("webcam-640x480-30fps", "lowlight-640x480-15in30fps", "phone-360x640-30fps-midsign",
                "webcam-320x240-15fps")


@pytest.fixture(scope="session")
def held_out_streams(samples, tmp_path_factory):
    """Streams of real signs with rests, built from the clips the segmenter was not tuned on."""
    from signdesk.video.streams import build_stream, stream_plan

    out = tmp_path_factory.mktemp("held-out-streams")
    return [build_stream(clips, out / f"{name}.mp4", camera)
            for name, clips, camera in stream_plan(samples, held_out=True, cameras=TEST_CAMERAS)]


@pytest.fixture(scope="session")
def short_real_stream(samples, tmp_path_factory):
    """Three real webcam signs (held-out clips) with rests: a short camera for end-to-end live tests."""
    from signdesk.video.streams import Camera, build_stream

    clips = sorted(samples.glob("webcam_*.mp4"))[1::2][:3]
    return build_stream(clips, tmp_path_factory.mktemp("short-stream") / "three_signs.mp4",
                        Camera(640, 480, 30.0, noise=3.0, rest_s=1.0, seed=7))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-weight InternVL with a real processor and tokenizer, built once per session."""
    from signdesk.engine.testmodel import make_test_model

    return make_test_model(tmp_path_factory.mktemp("tiny-internvl"))


THREAD_GRACE_S = 3.0


@pytest.fixture
def no_thread_leaks():
    """Fail the test if it leaves a Python thread running (after a short grace period to join it).

    Yields the deadline, so a caller can check its own kind of threads (QThreads) against the same one.
    """
    before = set(threading.enumerate())
    box: list[float] = []
    yield box
    deadline = time.monotonic() + THREAD_GRACE_S
    box.append(deadline)
    leftover = []
    for thread in threading.enumerate():
        if thread in before or isinstance(thread, threading._DummyThread) or thread is threading.current_thread():
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            leftover.append(thread.name)
    if leftover:
        pytest.fail(f"the test left threads running: {', '.join(leftover)}")


class FlakySource:
    """A fake camera: delivers ``good`` frames, then loses the signal; the next ``refuse`` opens fail.

    One object is shared by every (re)connection the capture thread makes (the factory returns it).
    """

    bgr = False
    name = "Flaky camera"

    def __init__(self, good: int = 10, refuse: int = 1, size=(48, 64), fps: float = 100.0) -> None:
        self.good, self.refuse, self.fps = good, refuse, fps
        self.opens = self.refused = self.reads = 0
        self.lost = False
        self._frame = np.full((*size, 3), 100, np.uint8)
        self._tick = threading.Event()

    def open(self) -> None:
        from signdesk.video.camera import CameraError

        self.opens += 1
        if self.lost and self.refused < self.refuse:
            self.refused += 1
            raise CameraError("Flaky camera cannot be opened: is it connected?")

    def read(self):
        self._tick.wait(1.0 / self.fps)  # pace like a camera, interruptibly
        if not self.lost and self.reads >= self.good:
            self.lost = True
        if self.lost and self.refused < self.refuse:
            return None
        self.reads += 1
        return self._frame

    def close(self) -> None:
        pass

    def interrupt(self) -> None:
        self._tick.set()


@pytest.fixture
def flaky_source():
    """The FlakySource class (a fake camera that gets lost and comes back)."""
    return FlakySource
