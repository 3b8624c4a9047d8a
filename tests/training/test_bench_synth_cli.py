"""``signdesk train-bench`` and ``signdesk synth-dataset`` from the command line."""

from __future__ import annotations

import json

from signdesk.cli import main


def test_train_bench_reports_throughput_and_memory(capsys):
    code = main(["train-bench", "--device", "cpu", "--steps", "2", "--frames", "2", "--batch-size", "2", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["device"] == "cpu" and report["model"] == "tiny test model"
    assert report["steps_timed"] == 2 and report["clips_per_s"] > 0 and report["seconds_per_step"] > 0
    assert report["trainable_parameters"] < report["parameters"]
    assert report["tokens_per_clip"] > 2 * 16  # two frames of 16 visual tokens, plus the prompt
    assert report["peak_gpu_memory_mb"] is None and report["peak_rss_mb"] >= report["rss_after_load_mb"] > 0


def test_synth_dataset_command(capsys, tmp_path):
    code = main(["synth-dataset", str(tmp_path / "d"), "--signs", "3", "--train", "2", "--val", "1", "--test", "1",
                 "--size", "48"])
    out, _ = capsys.readouterr()
    assert code == 0 and "3 signs (hello, yes, no)" in out
    meta = json.loads((tmp_path / "d" / "dataset.json").read_text())
    assert meta["counts"]["train"] == 6 and meta["glosses"] == ["hello", "yes", "no"]
    assert (tmp_path / "d" / "train.yaml").is_file() and f"{tmp_path / 'd' / 'train.yaml'}, used by" in out
    assert main(["synth-dataset", str(tmp_path / "e"), "--signs", "9"]) == 2
    assert "2 to 6 signs" in capsys.readouterr().err
