"""Frame-exact, single-pass, streaming trimming of numbered-frame videos."""

from __future__ import annotations

import pytest

from signdesk.data import trim as trim_module
from signdesk.data.trim import TrimRange, trim_ranges
from signdesk.video.decode import probe_video, read_clip
from signdesk.video.synth import numbered_video, read_frame_number


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return numbered_video(tmp_path_factory.mktemp("src") / "long.mp4", 120, 96, 64)  # frames 0..119


def numbers(path) -> list[int]:
    return [read_frame_number(f) for f in read_clip(path, probe_video(path).frame_count).frames]


def test_overlapping_ranges_are_cut_exactly_in_one_pass(source, tmp_path):
    ranges = [TrimRange("a", 1, 1, tmp_path / "a.mp4"), TrimRange("b", 5, 40, tmp_path / "b.mp4"),
              TrimRange("c", 30, 60, tmp_path / "c.mp4"), TrimRange("d", 110, -1, tmp_path / "d.mp4"),
              TrimRange("e", 115, 150, tmp_path / "e.mp4"), TrimRange("f", 121, 130, tmp_path / "f.mp4")]
    results = trim_ranges(source, ranges)
    assert numbers(tmp_path / "a.mp4") == [0]
    assert numbers(tmp_path / "b.mp4") == list(range(4, 40))
    assert numbers(tmp_path / "c.mp4") == list(range(29, 60))
    assert numbers(tmp_path / "d.mp4") == list(range(109, 120))
    assert numbers(tmp_path / "e.mp4") == list(range(114, 120))
    assert results["e"].short and not results["d"].short and results["b"].frames == 36
    assert results["f"].dest is None and "after the video's last frame (120)" in results["f"].error
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_reading_stops_at_the_last_frame_any_range_needs(source, tmp_path, monkeypatch):
    import cv2

    calls = {"n": 0}
    real = cv2.VideoCapture

    class Counting:
        def __init__(self, *args):
            self._cap = real(*args)

        def read(self):
            calls["n"] += 1
            return self._cap.read()

        def grab(self):
            calls["n"] += 1
            return self._cap.grab()

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", Counting)
    trim_ranges(source, [TrimRange("a", 3, 12, tmp_path / "a.mp4")])
    assert calls["n"] == 12  # 120 frames in the source; the rest is never decoded
    assert numbers(tmp_path / "a.mp4") == list(range(2, 12))


def test_a_stop_leaves_no_partial_output(source, tmp_path):
    asked = {"n": 0}

    def should_stop() -> bool:
        asked["n"] += 1
        return asked["n"] > 1  # let the first block of frames through, then stop

    with pytest.raises(InterruptedError):
        trim_ranges(source, [TrimRange("a", 1, -1, tmp_path / "a.mp4")], should_stop=should_stop)
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_source_is_a_video_error(tmp_path):
    from signdesk.errors import VideoError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError):
        trim_module.trim_ranges(bad, [TrimRange("a", 1, 5, tmp_path / "a.mp4")])
