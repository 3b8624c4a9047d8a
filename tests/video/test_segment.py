from __future__ import annotations

import itertools

import numpy as np
import pytest

from signdesk.video.camera import FrameRing
from signdesk.video.segment import (
    ClipBuffer,
    ContinuousSegmenter,
    MotionSegmenter,
    SegmenterConfig,
    SegmentThread,
)
from signdesk.video.synth import motion_frames

FPS = 25.0


def two_signs() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """idle 20, left-right 30, idle 25, circle 36, idle 30 frames; returns frames and the true spans."""
    a = motion_frames("left-right", 30, still_before=20, seed=1)
    b = motion_frames("circle", 36, still_before=25, still_after=30, seed=2)
    return np.concatenate([a, b]), [(20, 49), (75, 110)]


def run(segmenter, frames):
    clips = [segmenter.feed(f, i / FPS, i, t=float(i)) for i, f in enumerate(frames)]
    clips.append(segmenter.flush())
    return [c for c in clips if c is not None]


def test_motion_segmenter_finds_each_sign_with_its_boundaries():
    frames, truth = two_signs()
    clips = run(MotionSegmenter(FPS), frames)
    assert len(clips) == 2
    preroll = round(0.2 * FPS)  # the clip reaches back 0.2 s before the first moving frame
    for clip, (start, end) in zip(clips, truth, strict=True):
        assert start - preroll - 1 <= clip.start_seq <= start + 1
        assert end - 2 <= clip.end_seq <= end + 2
        assert clip.start_s == pytest.approx(clip.start_seq / FPS)
        assert len(clip.frames) == clip.end_seq - clip.start_seq + 1
        assert clip.seqs == list(range(clip.start_seq, clip.end_seq + 1))
        assert not clip.cut
    assert clips[0].motion_id != clips[1].motion_id


def test_short_twitches_are_ignored():
    twitch = motion_frames("left-right", 5, still_before=20, still_after=20)
    segmenter = MotionSegmenter(FPS, min_sign_s=0.4)
    assert run(segmenter, twitch) == []
    assert segmenter.discarded == 1


def test_long_motion_is_cut_at_max_duration_with_one_motion_id():
    long = motion_frames("circle", 100, still_before=20, still_after=20)
    clips = run(MotionSegmenter(FPS, max_sign_s=1.0), long)
    assert len(clips) >= 3
    assert all(c.duration_s <= 1.0 + 1 / FPS for c in clips)
    assert len({c.motion_id for c in clips}) == 1
    assert any(c.cut for c in clips)


def test_heavy_camera_noise_is_not_motion():
    frames, truth = two_signs()
    rng = np.random.default_rng(3)
    noisy = np.clip(frames.astype(np.int16) + rng.integers(-25, 26, frames.shape), 0, 255).astype(np.uint8)
    clips = run(MotionSegmenter(FPS), noisy)
    assert len(clips) == 2  # the noise threshold follows the noise: the signs and nothing else
    assert abs(clips[0].start_seq - truth[0][0]) <= round(0.2 * FPS) + 1


def test_still_noisy_scene_yields_nothing():
    rng = np.random.default_rng(4)
    still = np.clip(100 + rng.integers(-25, 26, (120, 60, 80, 3)), 0, 255).astype(np.uint8)
    assert run(MotionSegmenter(FPS), still) == []


def test_exposure_steps_are_not_motion():
    rng = np.random.default_rng(5)
    base = motion_frames("left-right", 1, still_before=0)[0].astype(np.float32)
    gains = np.repeat(1 + rng.uniform(-0.12, 0.12, 15), 8)  # auto-exposure jumps every 8 frames
    frames = np.stack([np.clip(base * g, 0, 255).astype(np.uint8) for g in gains])
    segmenter = MotionSegmenter(FPS)
    assert run(segmenter, frames) == []
    assert max(segmenter.meter.measure(f) for f in frames[:20]) < segmenter.meter.on_threshold


def test_one_frame_jumps_are_not_signs():
    """A keyframe's new noise pattern or a cut changes the picture for one frame only."""
    frames, _ = two_signs()
    still = np.repeat(frames[:1], 90, axis=0).copy()
    still[30:] = np.clip(still[30:].astype(np.int16) + 60, 0, 255).astype(np.uint8)  # a cut at frame 30
    rng = np.random.default_rng(6)
    still[60:] = np.clip(still[60:].astype(np.int16) + rng.integers(-12, 13, still[60:].shape), 0, 255)  # new noise
    assert run(MotionSegmenter(FPS), still) == []


def test_a_sign_already_under_way_when_the_stream_starts_is_found():
    frames, truth = two_signs()
    clips = run(MotionSegmenter(FPS), frames[truth[0][0] + 10:])  # no rest before the first sign
    assert len(clips) == 2
    assert clips[0].start_seq == 0


def test_a_15fps_camera_delivered_at_30fps_still_finds_each_sign():
    frames, truth = two_signs()
    doubled = np.repeat(frames, 2, axis=0)  # every other frame repeats: every other difference is zero
    segmenter = MotionSegmenter(2 * FPS)
    clips = [segmenter.feed(f, i / (2 * FPS), i, t=0.0) for i, f in enumerate(doubled)]
    clips = [c for c in [*clips, segmenter.flush()] if c is not None]
    assert len(clips) == 2
    for clip, (start, end) in zip(clips, truth, strict=True):
        assert start - round(0.2 * FPS) - 1 <= clip.start_seq // 2 <= start + 1
        assert end - 2 <= clip.end_seq // 2 <= end + 2


def test_a_short_pause_inside_a_sign_keeps_it_whole():
    a = motion_frames("left-right", 20, still_before=20, seed=1)
    pause = np.repeat(a[-1:], round(0.3 * FPS), axis=0)  # like BOOK: hands still for 0.3 s mid-sign
    b = motion_frames("up-down", 20, still_after=30, seed=1)
    clips = run(MotionSegmenter(FPS), np.concatenate([a, pause, b]))
    assert len(clips) == 1


def test_calibration_raises_the_thresholds_to_the_scene_at_rest():
    rng = np.random.default_rng(7)
    frames = motion_frames("left-right", 1)[0]
    restless = []
    for _ in range(60):  # a flickering screen in a corner moves all the time
        frame = frames.copy()
        frame[:30, :40] = rng.integers(0, 255, (30, 40, 3))
        restless.append(frame)
    segmenter = MotionSegmenter(FPS)
    before = segmenter.meter.on_threshold
    assert run(segmenter, restless[:30])  # uncalibrated, the screen looks like signing
    segmenter = MotionSegmenter(FPS)
    segmenter.meter.start_calibration()
    assert run(segmenter, restless[:30]) == []  # nothing is a sign while calibrating
    floor = segmenter.meter.finish_calibration()
    assert floor > 5 and segmenter.meter.on_threshold > before
    assert run(segmenter, restless[30:]) == []


def test_sensitivity_scales_the_thresholds():
    low, high = MotionSegmenter(FPS, sensitivity=2), MotionSegmenter(FPS, sensitivity=8)
    assert high.meter.on_threshold < low.meter.on_threshold
    assert high.meter.off_threshold < low.meter.off_threshold


def test_continuous_mode_hands_over_windows_at_its_stride_only_with_motion():
    frames, _ = two_signs()
    segmenter = ContinuousSegmenter(FPS, window_s=1.0, stride=5)
    clips = run(segmenter, frames)
    assert clips
    assert all(len(c.frames) == 25 for c in clips)
    starts = [c.end_seq for c in clips]
    assert all((b - a) % 5 == 0 for a, b in itertools.pairwise(starts))
    # the last 30 frames are still: no window ends after the last motion has left the window
    assert max(starts) < len(frames) - 5
    assert {c.motion_id for c in clips} == {1, 2}


def test_clip_buffer_stays_bounded_and_uniform():
    buffer = ClipBuffer(8)
    for i in range(1000):
        buffer.add(i, i / FPS, 0.0, None)
    seqs = [item[0] for item in buffer.items]
    assert len(seqs) <= 8
    gaps = {b - a for a, b in itertools.pairwise(seqs)}
    assert len(gaps) == 1  # evenly spread
    assert seqs[0] == 0 and seqs[-1] >= 512


def test_config_builds_the_chosen_strategy():
    assert isinstance(SegmenterConfig(mode="continuous").build(30), ContinuousSegmenter)
    segmenter = SegmenterConfig(min_sign_s=0.2, max_sign_s=2.0, sensitivity=7).build(30)
    assert isinstance(segmenter, MotionSegmenter) and segmenter.max_sign_s == 2.0
    assert segmenter.meter.sensitivity == 7


def test_segment_thread_runs_over_a_ring():
    frames, _ = two_signs()
    ring = FrameRing(len(frames) + 1)
    clips, statuses = [], []
    thread = SegmentThread(ring, MotionSegmenter(FPS), clips.append, statuses.append)
    thread.start()
    for i, frame in enumerate(frames):
        ring.put(frame, float(i), i / FPS)
    ring.close()  # end of stream: the thread drains what is there, then ends
    thread.join(5)
    assert not thread.is_alive()
    assert len(clips) == 2
    assert any(s.signing for s in statuses) and not statuses[-1].signing
    assert any(s.energy > s.threshold for s in statuses)  # the meter's level reaches the listener


def test_segment_thread_calibrates_on_request_and_hands_over_clip_images():
    frames, _ = two_signs()
    ring = FrameRing(len(frames) + 1)
    clips, floors = [], []
    thread = SegmentThread(ring, MotionSegmenter(FPS), clips.append, on_calibrated=floors.append)
    thread.calibrate(0.5)
    thread.start()
    big = np.zeros((48, 48, 3), np.uint8)
    for i, frame in enumerate(frames):
        ring.put(frame, float(i), i / FPS, clip_image=big + (i % 256))
    ring.close()
    thread.join(5)
    assert len(floors) == 1 and floors[0] >= 0.0
    assert len(clips) == 2
    assert all(f.shape == (48, 48, 3) for f in clips[0].frames)  # the model-size copies, not the small ones
    assert [int(f[0, 0, 0]) for f in clips[0].frames] == clips[0].seqs


def test_a_clip_whose_frames_changed_size_mid_sign_samples_at_the_newest_size():
    """The camera ran before the model was loaded: early frames lack the model-size copy."""
    from signdesk.video.segment import SignClip

    frames = [np.zeros((30, 40, 3), np.uint8)] * 5 + [np.full((64, 64, 3), 9, np.uint8)] * 5
    clip = SignClip(frames=frames, start_s=0.0, end_s=1.0, start_seq=0, end_seq=9, seqs=list(range(10)))
    sampled = clip.sample(4)
    assert sampled.shape == (4, 64, 64, 3)
    assert sampled[0].max() == 0 and sampled[-1].min() == 9
