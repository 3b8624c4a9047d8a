"""``signdesk transcribe`` on a still image: one sign, the same answer as ``signdesk interpret`` gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from signdesk.transcribe import SignResult, SignSpan, TranscribeProgress, find_signs, is_still_image, transcribe_steps
from signdesk.video.synth import motion_frames, write_video


def write_image(path: Path) -> Path:
    import cv2

    # noise, so the tiny model's answer depends on the pixels (a flat image would hide a wrong frame)
    image = np.random.default_rng(7).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture(scope="module", params=["png", "jpg"])
def image(request, tmp_path_factory) -> Path:
    return write_image(tmp_path_factory.mktemp("images") / f"sign.{request.param}")


def test_an_image_is_one_sign_and_a_video_is_not_an_image(image, tmp_path):
    items = list(find_signs(image))
    spans = [i for i in items if isinstance(i, SignSpan)]
    assert spans == [SignSpan(0, 0, 0, 0.0, 1 / 25.0, None)]
    assert isinstance(items[-1], TranscribeProgress) and items[-1].fraction == 1.0
    video = write_video(tmp_path / "still.mp4", motion_frames("circle", 10), 25.0)
    assert is_still_image(image) and not is_still_image(video)  # judged by content: mp4 is segmented


@pytest.mark.slow
def test_transcribe_steps_give_the_interpreters_answer_for_the_whole_image(image, tiny_model_dir):
    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter

    interpreter = open_interpreter(load_settings({"model.id": str(tiny_model_dir)}), allow_download=False)
    expected = interpreter.interpret_video(str(image))  # what `signdesk interpret IMAGE` runs
    results = [i for i in transcribe_steps(image, interpreter) if isinstance(i, SignResult)]
    assert len(results) == 1 and results[0].error is None
    assert results[0].text == expected.text
    assert results[0].candidates == [(c.text, c.score) for c in expected.candidates]


@pytest.mark.slow
def test_transcribe_command_prints_what_interpret_prints_for_an_image(image, tiny_model_dir, capsys):
    from signdesk.cli import main

    model = ["--model", str(tiny_model_dir)]
    assert main(["interpret", str(image), *model, "--json"]) == 0
    interpreted = json.loads(capsys.readouterr().out)
    assert main(["transcribe", str(image), *model, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["frames"] == 1
    (sign,) = report["signs"]
    assert sign["text"] == interpreted["text"] and sign["start_frame"] == sign["end_frame"] == 0
    assert [c["text"] for c in sign["candidates"]] == [c["text"] for c in interpreted["candidates"]]
    # interpret's JSON rounds scores to 6 places; transcribe's keeps them whole
    np.testing.assert_allclose([c["score"] for c in sign["candidates"]],
                               [c["score"] for c in interpreted["candidates"]], atol=1e-6)
