from __future__ import annotations

import threading

import numpy as np
import pytest

from signdesk.video.camera import (
    ArraySource,
    CameraError,
    CaptureThread,
    FrameRing,
    VideoFileSource,
    downscale,
)
from signdesk.video.synth import write_video


class Recorder:
    """Collects capture events and lets a test wait for one (no sleeps)."""

    def __init__(self) -> None:
        self.events = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def states(self) -> list[str]:
        return [e.state for e in self.events]

    def wait_for(self, predicate, timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.states()), timeout), self.states()


def test_ring_overwrites_oldest_and_reports_missed_frames():
    ring = FrameRing(4)
    frame = np.zeros((2, 2, 3), np.uint8)
    for i in range(10):
        ring.put(frame, float(i), float(i))
    frames, missed = ring.read_since(0)
    assert [f.seq for f in frames] == [6, 7, 8, 9]
    assert missed == 6
    assert ring.latest().seq == 9
    frames, missed = ring.read_since(8)
    assert [f.seq for f in frames] == [8, 9] and missed == 0
    assert ring.read_since(10) == ([], 0)


def test_ring_wait_wakes_on_put_and_on_close():
    ring = FrameRing(2)
    assert not ring.wait_for(0, timeout=0.01)
    ring.put(np.zeros((1, 1, 3), np.uint8), 0.0, 0.0)
    assert ring.wait_for(0, timeout=0.01)
    ring.close()
    assert not ring.wait_for(5, timeout=5)  # returns at once: closed


def test_downscale_keeps_aspect_and_converts_bgr():
    bgr = np.zeros((720, 1280, 3), np.uint8)
    bgr[:, :, 0] = 255  # blue in BGR
    small = downscale(bgr, 480, bgr=True)
    assert small.shape == (270, 480, 3)
    assert small[0, 0].tolist() == [0, 0, 255]  # now RGB: blue is the last channel
    tiny = np.zeros((100, 80, 3), np.uint8)
    assert downscale(tiny, 480).shape == (100, 80, 3)  # never upscaled


def test_capture_thread_downscales_once_into_the_ring_and_stops_quickly():
    frames = np.zeros((5, 600, 800, 3), np.uint8)
    ring = FrameRing(8)
    rec = Recorder()
    seen = []
    thread = CaptureThread(lambda: ArraySource(frames, fps=200), ring, max_side=200, on_event=rec,
                           on_frame=seen.append)
    thread.start()
    assert ring.wait_for(20, timeout=10)
    thread.stop()
    thread.join(2)
    assert not thread.is_alive()
    assert ring.latest().image.shape == (150, 200, 3)
    assert not ring.latest().image.flags.writeable  # consumers share it: read-only
    assert rec.states()[:2] == ["opening", "running"] and rec.states()[-1] == "stopped"
    assert ring.closed
    assert len(seen) >= 20


def test_video_file_source_plays_at_its_rate_and_loops(tmp_path):
    video = write_video(tmp_path / "ten.mp4", np.zeros((10, 64, 80, 3), np.uint8), fps=100)
    source = VideoFileSource(video)
    source.open()
    try:
        assert source.fps == pytest.approx(100, rel=0.01)
        got = [source.read() for _ in range(25)]
    finally:
        source.close()
    assert all(f is not None and f.shape == (64, 80, 3) for f in got)
    assert source.loops >= 2


def test_non_looping_file_ends(tmp_path):
    video = write_video(tmp_path / "three.mp4", np.zeros((3, 32, 32, 3), np.uint8), fps=200)
    ring = FrameRing(8)
    rec = Recorder()
    thread = CaptureThread(lambda: VideoFileSource(video, loop=False), ring, on_event=rec)
    thread.start()
    rec.wait_for(lambda s: "stopped" in s)
    thread.join(2)
    assert "ended" in rec.states()
    assert ring.next_seq == 3


def test_corrupt_video_fails_plainly_without_retrying(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    rec = Recorder()
    thread = CaptureThread(lambda: VideoFileSource(bad), FrameRing(4), on_event=rec)
    thread.start()
    rec.wait_for(lambda s: "stopped" in s)
    thread.join(2)
    failed = [e for e in rec.events if e.state == "failed"]
    assert failed and "not a readable video" in failed[0].message
    assert "retrying" not in rec.states()


def test_missing_camera_is_retried_with_a_message_and_stop_interrupts_the_wait():
    class NoCamera:
        bgr, name, fps = False, "Camera 7", 30.0

        def open(self):
            raise CameraError("Camera 7 cannot be opened: is it connected, and not used by another app?")

    rec = Recorder()
    thread = CaptureThread(NoCamera, FrameRing(4), on_event=rec, retry_delays=(30.0,))
    thread.start()
    rec.wait_for(lambda s: "retrying" in s)
    thread.stop()
    thread.join(2)  # the 30 s back-off is interrupted
    assert not thread.is_alive()
    retry = next(e for e in rec.events if e.state == "retrying")
    assert "Camera 7 cannot be opened" in retry.message and "retrying in 30 s" in retry.message


def test_camera_lost_mid_stream_is_retried_and_recovers(flaky_source):
    source = flaky_source(good=10, refuse=2)
    ring = FrameRing(16)
    rec = Recorder()
    thread = CaptureThread(lambda: source, ring, on_event=rec, retry_delays=(0.01,), max_failed_reads=3)
    thread.start()
    rec.wait_for(lambda s: s.count("running") >= 2)
    thread.stop()
    thread.join(2)
    states = rec.states()
    lost_at = states.index("lost")
    assert "running" in states[:lost_at] and "running" in states[lost_at:]
    assert states.count("retrying") >= 3  # the lost signal, then two refused reopenings
    assert source.opens == 4
    assert ring.next_seq > 10
