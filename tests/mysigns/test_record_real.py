"""`signdesk record` on a video-file camera of real signs: the right takes, cut where the signs are.

The camera is a stream built from the shared real webcam clips (``short_real_stream``: three signs with
rests, imitated 640x480 webcam at 30 fps); it knows where each sign lies. The file plays at its own pace
through the live capture and segmenter threads, as a webcam would.
"""

from __future__ import annotations

import json

import pytest

from signdesk.cli import main
from signdesk.mysigns.store import TakeStore

#: How far a take's ends may lie from the true sign's (seconds): the segmenter's pre-roll (0.2 s) and the
#: stillness at the ends of the real clips (their signers rest a moment before and after) fit well within.
TOLERANCE_S = 0.5


def test_record_keeps_the_signs_it_finds_as_takes_near_the_true_spans(short_real_stream, tmp_path, capsys):
    stream = short_real_stream
    out = tmp_path / "mine"
    code = main(["record", "Book", "--camera-file", stream.path, "--takes", "3", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    takes = TakeStore(out).takes()
    assert len(takes) == 3 and {t.gloss for t in takes} == {"book"} and {t.origin for t in takes} == {"camera"}
    assert printed.out.count("kept take") == 3
    for take, truth in zip(sorted(takes, key=lambda t: t.stream_start), stream.signs, strict=True):
        start_s, end_s = take.stream_start / stream.fps, take.stream_end / stream.fps
        assert abs(start_s - truth.start_s) <= TOLERANCE_S, (take, truth)
        assert abs(end_s - truth.end_s) <= TOLERANCE_S, (take, truth)
        assert take.frames >= 0.8 * (take.stream_end - take.stream_start + 1)  # the clip holds the sign's frames
        assert TakeStore(out).path_of(take).is_file()
    listed = json.loads((main(["my-signs", "list", "--folder", str(out), "--json"]), capsys.readouterr().out)[1])
    assert [w["takes"] for w in listed["words"]] == [3]


def test_record_stops_after_the_takes_asked_for(short_real_stream, tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["record", "chair", "--camera-file", short_real_stream.path, "--takes", "1", "--out", str(out)]) == 0
    takes = TakeStore(out).takes()
    assert len(takes) == 1
    first = short_real_stream.signs[0]
    assert abs(takes[0].stream_start / short_real_stream.fps - first.start_s) <= TOLERANCE_S


def test_record_refuses_a_missing_camera_file_in_one_line(tmp_path, capsys):
    assert main(["record", "hello", "--camera-file", str(tmp_path / "none.mp4"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("signdesk: error:") and len(err.splitlines()) == 1


@pytest.mark.parametrize("action", [["delete", "--all"], ["delete", "--word", "chair"]])
def test_my_signs_delete_from_the_command_line(tmp_path, capsys, action):
    from signdesk.video.synth import motion_frames

    store = TakeStore(tmp_path / "mine")
    for k in range(2):
        store.add_frames("chair", motion_frames("circle", 24, 96, 96, seed=k), 25.0)
    assert main(["my-signs", *action, "--folder", str(store.folder)]) == 0
    assert "deleted 2 take(s)" in capsys.readouterr().out
    assert store.takes() == [] and not any(store.clips_dir.iterdir())
