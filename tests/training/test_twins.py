"""Direction twins: the synthetic pairs, the packaged ASL pairs and the evaluation report's split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signdesk.cli import main
from signdesk.training.evaluate import format_summary, summarize
from signdesk.training.twins import dataset_twins, packaged_pairs, twin_summary
from signdesk.video.synth import DIRECTIONS, direction_frames


def square_centre(frame: np.ndarray, background: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(np.abs(frame.astype(int) - background).sum(axis=2) > 60)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_a_direction_sign_moves_one_way_only(direction):
    frames = direction_frames(direction, 12, 64, 48, still_before=2, still_after=3, seed=5)
    assert frames.shape == (17, 48, 64, 3)
    background = np.median(frames[:, :2, :2].reshape(-1, 3), axis=0)  # a corner the square never covers alone
    centres = np.array([square_centre(f, background) for f in frames])
    axis = 0 if direction in ("left-to-right", "right-to-left") else 1
    sign = 1 if direction in ("left-to-right", "top-to-bottom") else -1
    steps = np.diff(centres[2:14, axis]) * sign
    assert (steps >= 0).all() and steps.sum() > 10  # it travels, one way
    assert np.ptp(centres[:, 1 - axis]) <= 1.0  # and never across
    assert (centres[:2] == centres[2]).all() and (centres[-3:] == centres[13]).all()  # held at start and end


def test_twins_differ_only_in_direction():
    """The same draw (seed) gives the twin the same frames in reverse order, up to the mirror image."""
    forward = direction_frames("left-to-right", 10, 64, 64, seed=3)
    backward = direction_frames("right-to-left", 10, 64, 64, seed=3)
    background = forward[0, 0, 0].astype(int)
    fx = [square_centre(f, background)[0] for f in forward]
    bx = [square_centre(f, background)[0] for f in backward]
    assert fx == pytest.approx(bx[::-1], abs=1.0)  # one path, travelled the other way
    # positions over a whole dataset: the same spread for both twins, so single frames tell nothing
    starts = {d: [square_centre(direction_frames(d, 2, 64, 64, seed=s)[0], np.array([0, 0, 0]))[0]
                  for s in range(200)] for d in ("left-to-right", "right-to-left")}
    assert abs(np.mean(starts["left-to-right"]) + np.mean(starts["right-to-left"]) - 64) < 4  # mirrored


def test_synth_dataset_direction_and_mixed_kinds(capsys, tmp_path):
    code = main(["synth-dataset", str(tmp_path / "d"), "--kind", "direction", "--train", "2", "--val", "1",
                 "--test", "1", "--size", "48"])
    out, _ = capsys.readouterr()
    assert code == 0 and "4 signs (go, come, up, down)" in out and "direction twins" in out and "go/come" in out
    meta = json.loads((tmp_path / "d" / "dataset.json").read_text())
    assert meta["direction_twins"] == [["go", "come"], ["up", "down"]]
    assert meta["synthetic"]["motions"] == {"go": "left-to-right", "come": "right-to-left", "up": "bottom-to-top",
                                            "down": "top-to-bottom"}
    assert main(["synth-dataset", str(tmp_path / "b"), "--kind", "both", "--signs", "6", "--train", "1", "--val", "1",
                 "--test", "1", "--size", "32"]) == 0
    meta = json.loads((tmp_path / "b" / "dataset.json").read_text())
    assert meta["glosses"] == ["go", "come", "hello", "yes", "up", "down"]  # the easy signs stay
    assert meta["direction_twins"] == [["go", "come"], ["up", "down"]]
    capsys.readouterr()
    assert main(["synth-dataset", str(tmp_path / "e"), "--kind", "direction", "--signs", "5"]) == 2
    assert "2 to 4 signs" in capsys.readouterr().err
    assert main(["synth-dataset", str(tmp_path / "f"), "--signs", "3", "--train", "1", "--val", "1", "--test", "1",
                 "--size", "32"]) == 0
    assert json.loads((tmp_path / "f" / "dataset.json").read_text())["direction_twins"] == []  # appearance only



def test_synth_dataset_trains_direction_twins_on_more_clips_by_default(monkeypatch, capsys, tmp_path):
    """Direction's recommended settings need 128 training clips per sign (issue #14); --train still wins."""
    import signdesk.training.synthetic as synthetic

    asked = []
    real = synthetic.write_synthetic_dataset

    def write(out, **kw):  # records what was asked, writes one clip per split
        asked.append((kw["kind"], kw["counts"]))
        return real(out, **{**kw, "counts": (1, 1, 1)})

    monkeypatch.setattr(synthetic, "write_synthetic_dataset", write)
    for kind, extra in (("direction", []), ("appearance", []), ("direction", ["--train", "7"])):
        folder = str(tmp_path / f"{kind}{len(extra)}")
        assert main(["synth-dataset", folder, "--kind", kind, "--size", "32", *extra]) == 0
    assert asked == [("direction", (128, 4, 6)), ("appearance", (24, 4, 6)), ("direction", (7, 4, 6))]
    assert "epochs: 12" in (tmp_path / "direction0" / "train.yaml").read_text()

def test_packaged_pairs_cover_the_core_glossary():
    pairs = packaged_pairs()
    assert ("go", "come") in pairs and ("tomorrow", "yesterday") in pairs
    from signdesk import paths

    core = [line.split("#")[0].strip() for line in
            (paths.resources_dir() / "glossaries" / "core-320.txt").read_text(encoding="utf-8").splitlines()]
    core = [g for g in core if g]
    found = dataset_twins({}, core)
    assert {("go", "come"), ("tomorrow", "yesterday"), ("before", "after"), ("open", "close"),
            ("connect", "disconnect")} <= set(found)
    assert all(a in core and b in core for a, b in found)
    # a dataset's own list wins (synthetic datasets write theirs), and only pairs it has count
    assert dataset_twins({"direction_twins": [["go", "come"]]}, ["come", "go", "up", "down"]) == [("go", "come")]
    assert dataset_twins({}, ["Go", "come", "up"]) == [("Go", "come")]


GLOSSES = ["go", "come", "hello", "yes"]


def test_report_splits_twins_from_the_rest():
    # clips: go, go, come, hello, yes, yes; the model takes go for come once and come for go (the twin
    # mistake), and gets the others right except one yes taken for hello
    labels = [0, 0, 1, 2, 3, 3]
    predicted = [0, 1, 0, 2, 3, 2]
    scores = np.full((6, 4), -5.0)
    scores[np.arange(6), predicted] = 0.0
    twins = twin_summary(scores, labels, GLOSSES, [("go", "come")])
    assert twins == {"pairs": [["go", "come"]], "twin_clips": 3, "twin_top1": pytest.approx(1 / 3),
                     "twin_swapped": pytest.approx(2 / 3), "other_clips": 3, "other_top1": pytest.approx(2 / 3)}
    assert twin_summary(scores, labels, GLOSSES, [])["twin_top1"] is None  # no twins: nothing to say
    result = summarize(scores, labels, GLOSSES)
    result["direction_twins"] = twins
    report = {"dataset": {"name": "synthetic-4"}, "split": "test", "frames": 4, "glossary_size": 4,
              "direction_twins": [["go", "come"]], "results": {"adapter": result}}
    text = format_summary(report)
    lines = {line[:16].strip(): line[16:].split() for line in text.splitlines()}
    assert lines["top-1"] == ["50.0", "%"] and lines["twins top-1"] == ["33.3", "%"]
    assert lines["others top-1"] == ["66.7", "%"]
    assert "3 clips of signs that differ from another only in the direction of the movement (go/come)" in text
