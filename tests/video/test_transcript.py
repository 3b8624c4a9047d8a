from __future__ import annotations

import json

from signdesk.transcript import Transcript, short_time, srt_time

CANDS = [("hello", 0.7), ("help", 0.2), ("home", 0.1)]


def test_same_word_from_one_motion_is_merged_but_a_repeat_after_rest_is_kept():
    t = Transcript(0.35)
    assert t.add("hello", 0.6, CANDS, 0.0, 1.0, motion_id=1) == (0, False)
    assert t.add("hello", 0.8, CANDS, 1.0, 2.0, motion_id=1) == (0, True)  # held sign cut at max length
    assert len(t) == 1 and t[0].end_s == 2.0 and t[0].score == 0.8 and t[0].repeats == 2
    assert t.add("hello", 0.6, CANDS, 3.0, 4.0, motion_id=2) == (1, False)  # signed again after a rest
    assert t.add("help", 0.6, CANDS, 4.0, 5.0, motion_id=2) == (2, False)


def test_overlapping_windows_without_motion_ids_merge_by_time():
    t = Transcript()
    t.add("yes", 0.9, start_s=0.0, end_s=1.5)
    assert t.add("yes", 0.9, start_s=0.2, end_s=1.7)[1]  # overlapping window
    assert not t.add("yes", 0.9, start_s=3.0, end_s=4.0)[1]  # later: a new word


def test_not_sure_below_threshold_and_correction():
    t = Transcript(0.5)
    t.add("home", 0.3, CANDS, 0.0, 1.0)
    assert not t.is_sure(t[0])
    assert t.label(t[0]) == "home?"
    assert t.to_text() == "(home?)\n"
    t.correct(0, "hello")
    assert t.is_sure(t[0]) and t[0].corrected_from == "home"
    assert t.to_text() == "hello\n"
    t.correct(0, "home")  # back to the model's word
    assert not t[0].corrected
    t.threshold = 0.2
    assert t.is_sure(t[0])


def test_srt_export_has_ordered_non_overlapping_cues():
    t = Transcript(0.5)
    t.add("hello", 0.9, CANDS, 0.4, 1.2)
    t.add("home", 0.1, CANDS, 1.3, 1.5)
    t.add("help", 0.9, CANDS, 3661.0, 3662.5)
    srt = t.to_srt()
    blocks = srt.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:00,400 --> 00:00:01,200\nhello"
    assert blocks[1] == "2\n00:00:01,300 --> 00:00:01,800\nhome? (not sure)"  # padded to 0.5 s
    assert blocks[2].startswith("3\n01:01:01,000 --> 01:01:02,500\n")


def test_save_picks_the_format_from_the_suffix(tmp_path):
    t = Transcript()
    t.add("hello", 0.9, CANDS, 0.0, 1.0)
    assert (t.save(tmp_path / "a.txt")).read_text() == "hello\n"
    assert "-->" in (t.save(tmp_path / "a.srt")).read_text()
    rows = json.loads((t.save(tmp_path / "a.json")).read_text())
    assert rows[0]["text"] == "hello" and rows[0]["candidates"][0] == {"text": "hello", "score": 0.7}


def test_transcript_is_bounded():
    t = Transcript(max_entries=10)
    for i in range(25):
        t.add(f"w{i}", 0.9, start_s=i * 10.0, end_s=i * 10.0 + 1)
    assert len(t) == 10 and t.dropped == 15 and t[0].text == "w15"


def test_time_formats():
    assert srt_time(3723.0456) == "01:02:03,046"
    assert short_time(75.25) == "1:15.2"
    assert short_time(3725) == "1:02:05"
