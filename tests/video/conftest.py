"""Fixtures for the Qt-free video tests: fail a test that leaves a thread running; fake sources."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from signdesk.video.camera import CameraError

THREAD_GRACE_S = 3.0


@pytest.fixture(autouse=True)
def _dangling_threads():
    """Fail any test that leaves a Python thread running (after joining them for a short grace period)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
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
    fps = 100.0

    def __init__(self, good: int = 10, refuse: int = 1, size=(48, 64)) -> None:
        self.good = good
        self.refuse = refuse
        self.opens = 0
        self.refused = 0
        self.reads = 0
        self.lost = False
        self._frame = np.full((*size, 3), 100, np.uint8)
        self._tick = threading.Event()

    def open(self) -> None:
        self.opens += 1
        if self.lost and self.refused < self.refuse:
            self.refused += 1
            raise CameraError("Flaky camera cannot be opened: is it connected?")

    def read(self):
        self._tick.wait(0.005)  # pace like a camera (100 fps), interruptibly
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
