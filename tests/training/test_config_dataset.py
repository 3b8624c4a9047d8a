"""Training config files, dataset checks and the synthetic dataset's format."""

from __future__ import annotations

import json
import shutil

import pytest

from signdesk.data.prepare import content_hash
from signdesk.errors import ConfigError
from signdesk.training.config import DEFAULT_TARGETS, TrainConfig, load_config
from signdesk.training.dataset import DatasetError, load_dataset


def test_config_defaults_file_and_overrides(tmp_path):
    assert TrainConfig().lora.target_modules == list(DEFAULT_TARGETS)
    path = tmp_path / "train.yaml"
    path.write_text("epochs: 2\nlearning_rate: 1.0e-4\nlora:\n  rank: 8\n  target_modules: [q_proj, v_proj]\n")
    config = load_config(path)
    assert (config.epochs, config.learning_rate, config.lora.rank, config.lora.alpha) == (2.0, 1e-4, 8, 32)
    assert config.lora.target_modules == ["q_proj", "v_proj"]
    assert config.with_overrides({"epochs": 5, "frames": None}).epochs == 5.0
    json_path = tmp_path / "train.json"
    json_path.write_text(json.dumps({"lora.dropout": 0.2, "quantize": "4bit"}))
    assert load_config(json_path).lora.dropout == 0.2


def test_a_rate_written_1e_3_is_a_number(tmp_path):
    """PyYAML reads 1e-3 (no dot) as text; a number setting takes it as the number it means."""
    path = tmp_path / "train.yaml"
    path.write_text("learning_rate: 1e-3\nepochs: 12\n")
    assert load_config(path).learning_rate == 0.001
    path.write_text("learning_rate: fast\n")
    with pytest.raises(ConfigError, match="'learning_rate' must be"):
        load_config(path)


@pytest.mark.parametrize(("text", "message"), [
    ("epochs: 2\nlerning_rate: 0.1\n", "unknown training setting 'lerning_rate'"),
    ("batch_size: 0\n", "'batch_size' must be an integer of 1 or more"),
    ("quantize: 8bit\n", "'quantize' must be none | 4bit"),
    ("lora:\n  rank: two\n", "'lora.rank' must be an integer"),
    ("gradient_checkpointing: maybe\n", "'gradient_checkpointing' must be true, false or auto"),
    ("- a list\n", "a mapping of settings"),
    ("epochs: [\n", "not valid YAML"),
])
def test_bad_config_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("|", r"\|").replace("[", r"\[")):
        load_config(path)


def test_an_unknown_training_setting_lists_the_known_ones_in_order_and_ints_become_floats():
    from signdesk.training.config import SCHEMA

    with pytest.raises(ConfigError, match=r"^f: unknown training setting 'x' \(known: frames, epochs, max_steps, "):
        SCHEMA.validate({"x": 1}, "f")
    checked = SCHEMA.validate({"epochs": 3, "batch_size": 2, "frames": None}, "f")
    assert checked == {"epochs": 3.0, "batch_size": 2, "frames": None} and type(checked["epochs"]) is float
    with pytest.raises(ConfigError, match="'frames' must be an integer from 1 to 64, or null"):
        SCHEMA.validate({"frames": True}, "f")


def test_synthetic_dataset_is_the_data_pipelines_format(small_dataset):
    from signdesk.data.manifest import read_dataset

    raw = read_dataset(small_dataset)  # the data pipeline's own reader accepts it
    meta = raw.meta
    assert meta["glosses"] == ["hello", "yes", "no", "please"]
    assert {s: len(rows) for s, rows in raw.splits.items()} == {"train": 32, "val": 8, "test": 8}
    assert meta["counts"]["train"] == 32
    data = load_dataset(small_dataset)
    # the same recipe as `signdesk data prepare`
    assert data.content_hash == meta["content_hash"] == content_hash(list(data.glosses), list(data.all_rows()))
    row = data.splits["train"][0]
    assert row.label == data.glosses.index(row.gloss)
    assert 1 < row.frame_start <= row.frame_end < row.frames  # the sign sits between still frames


def rewrite(folder, split, change):
    path = folder / f"{split}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = change(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def dataset_copy(small_dataset, tmp_path):
    """A copy whose rows name their videos relative to the folder (a dataset moved elsewhere)."""
    folder = tmp_path / "dataset"
    shutil.copytree(small_dataset, folder)

    def relative(rows):
        for r in rows:
            r["video"] = f"videos/{r['video_id']}.mp4"
        return rows

    for split in ("train", "val", "test"):
        rewrite(folder, split, relative)
    return folder


def test_relative_video_paths_resolve_against_the_dataset_folder(dataset_copy):
    data = load_dataset(dataset_copy)
    assert data.splits["val"][0].video == str(dataset_copy / "videos" / f"{data.splits['val'][0].video_id}.mp4")


def test_missing_videos_are_listed(dataset_copy):
    first = json.loads((dataset_copy / "train.jsonl").read_text().splitlines()[0])
    (dataset_copy / "videos" / f"{first['video_id']}.mp4").unlink()
    with pytest.raises(DatasetError, match=r"1 of 48 videos are missing or empty: .*hello-train-000\.mp4"):
        load_dataset(dataset_copy)


def test_empty_split_is_refused(dataset_copy):
    (dataset_copy / "val.jsonl").write_text("")
    with pytest.raises(DatasetError, match="the val split is empty"):
        load_dataset(dataset_copy)
    load_dataset(dataset_copy, need=("train",))  # fine where val is not needed


def test_gloss_outside_the_glossary_is_refused(dataset_copy):
    def banana(rows):
        rows[0]["gloss"] = "banana"
        return rows

    rewrite(dataset_copy, "test", banana)
    with pytest.raises(DatasetError, match=r"not in the dataset's glossary: 'banana' \(test:hello-test-000\)"):
        load_dataset(dataset_copy)


def test_label_disagreeing_with_the_glossary_is_refused(dataset_copy):
    def relabel(rows):
        rows[0]["label"] = 3
        return rows

    rewrite(dataset_copy, "train", relabel)
    with pytest.raises(DatasetError, match="label that disagrees with the glossary"):
        load_dataset(dataset_copy)


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        load_dataset(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="not a prepared dataset"):
        load_dataset(tmp_path)


def test_wlasl_subsets_are_recognised_only_with_the_preset_and_the_official_split(small_dataset):
    data = load_dataset(small_dataset)
    assert data.wlasl_subset() is None  # synthetic
    data.meta = {**data.meta, "glossary": {"name": "WLASL300", "source": "preset", "size": 300},
                 "split": {"method": "official", "seed": 0}}
    assert data.wlasl_subset() == "wlasl300"
    data.meta["split"] = {"method": "stratified", "seed": 0}
    assert data.wlasl_subset() is None  # another split: not comparable with published numbers
    data.meta["split"] = {"method": "official", "seed": 0}
    data.meta["glossary"] = {"name": "wlasl300", "source": "/home/me/wlasl300.txt", "size": 300}
    assert data.wlasl_subset() is None  # a file that happens to be called so


def _plan(dataset, out, **flags):
    from argparse import Namespace

    from signdesk.training.finetune import plan_job

    args = Namespace(dataset=dataset, out=out, config=None, resume=False, model="some/model", revision=None,
                     device="cpu", epochs=None, lr=None, max_steps=None, frames=None, batch_size=None, quantize=None)
    vars(args).update(flags)
    job, checkpoint = plan_job(args)
    assert checkpoint is None
    return job


def test_train_uses_the_datasets_recommended_settings_unless_given_others(small_dataset, tmp_path):
    from signdesk.training.synthetic import TRAIN_SETTINGS

    own = small_dataset / "train.yaml"
    assert own.read_text() == TRAIN_SETTINGS  # the synthetic dataset recommends its settings
    job = _plan(small_dataset, tmp_path / "a")
    assert (job.config.learning_rate, job.config.epochs, job.config.grad_accum, job.frames) == (2e-3, 12.0, 1, 4)
    assert job.settings.startswith(f"{own} (the dataset's recommended settings")
    assert job.to_json()["settings"] == job.settings
    job = _plan(small_dataset, tmp_path / "a", epochs=2.0)  # flags still win over the file
    assert (job.config.epochs, job.config.learning_rate) == (2.0, 2e-3)
    assert job.settings.endswith("with epochs from the command line")
    mine = tmp_path / "mine.yaml"
    mine.write_text("learning_rate: 1.0e-4\n")
    job = _plan(small_dataset, tmp_path / "a", config=mine)  # --config replaces the dataset's file
    assert (job.config.learning_rate, job.config.epochs, job.config.grad_accum) == (1e-4, 3.0, 4)
    assert job.settings == str(mine)
    plain = tmp_path / "plain"  # e.g. `signdesk data prepare`'s output: no train.yaml, the real defaults
    shutil.copytree(small_dataset, plain)
    (plain / "train.yaml").unlink()
    job = _plan(plain, tmp_path / "a")
    assert job.config == TrainConfig() and job.settings.startswith("the defaults")


def _plan_resume(dataset, out, **flags):
    from argparse import Namespace

    from signdesk.training.finetune import plan_job

    args = Namespace(dataset=dataset, out=out, config=None, resume=True, model=None, revision=None, device=None,
                     epochs=None, lr=None, max_steps=None, frames=None, batch_size=None, quantize=None)
    vars(args).update(flags)
    return plan_job(args)


def test_resume_keeps_the_saved_settings_whatever_the_dataset_recommends(small_dataset, tmp_path):
    from signdesk.training.callbacks import CHECKPOINT_MARK

    first = _plan(small_dataset, tmp_path / "a")  # the dataset's train.yaml, with epochs changed
    first.config = first.config.with_overrides({"epochs": 5.0})
    first.out.mkdir()
    (first.out / "train_config.json").write_text(json.dumps(first.to_json()))
    checkpoint = first.out / "checkpoints" / "checkpoint-8"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    (checkpoint / CHECKPOINT_MARK).write_text(json.dumps({"step": 8}))
    job, found = _plan_resume(small_dataset, first.out)
    assert found == checkpoint and job.config == first.config and "saved by the run" in job.settings
    job, _ = _plan_resume(small_dataset, first.out, epochs=5.0)  # a flag that agrees with the saved run
    assert job.config == first.config
    with pytest.raises(ConfigError, match=r"these differ: epochs \("):
        _plan_resume(small_dataset, first.out, epochs=6.0)



def test_lora_vision_adds_the_projector_and_the_tower(tmp_path):
    import re

    from signdesk.training.finetune import lora_targets

    names = {"lm": "model.language_model.layers.0.self_attn.q_proj", "proj": "model.multi_modal_projector.linear_1",
             "tower": "model.vision_tower.encoder.layer.1.mlp.fc2",
             "tower_attn": "model.vision_tower.encoder.layer.0.attention.q_proj"}

    def matched(vision):
        pattern = lora_targets(list(DEFAULT_TARGETS), vision)
        return {k for k, n in names.items() if re.fullmatch(pattern, n)}

    assert matched("none") == {"lm"}
    assert matched("projector") == {"lm", "proj"}
    assert matched("tower") == {"lm", "proj", "tower", "tower_attn"}
    path = tmp_path / "t.yaml"
    path.write_text("lora:\n  vision: projector\n")
    assert load_config(path).lora.vision == "projector" and TrainConfig().lora.vision == "none"
    path.write_text("lora:\n  vision: everything\n")
    with pytest.raises(ConfigError, match=r"none \| projector \| tower"):
        load_config(path)
