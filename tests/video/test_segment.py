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
    for clip, (start, end) in zip(clips, truth, strict=True):
        assert start - 4 <= clip.start_seq <= start + 1
        assert end - 2 <= clip.end_seq <= end + 2
        assert clip.start_s == pytest.approx(clip.start_seq / FPS)
        assert len(clip.frames) == clip.end_seq - clip.start_seq + 1
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


def test_thresholds_adapt_to_a_noisy_idle_scene():
    frames, truth = two_signs()
    rng = np.random.default_rng(3)
    noisy = np.clip(frames.astype(np.int16) + rng.integers(-25, 26, frames.shape), 0, 255).astype(np.uint8)
    segmenter = MotionSegmenter(FPS)
    clips = run(segmenter, noisy)
    assert segmenter.meter.noise_mean > 3  # it learned the noise (clean scenes measure < 0.5)...
    assert len(clips) == 2  # ...and still finds the signs and nothing else
    assert abs(clips[0].start_seq - truth[0][0]) <= 4


def test_still_noisy_scene_yields_nothing():
    rng = np.random.default_rng(4)
    still = np.clip(100 + rng.integers(-25, 26, (120, 60, 80, 3)), 0, 255).astype(np.uint8)
    assert run(MotionSegmenter(FPS), still) == []


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
    segmenter = SegmenterConfig(min_sign_s=0.2, max_sign_s=2.0).build(30)
    assert isinstance(segmenter, MotionSegmenter) and segmenter.max_sign_s == 2.0


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
