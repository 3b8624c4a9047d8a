"""``transcribe --sentences`` and ``live --sentences``: sentences in the JSON, the .srt and the lines; off as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signdesk.transcribe import SignResult, SignSpan, results_to_transcript, sentences_report, write_sentences
from signdesk.video.synth import motion_frames, write_video

FPS = 25.0
OLD_KEYS = {"video", "fps", "frames", "model", "adapter", "threshold", "signs"}


@pytest.fixture(scope="module")
def signs_video(tmp_path_factory):
    """Two signs, 0.8-2.0 s and 3.0-4.44 s (a rest of about a second between them)."""
    a = motion_frames("left-right", 30, still_before=20, seed=1)
    b = motion_frames("circle", 36, still_before=25, still_after=30, seed=2)
    return write_video(tmp_path_factory.mktemp("videos") / "two_signs.mp4", np.concatenate([a, b]), FPS)


def result(index: int, text: str, start_s: float, end_s: float, score: float = 0.9, error: str | None = None):
    span = SignSpan(index, int(start_s * FPS), int(end_s * FPS), start_s, end_s, index)
    return SignResult(span, text, score, [(text, score), ("other", 0.05)], error=error)


def test_sentences_of_a_file_point_at_its_signs():
    results = [result(0, "me", 0.0, 0.8), result(1, "", 1.0, 1.5, error="damaged"), result(2, "store", 1.9, 2.4),
               result(3, "go", 2.6, 3.0), result(4, "where", 6.0, 6.5)]
    transcript = results_to_transcript(results, 0.35, pause_s=1.5)
    written = []
    write_sentences(transcript, lambda glosses, should_stop=None: written.append(glosses) or _out(glosses))
    report = sentences_report(transcript, results)
    assert [r["signs"] for r in report] == [[0, 2, 3], [4]]  # indices into the report's signs (the failed one skipped)
    assert [r["text"] for r in report] == ["ME STORE GO.", "WHERE."]
    assert written == [[("me", ()), ("store", ()), ("go", ())], [("where", ())]]
    assert results_to_transcript(results, 0.35).sentences is None


def _out(glosses):
    from signdesk.engine.prompts import format_glosses
    from signdesk.engine.sentences import SentenceOutput

    return SentenceOutput(format_glosses(glosses) + ".", format_glosses(glosses), 2, {"total": 1.0})


@pytest.mark.slow
def test_transcribe_sentences_in_json_srt_and_lines(tiny_model_dir, signs_video, tmp_path, capsys):
    from signdesk.cli import main

    srt = tmp_path / "out.srt"
    base = ["transcribe", str(signs_video), "--model", str(tiny_model_dir)]
    assert main([*base, "--sentences", "--pause", "3", "--json", "--srt", str(srt)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == OLD_KEYS | {"sentences"}
    (sentence,) = report["sentences"]  # a 1 s rest is no 3 s pause: one sentence of both signs
    assert sentence["signs"] == [0, 1] and sentence["glosses"] == [s["text"] for s in report["signs"]]
    assert sentence["start_s"] == report["signs"][0]["start_s"] and sentence["end_s"] == report["signs"][1]["end_s"]
    cues = srt.read_text().strip().split("\n\n")
    assert len(cues) == 1 and cues[0].splitlines()[2] == (sentence["text"] or f"[{' '.join(sentence['glosses'])}]")

    assert main([*base, "--sentences", "--pause", "0.5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and sum("»" in line for line in lines) == 2  # two signs, then a sentence for each


@pytest.mark.slow
def test_transcribe_without_sentences_is_as_before(tiny_model_dir, signs_video, capsys):
    from signdesk.cli import main

    base = ["transcribe", str(signs_video), "--model", str(tiny_model_dir)]
    assert main([*base, "--json"]) == 0  # the setting's default: off
    default = json.loads(capsys.readouterr().out)
    assert main([*base, "--json", "--no-sentences", "--pause", "0.5"]) == 0
    assert json.loads(capsys.readouterr().out) == default
    assert set(default) == OLD_KEYS and len(default["signs"]) == 2
    assert main(base) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and not any("»" in line for line in lines)


@pytest.mark.slow
def test_headless_live_writes_sentences_between_signs(short_real_stream, tiny_model_dir, capsys):
    from signdesk.cli import main

    code = main(["live", "--camera-file", short_real_stream.path, "--once", "--json", "--model", str(tiny_model_dir),
                 "--sentences", "--pause", "0.5"])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    signs = [r for r in rows if "sentence" not in r]
    sentences = [r for r in rows if "sentence" in r]
    assert signs and sentences
    # every sign is in exactly one sentence, in order, and a sentence comes after its signs
    assert [g for s in sentences for g in s["glosses"]] == [s["text"] for s in signs]
    for sentence in sentences:
        assert rows.index(sentence) > max(rows.index(s) for s in signs if s["start"] <= sentence["end"])
        assert sentence["start"] <= sentence["end"] and sentence["model_ms"] > 0
