"""The live path on real signing: camera source → capture → segmenter → model, and ``signdesk live``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signdesk.video.camera import CaptureThread, FrameRing, VideoFileSource
from signdesk.video.decode import read_clip, resize_frames
from signdesk.video.segment import MotionSegmenter, SegmentThread
from signdesk.video.streams import score_spans

MODEL_SIZE = (448, 448)


@pytest.mark.slow
def test_live_clips_reach_the_model_as_read_clip_gives_them(held_out_streams):
    """A video played as the camera gives, for each sign found, the frames ``read_clip`` gives a file."""
    stream = next(s for s in held_out_streams if s.camera.width == 640 and not s.camera.duplicate)
    ring = FrameRing(64)
    clips = []
    capture = CaptureThread(lambda: VideoFileSource(stream.path, loop=False), ring, clip_size=MODEL_SIZE)
    segment = SegmentThread(ring, MotionSegmenter(stream.fps), clips.append)
    segment.start()
    capture.start()
    capture.join(60)
    segment.join(10)
    assert not capture.is_alive() and not segment.is_alive()
    assert segment.missed == 0  # frame numbers are the file's frame indices
    assert len(clips) >= len(stream.signs) - 1
    for clip in clips:
        live = clip.sample(8).astype(np.int16)
        reference = read_clip(stream.path, 8, clip.start_seq + 1, clip.end_seq + 1, size=MODEL_SIZE)
        assert live.shape == reference.frames.shape
        assert np.abs(live - reference.frames).max() <= 2
    # the old path (display copy, then a second resize) is what this replaced: it was far off
    small = [ring_frame for ring_frame in _display_copies(stream.path, clips[0])]
    twice = resize_frames(small, MODEL_SIZE).astype(np.int16)
    reference = read_clip(stream.path, 8, clips[0].start_seq + 1, clips[0].end_seq + 1, size=MODEL_SIZE)
    assert np.abs(twice - reference.frames).max() > 2


def _display_copies(path, clip):
    import cv2

    from signdesk.video.camera import downscale
    from signdesk.video.decode import sample_indices

    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        for index in sample_indices(clip.end_seq - clip.start_seq + 1, 8):
            cap.set(cv2.CAP_PROP_POS_FRAMES, clip.start_seq + index)
            ok, frame = cap.read()
            assert ok
            frames.append(downscale(frame, 480, bgr=True))
    finally:
        cap.release()
    return frames


@pytest.mark.slow
def test_headless_live_prints_one_line_per_real_sign(short_real_stream, tiny_model_dir, capsys):
    from signdesk.cli import main

    code = main(["live", "--camera-file", short_real_stream.path, "--once", "--json", "--model", str(tiny_model_dir)])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(short_real_stream.signs) == 3
    # times are the capture clock's (the file plays in real time), so allow for its start-up jitter
    score = score_spans(short_real_stream.signs, [(r["start"], r["end"]) for r in rows])
    assert score.recall == 1.0 and score.precision == 1.0
    assert score.start_error_s <= 0.4 and score.end_error_s <= 0.4
    for row in rows:
        assert row["text"] == row["candidates"][0]["text"] and row["score"] == row["candidates"][0]["score"]
        assert row["latency_ms"] >= row["model_ms"] > 0
        assert row["end_frame"] > row["start_frame"]


def test_live_refuses_a_missing_camera_file_before_loading_a_model(tmp_path, capsys):
    from signdesk.cli import main

    code = main(["live", "--camera-file", str(tmp_path / "nope.mp4"), "--model", str(tmp_path / "no-model")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.mp4: no such video file" in err


def test_live_once_needs_a_camera_file(capsys):
    from signdesk.cli import main

    assert main(["live", "--once"]) == 2
    assert "--once plays a video file once" in capsys.readouterr().err
