"""Fine-tuning must learn what tells signs apart when only the direction of the movement does (issue #14).

Four synthetic signs in two direction twins (go: left to right / come: right to left, up / down): each
differs from its twin only in the order of its frames, so a bag of frames answers at chance. The bar:
≥ 90 % held-out top-1 on them, read from ``signdesk evaluate``'s report (its direction-twin figures).
"""

from __future__ import annotations

import json

import pytest

from signdesk.cli import main

pytestmark = pytest.mark.slow

# Measured (issue #14): the tiny random test model stays at 25 % held out whatever the adapter trains
# (language model, + projector, + vision tower), the rate, the steps, the data or the profile; the best
# variant measured (a 4-layer, 128-wide language model, 16 visual tokens per frame, 64 clips per sign,
# 20 epochs, mild backgrounds) reached 94 % on val but 67 % held out. Remove the mark once it learns.
KNOWN_GAP = "issue #14: the tiny random test model does not learn direction yet (25 % held out; best variant 67 %)"


@pytest.fixture(scope="module")
def direction_dataset(tmp_path_factory):
    from signdesk.training.synthetic import write_synthetic_dataset

    folder = tmp_path_factory.mktemp("direction-dataset")
    write_synthetic_dataset(folder, kind="direction", signs=4, counts=(24, 4, 6), seed=0)
    return folder


@pytest.mark.xfail(reason=KNOWN_GAP, strict=False)
def test_adapter_learns_direction_twins(session_home, learnable_model_dir, direction_dataset, tmp_path, capsys):
    adapter = tmp_path / "adapter"
    assert main(["train", "--dataset", str(direction_dataset), "--out", str(adapter), "--model",
                 str(learnable_model_dir), "--device", "cpu", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--dataset", str(direction_dataset), "--adapter", str(adapter), "--json",
                 "--out", str(tmp_path / "eval")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["direction_twins"] == [["go", "come"], ["up", "down"]]
    base, tuned = report["results"]["base"], report["results"]["adapter"]
    assert base["direction_twins"]["twin_clips"] == 24 and base["direction_twins"]["other_top1"] is None
    assert tuned["direction_twins"]["twin_top1"] >= 0.9, tuned["direction_twins"]
