"""A word corrected in the Live transcript becomes a take of the right word, with its clip (Qt-free part)."""

from __future__ import annotations

import numpy as np
import pytest

from signdesk.config import load_settings
from signdesk.errors import ConfigError
from signdesk.mysigns.checks import TakeRefused
from signdesk.mysigns.corrections import ASK, KEEP, OFF, RecentClips, correction_policy, keep_correction
from signdesk.mysigns.store import TakeStore
from signdesk.video.segment import MotionSegmenter
from signdesk.video.synth import motion_frames


def live_clips(motions=("circle", "zigzag"), fps: float = 25.0):
    """Clips as the live segmenter hands them over, from a stream of synthetic signs with rests."""
    stream = np.concatenate([motion_frames(m, 24, 96, 96, still_before=15, still_after=20, seed=i)
                             for i, m in enumerate(motions)])
    segmenter = MotionSegmenter(fps)
    clips = []
    for i, frame in enumerate(stream):
        clip = segmenter.feed(frame, i / fps, i, t=i / fps)
        if clip is not None:
            clips.append(clip)
    return clips


def test_the_setting_is_off_until_asked_and_validated():
    assert correction_policy(load_settings()) == ASK  # never asked: off, and the app asks once
    assert correction_policy(load_settings({"my_signs.keep_corrections": True})) == KEEP
    assert correction_policy(load_settings({"my_signs.keep_corrections": False})) == OFF
    with pytest.raises(ConfigError, match=r"my_signs\.keep_corrections"):
        load_settings({"my_signs.keep_corrections": "yes"})
    with pytest.raises(ConfigError, match=r"my_signs\.target"):
        load_settings({"my_signs.target": 0})


def test_a_corrected_word_becomes_a_take_of_the_right_word(tmp_path):
    clips = live_clips()
    assert len(clips) == 2
    recent = RecentClips()
    for clip in clips:
        recent.put(clip, 25.0)
    second = clips[1]
    found = recent.find(second.start_s, second.end_s)  # the transcript entry's span
    assert found is not None and found[0] is second
    store = TakeStore(tmp_path / "mine")
    take = keep_correction(store, found[0], "Cookie", found[1])
    assert (take.gloss, take.origin, take.source) == ("cookie", "correction", "recorded")
    assert (take.stream_start, take.stream_end) == (second.start_seq, second.end_seq)
    assert take.frames == len(second.frames) and store.path_of(take).is_file()
    assert [t.video_id for t in store.takes("cookie")] == [take.video_id]


def test_a_correction_without_a_sign_in_it_is_refused(tmp_path):
    clip = live_clips()[0]
    clip.frames = [clip.frames[0]] * len(clip.frames)  # nothing moves
    with pytest.raises(TakeRefused, match=r"^motionless"):
        keep_correction(TakeStore(tmp_path / "mine"), clip, "cookie", 25.0)


def test_recent_clips_stay_within_their_memory_budget():
    clips = live_clips(("circle", "zigzag", "diagonal"))
    one = sum(f.nbytes for f in clips[0].frames)
    recent = RecentClips(budget_bytes=int(one * 1.5))
    for clip in clips:
        recent.put(clip, 25.0)
    assert len(recent) == 1 and recent.find(clips[0].start_s, clips[0].end_s) is None
    assert recent.find(clips[-1].start_s, clips[-1].end_s)[0] is clips[-1]
