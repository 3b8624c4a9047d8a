"""End to end from the command line: train learns, and the adapter works in evaluate, interpret and peft."""

from __future__ import annotations

import csv
import json

import pytest

from signdesk.cli import main
from signdesk.engine.adapters import METADATA_FILE, config_fingerprint

pytestmark = pytest.mark.slow

GLOSSES = ["hello", "yes", "no", "please"]  # the synthetic dataset's, in label order


def read_events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_training_finishes_with_an_adapter_and_progress(trained):
    assert trained["code"] == 0
    adapter = trained["adapter"]
    for name in ("adapter_config.json", "adapter_model.safetensors", METADATA_FILE, "README.md", "train.log",
                 "train_config.json"):
        assert (adapter / name).is_file(), name
    assert not list(adapter.glob("adapter_model*.bin"))
    events = read_events(trained["events"])
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finished" and events[-1]["exit_code"] == 0
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all({"step", "epoch", "loss", "learning_rate", "samples_per_s", "eta_s", "total_steps"} <= set(e)
                         for e in steps)
    assert steps[-1]["samples_per_s"] > 0 and steps[-1]["total_steps"] == 12 * 24
    evals = [e for e in events if e["event"] == "eval"]
    epochs = events[-1]["metrics"]["epochs"]  # 12, or fewer if val stopped improving (early stopping)
    assert [e["epoch"] for e in evals] == list(range(1, round(epochs) + 1))  # every epoch, on val
    assert all(e["clips"] == 16 and 0 <= e["top1"] <= 1 for e in evals)
    assert "checkpoint" in kinds
    log = (adapter / "train.log").read_text()
    assert "eval at step 24 (epoch 1.00)" in log and f"finished at step {events[-1]['metrics']['global_step']}" in log
    # the cosine schedule: the rate falls to almost nothing by the end
    assert steps[-1]["learning_rate"] < 0.05 * max(e["learning_rate"] for e in steps)


def test_metadata_and_model_card(trained):
    meta = json.loads((trained["adapter"] / METADATA_FILE).read_text())
    dataset_meta = json.loads((trained["dataset"] / "dataset.json").read_text())
    assert meta["base_model"]["id"] == str(trained["model"])
    from transformers import AutoConfig

    assert meta["base_model"]["fingerprint"] == config_fingerprint(AutoConfig.from_pretrained(trained["model"]))
    assert meta["glossary"] == GLOSSES and meta["frames"] == 4
    assert meta["prompt"]["user"].startswith("Which ASL sign")
    assert meta["dataset_hash"] == dataset_meta["content_hash"]
    assert meta["metrics"]["val_top1"] >= 0.9 and meta["metrics"]["stopped"] is False
    assert meta["training"]["lora"]["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                          "up_proj", "down_proj"]
    config = json.loads((trained["adapter"] / "train_config.json").read_text())
    assert config["config"]["learning_rate"] == 2e-3 and config["frames"] == 4
    card = (trained["adapter"] / "README.md").read_text()
    assert "library_name: peft" in card and "rank 16" in card and "hello, yes, no, please" in card


def test_adapter_loads_with_plain_peft_on_the_language_model_only(trained):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(trained["model"])
    model = PeftModel.from_pretrained(base, str(trained["adapter"]))
    lora = {name: p for name, p in model.named_parameters() if "lora_" in name}
    assert lora
    assert all("language_model" in name and "vision_tower" not in name for name in lora)
    targets = {name.split(".lora_")[0].rsplit(".", 1)[-1] for name in lora}
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert any(torch.count_nonzero(p) for name, p in lora.items() if "lora_B" in name)  # it was trained


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory):
    """``signdesk evaluate`` of the trained adapter against its base model, on the held-out test split."""
    out = tmp_path_factory.mktemp("report")
    code = main(["evaluate", "--dataset", str(trained["dataset"]), "--adapter", str(trained["adapter"]),
                 "--out", str(out), "--device", "cpu"])
    with open(out / "predictions.csv") as handle:
        predictions = {r["video_id"]: r["adapter_prediction"] for r in csv.DictReader(handle)}
    return {"code": code, "out": out, "report": json.loads((out / "metrics.json").read_text()),
            "predictions": predictions}


def test_learned_held_out_signs_and_evaluate_reports_base_against_adapter(trained, evaluated):
    assert evaluated["code"] == 0
    report, out = evaluated["report"], evaluated["out"]
    base, adapter = report["results"]["base"], report["results"]["adapter"]
    assert report["split"] == "test" and adapter["clips"] == 24 and report["frames"] == 4
    assert adapter["top1"] >= 0.9, adapter  # chance is 25 %
    assert adapter["class_top1"] >= 0.9 and adapter["top5"] == 1.0
    assert base["top1"] < adapter["top1"]
    assert report["model"]["id"] == str(trained["model"])  # the adapter's base model, found from its metadata
    for name in ("metrics.json", "per_gloss.csv", "predictions.csv", "chart.png"):
        assert (out / name).is_file(), name
    with open(out / "per_gloss.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["gloss"] for r in rows] == GLOSSES and all("adapter_top1" in r and "base_top1" in r for r in rows)


def test_interpret_gives_the_same_answers_as_evaluate(trained, evaluated, capsys, tmp_path):
    """The engine's own command, clip by clip with each clip's frame range: the same predictions."""
    from signdesk.training.dataset import load_dataset

    glossary = tmp_path / "glossary.txt"
    glossary.write_text("\n".join(GLOSSES) + "\n")
    rows = load_dataset(trained["dataset"], need=("test",)).splits["test"]
    correct = 0
    for row in rows:
        code, stdout, err = run(capsys, "interpret", row.video, "--start", row.frame_start, "--end", row.frame_end,
                                "--model", trained["model"], "--adapter", trained["adapter"], "--glossary",
                                glossary, "--frames", 4, "--device", "cpu", "--json")
        assert code == 0, err
        answer = json.loads(stdout)["text"]
        assert answer == evaluated["predictions"][row.video_id], row.video_id
        correct += answer == row.gloss
    assert correct / len(rows) == pytest.approx(evaluated["report"]["results"]["adapter"]["top1"])


def test_evaluate_the_base_model_alone(capsys, small_dataset, tiny_model_dir, tmp_path):
    out = tmp_path / "report"
    code, stdout, err = run(capsys, "evaluate", "--dataset", small_dataset, "--model", tiny_model_dir, "--split", "val",
                            "--frames", 2, "--limit", 4, "--out", out, "--device", "cpu")
    assert code == 0, err
    assert "base" in stdout and "adapter" not in stdout and "split val · 4 clips" in stdout
    report = json.loads((out / "metrics.json").read_text())
    assert list(report["results"]) == ["base"] and report["frames"] == 2 and "literature" not in report
    assert (out / "chart.png").is_file()


def test_qlora_needs_a_cuda_gpu(capsys, small_dataset, tiny_model_dir, tmp_path):
    code, _, err = run(capsys, "train", "--dataset", small_dataset, "--out", tmp_path / "a", "--model", tiny_model_dir,
                       "--device", "cpu", "--quantize", "4bit")
    assert code == 2 and "4bit quantization needs an NVIDIA GPU" in err


def test_evaluate_refuses_an_empty_split(capsys, small_dataset, tmp_path):
    import shutil

    folder = tmp_path / "dataset"
    shutil.copytree(small_dataset, folder)
    (folder / "test.jsonl").write_text("")
    code, _, err = run(capsys, "evaluate", "--dataset", folder, "--model", "unused")
    assert code == 2 and "the test split is empty" in err


BAD = {
    "missing video": (lambda folder, rows: (folder / "videos" / f"{rows['train'][1]['video_id']}.mp4").unlink(),
                      "videos are missing or empty"),
    "empty split": (lambda folder, rows: (folder / "val.jsonl").write_text(""), "the val split is empty"),
    "unknown gloss": (lambda folder, rows: _edit(folder, "val", 0, gloss="banana"),
                      "not in the dataset's glossary: 'banana'"),
}


def _edit(folder, split, index, **fields):
    path = folder / f"{split}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[index].update(fields)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("problem", list(BAD))
def test_bad_datasets_are_refused_before_training(capsys, small_dataset, tmp_path, problem):
    import shutil

    folder = tmp_path / "dataset"
    shutil.copytree(small_dataset, folder)
    rows = {}
    for split in ("train", "val", "test"):  # point the copy's rows at the copy's videos
        rows[split] = [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for r in rows[split]:
            r["video"] = str(folder / "videos" / f"{r['video_id']}.mp4")
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[split]))
    damage, message = BAD[problem]
    damage(folder, rows)
    out, events = tmp_path / "adapter", tmp_path / "events.jsonl"
    # a model that does not exist: the dataset must be refused before any model is looked for
    code, _, err = run(capsys, "train", "--dataset", folder, "--out", out, "--model", tmp_path / "no-model",
                       "--events", events)
    assert code == 2
    assert message in err and err.startswith("signdesk: error: ") and "Traceback" not in err
    assert not (out / "checkpoints").exists()
    last = read_events(events)[-1]
    assert last["event"] == "failed" and last["exit_code"] == 2 and message in last["error"]


def test_resume_needs_a_run_and_a_new_run_needs_an_empty_folder(capsys, small_dataset, trained, tmp_path):
    code, _, err = run(capsys, "train", "--dataset", small_dataset, "--out", tmp_path / "fresh", "--resume")
    assert code == 2 and "nothing to resume" in err
    code, _, err = run(capsys, "train", "--dataset", small_dataset, "--out", trained["adapter"])
    assert code == 2 and "already holds a training run" in err and "--resume" in err


def test_an_unexpected_failure_is_exit_1_with_the_traceback_in_the_log(capsys, monkeypatch, small_dataset,
                                                                        tiny_model_dir, tmp_path):
    import signdesk.training.finetune as finetune

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(finetune, "build_trainer", broken)
    out, events = tmp_path / "adapter", tmp_path / "events.jsonl"
    code, _, err = run(capsys, "train", "--dataset", small_dataset, "--out", out, "--model", tiny_model_dir,
                       "--device", "cpu", "--events", events, "--quiet")
    assert code == 1
    assert "training failed: RuntimeError: CUDA error" in err and "Traceback" not in err
    last = read_events(events)[-1]
    assert last == {**last, "event": "failed", "exit_code": 1}
    log = (out / "train.log").read_text()
    assert "Traceback" in log and "illegal memory access" in log


def test_trains_on_what_data_prepare_writes(capsys, small_dataset, tiny_model_dir, tmp_path):
    """The data pipeline's own ``prepare`` output (absolute paths, its dataset.json) goes straight in."""
    import shutil

    from signdesk.data.glossary import Glossary
    from signdesk.data.index import parse_index
    from signdesk.data.prepare import prepare_dataset
    from signdesk.training.dataset import load_dataset

    source = load_dataset(small_dataset)
    videos = tmp_path / "videos"
    videos.mkdir()
    entries: dict[str, list[dict]] = {}
    for n, row in enumerate(r for split in source.splits.values() for r in split):
        video_id = f"{n:05d}"
        shutil.copy(row.video, videos / f"{video_id}.mp4")
        entries.setdefault(row.gloss, []).append({
            "video_id": video_id, "url": f"https://example.org/{video_id}.mp4", "split": row.split,
            "signer_id": row.signer, "source": "test", "frame_start": row.frame_start, "frame_end": row.frame_end,
            "fps": 25, "bbox": [0, 0, 10, 10], "instance_id": 0, "variation_id": 0})
    index = parse_index([{"gloss": g, "instances": i} for g, i in entries.items()], tmp_path / "index.json")
    prepared = tmp_path / "prepared"
    meta = prepare_dataset(index, Glossary("test", tuple(entries), "test"), videos, prepared)
    data = load_dataset(prepared)
    assert data.glosses == meta["glosses"] and len(data.splits["train"]) == len(source.splits["train"])
    out = tmp_path / "adapter"
    code, _, err = run(capsys, "train", "--dataset", prepared, "--out", out, "--model", tiny_model_dir, "--device",
                       "cpu", "--frames", 2, "--epochs", 1, "--batch-size", 8, "--quiet")
    assert code == 0, err
    assert json.loads((out / METADATA_FILE).read_text())["dataset_hash"] == meta["content_hash"]
