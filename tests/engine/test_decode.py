"""Frame sampling, exact on numbered-frame videos, through decord and the OpenCV fallback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from signdesk.errors import VideoError
from signdesk.video import decode, synth

BACKENDS = ["decord", "opencv"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    if request.param == "opencv":
        monkeypatch.setenv("SIGNDESK_VIDEO_BACKEND", "opencv")
    else:
        pytest.importorskip("decord")
        monkeypatch.delenv("SIGNDESK_VIDEO_BACKEND", raising=False)
    return request.param


@pytest.fixture(scope="module")
def numbered(tmp_path_factory) -> Path:
    return synth.numbered_video(tmp_path_factory.mktemp("v") / "numbered.mp4", 120, 320, 240)


def numbers(frames: np.ndarray) -> list[int]:
    return [synth.read_frame_number(f) for f in frames]


def test_sample_indices_are_segment_middles():
    assert decode.sample_indices(80, 8) == [5, 15, 25, 35, 45, 55, 65, 75]
    # WLASL range: 1-based, inclusive
    assert decode.sample_indices(100, 4, 11, 30) == [12, 17, 22, 27]
    assert decode.sample_indices(100, 2, 91, -1) == [92, 97]
    # range past the end is clamped; a short range repeats frames
    assert decode.sample_indices(10, 4, 5, 500) == [4, 6, 7, 9]
    assert decode.sample_indices(1, 3) == [0, 0, 0]


@pytest.mark.parametrize(
    ("count", "n", "start", "end"), [(7, 8, 1, -1), (1000, 8, 1, -1), (53, 5, 10, 20), (9, 9, 1, 9)]
)
def test_sample_indices_stay_in_range_and_ordered(count, n, start, end):
    idx = decode.sample_indices(count, n, start, end)
    last = count if end < 0 else min(end, count)
    assert len(idx) == n
    assert idx == sorted(idx)
    assert all(start - 1 <= i <= last - 1 for i in idx)


def test_bad_ranges():
    with pytest.raises(ValueError, match="after the last frame"):
        decode.sample_indices(10, 4, 11, -1)
    with pytest.raises(ValueError, match="before frame_start"):
        decode.sample_indices(10, 4, 5, 3)


def test_read_clip_is_frame_exact(numbered, backend):
    clip = decode.read_clip(numbered, 8, 21, 60)
    assert clip.indices == decode.sample_indices(120, 8, 21, 60)
    assert numbers(clip.frames) == clip.indices
    assert clip.frames.shape == (8, 240, 320, 3) and clip.frames.dtype == np.uint8


def test_read_clip_resizes_once_to_the_model_size(numbered, backend):
    clip = decode.read_clip(numbered, 4, size=(448, 448))
    assert clip.frames.shape == (4, 448, 448, 3)
    assert numbers(clip.frames) == clip.indices
    assert set(clip.timings_ms) == {"decode", "resize"}


def test_camera_frames_take_the_same_sampling(numbered):
    every = decode.read_clip(numbered, 120).frames  # all frames, as a camera buffer would hold them
    from_memory = decode.sample_frames(list(every), 8, (64, 64), 21, 60)
    from_file = decode.read_clip(numbered, 8, 21, 60, size=(64, 64)).frames
    assert numbers(from_memory) == numbers(from_file)
    assert np.abs(from_memory.astype(int) - from_file.astype(int)).max() <= 1


def test_odd_sizes_short_and_single_frame_videos(tmp_path, backend):
    odd = synth.write_video(tmp_path / "odd.mp4", np.stack([synth.numbered_frame(i, 202, 360) for i in range(5)]))
    info = decode.probe_video(odd)
    clip = decode.read_clip(odd, 8)
    assert numbers(clip.frames) == clip.indices == [0, 0, 1, 2, 2, 3, 4, 4]
    assert clip.frames.shape[1:3] == (info.height, info.width)
    single = synth.write_video(tmp_path / "one.mp4", synth.numbered_frame(7, 64, 48)[None])
    assert numbers(decode.read_clip(single, 8).frames) == [7] * 8


def test_probe(numbered):
    info = decode.probe_video(numbered)
    assert (info.frame_count, info.width, info.height, info.rotation) == (120, 320, 240, 0)
    assert info.fps == pytest.approx(25.0)


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (Debian package) not installed")


@needs_ffmpeg
def test_rotation_metadata_is_applied(tmp_path, numbered, backend):
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(numbered), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated)],
        check=True,
    )
    import cv2

    info = decode.probe_video(rotated)
    assert info.rotation in (90, 270) and (info.width, info.height) == (240, 320)
    clip = decode.read_clip(rotated, 4)
    assert clip.frames.shape[1:3] == (320, 240)  # upright: portrait
    # OpenCV's own auto-orientation (what players show) is the reference
    ok, shown = cv2.VideoCapture(str(rotated)).read()
    first = decode.read_clip(rotated, 1, 1, 1).frames[0]
    assert ok and np.abs(cv2.cvtColor(shown, cv2.COLOR_BGR2RGB).astype(int) - first).mean() < 2
    stored = np.rot90(clip.frames, k=info.rotation // 90, axes=(1, 2))  # undo: back to the stored landscape
    assert numbers(stored) == clip.indices
    small = decode.read_clip(rotated, 4, size=(120, 160))  # resized as displayed: portrait stays portrait
    assert small.frames.shape[1:3] == (160, 120)


@needs_ffmpeg
def test_variable_frame_rate_is_sampled_by_frame(tmp_path, numbered, backend):
    vfr = tmp_path / "vfr.mp4"
    # frames 60+ are shown twice as long: timestamps no longer map linearly to frame numbers
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(numbered), "-vf", "setpts='if(lt(N,60),N,60+2*(N-60))/25/TB'",
         "-fps_mode", "vfr", "-c:v", "mpeg4", "-q:v", "2", str(vfr)],
        check=True,
    )
    clip = decode.read_clip(vfr, 8)
    assert decode.probe_video(vfr).frame_count == 120
    assert numbers(clip.frames) == clip.indices


def test_bad_files_are_clear_errors(tmp_path, numbered, backend):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"<html>not found</html>".ljust(114, b" "))  # WLASL's 114-byte non-video
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(numbered.read_bytes()[: numbered.stat().st_size // 3])
    cases = {
        tmp_path / "missing.mp4": "no such video file",
        empty: "the file is empty",
        junk: "not a readable video",
        truncated: "not a readable video|truncated",
        tmp_path: "is a folder",
    }
    for path, message in cases.items():
        with pytest.raises(VideoError, match=message) as err:
            decode.read_clip(path, 8)
        assert str(path) in str(err.value)


def test_zero_frame_video_is_a_clear_error(tmp_path, backend):
    import cv2

    path = tmp_path / "zero.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    writer.release()  # a container with no frames at all
    with pytest.raises(VideoError, match=str(path)):
        decode.read_clip(path, 8)


def test_range_outside_the_video_names_the_file(numbered):
    with pytest.raises(VideoError, match=r"numbered.mp4: frame_start 500 is after the last frame \(120\)"):
        decode.read_clip(numbered, 8, 500, -1)


def test_real_sample_clips_decode(shared_data):
    clips = sorted((shared_data / "samples").glob("*.mp4"))
    assert len(clips) == 25
    for path in clips:
        clip = decode.read_clip(path, 8, size=(448, 448))
        assert clip.frames.shape == (8, 448, 448, 3)
        assert clip.frames.std() > 1  # real pictures, not blank frames


def test_tiny_frames_decord_cannot_read_fall_back_to_opencv(tmp_path):
    tiny = synth.write_video(tmp_path / "tiny.mp4", np.stack([synth.numbered_frame(i, 48, 48) for i in range(20)]))
    clip = decode.read_clip(tiny, 4, 3, 18)
    assert clip.frames.shape == (4, 48, 48, 3)
    assert numbers(clip.frames) == clip.indices
