from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from signdesk.errors import VideoError
from signdesk.transcribe import SignResult, SignSpan, TranscribeProgress, find_signs, transcribe_steps
from signdesk.video.synth import motion_frames, write_video

FPS = 25.0


@pytest.fixture(scope="module")
def signs_video(tmp_path_factory):
    """Two signs: frames 20-49 and 75-110 (0.8-2.0 s and 3.0-4.44 s)."""
    a = motion_frames("left-right", 30, still_before=20, seed=1)
    b = motion_frames("circle", 36, still_before=25, still_after=30, seed=2)
    return write_video(tmp_path_factory.mktemp("videos") / "two_signs.mp4", np.concatenate([a, b]), FPS)


class FakeInterpreter:
    """All of signdesk.engine.protocol.InterpreterProtocol; transcribe_steps uses interpret_video."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls = []
        self.fail_on = fail_on
        self.loaded = SimpleNamespace(model_id="fake", device=SimpleNamespace(name="cpu", dtype="float32"))
        self.adapter, self.mode, self.num_frames, self.frame_size = None, "vocab", 8, (64, 64)
        self.profile, self.tokens_per_frame = SimpleNamespace(name="quality"), 256

    def interpret_frames(self, frames):
        return self.interpret_video("frames")

    def set_adapter(self, adapter):
        self.adapter = adapter
        return adapter

    def configure(self, **options):
        self.mode = options.get("mode") or self.mode

    def interpret_video(self, path, frame_start=1, frame_end=-1):
        self.calls.append((frame_start, frame_end))
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise VideoError(f"{path}: cannot decode frames")
        cands = [SimpleNamespace(text="hello", score=0.6), SimpleNamespace(text="help", score=0.3)]
        return SimpleNamespace(text="hello", candidates=cands, timings_ms={"total": 5.0})


def test_find_signs_reports_progress_and_spans_with_times(signs_video):
    items = list(find_signs(signs_video))
    spans = [i for i in items if isinstance(i, SignSpan)]
    assert any(isinstance(i, TranscribeProgress) for i in items)
    assert len(spans) == 2
    assert spans[0].start_s == pytest.approx(0.7, abs=0.12) and spans[0].end_s == pytest.approx(2.0, abs=0.12)
    assert spans[1].start_s == pytest.approx(2.9, abs=0.12) and spans[1].end_s == pytest.approx(4.44, abs=0.12)


def test_transcribe_steps_interprets_each_sign_by_its_frame_range(signs_video):
    interp = FakeInterpreter(fail_on=1)
    results = [i for i in transcribe_steps(signs_video, interp) if isinstance(i, SignResult)]
    assert len(results) == 2
    assert results[0].error and "cannot decode" in results[0].error  # one bad sign...
    assert results[1].text == "hello" and results[1].score == 0.6  # ...the others still come
    start, end = interp.calls[1]
    assert start == results[1].span.start_frame + 1 and end == results[1].span.end_frame + 1


def test_a_video_without_rests_is_one_sign(tmp_path):
    video = write_video(tmp_path / "busy.mp4", motion_frames("circle", 40), FPS)
    spans = [i for i in find_signs(video) if isinstance(i, SignSpan)]
    assert len(spans) == 1 and spans[0].start_frame == 0 and spans[0].end_frame == 39


def test_corrupt_video_is_refused_plainly(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match=r"bad\.mp4"):
        list(find_signs(bad))


@pytest.mark.slow
def test_transcribe_command_with_the_tiny_model(tiny_model_dir, signs_video, tmp_path, capsys):
    from signdesk.cli import main

    srt = tmp_path / "out.srt"
    code = main(["transcribe", str(signs_video), "--model", str(tiny_model_dir), "--srt", str(srt), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["signs"]) == 2
    first = report["signs"][0]
    assert first["start_s"] == pytest.approx(0.7, abs=0.12)
    assert len(first["candidates"]) == 5 and first["text"] == first["candidates"][0]["text"]
    assert "-->" in srt.read_text()

    assert main(["transcribe", str(signs_video), "--model", str(tiny_model_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "–" in lines[0] and "[" in lines[0]


def test_transcribe_command_refuses_a_corrupt_video_before_loading(tmp_path, capsys):
    from signdesk.cli import main

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"junk" * 50)
    assert main(["transcribe", str(bad), "--model", str(tmp_path / "no-model")]) == 2
    assert "bad.mp4" in capsys.readouterr().err
