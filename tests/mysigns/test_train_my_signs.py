"""Training on my signs: alone or mixed (one glossary space, weighted takes), figures apart, nothing leaks.

The learning test records "synthetic-like" takes (distinct motions, imported through the same
segmenter as camera takes) of two words of mine, mixes them with a small synthetic dataset of two other
signs, trains the tiny test model and evaluates: my-signs top-1 on the takes held out per word.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from signdesk.cli import main
from signdesk.data.manifest import read_dataset
from signdesk.mysigns.recorder import import_video
from signdesk.mysigns.store import TakeStore
from signdesk.mysigns.training import PRIVATE_LABEL, auto_weight, build_training_set, shown_dataset_path
from signdesk.training.dataset import load_dataset
from signdesk.training.synthetic import TRAIN_SETTINGS, write_synthetic_dataset
from signdesk.video.synth import motion_frames, write_video

MY_WORDS = (("grandma", "circle"), ("office", "still-blink"))  # motions a 2-sign synthetic set does not use


def record_takes(store: TakeStore, work: Path, takes: int, words=MY_WORDS, size: int = 96) -> None:
    """Takes of each word with per-take variation (length, phase, rests, noise), imported like files."""
    for word, motion in words:
        for k in range(takes):
            rng = np.random.default_rng([7, k, len(word)])
            length = int(rng.integers(16, 29))
            before, after = (int(x) for x in rng.integers(4, 8, size=2))
            frames = motion_frames(motion, length, size, size, still_before=before, still_after=after,
                                   seed=int(rng.integers(0, 2**31)), phase=float(rng.uniform(0.0, 0.3)))
            import_video(store, word, write_video(work / f"{word}-{k}.mp4", frames, fps=25.0))


@pytest.fixture
def takes_and_synth(tmp_path):
    store = TakeStore(tmp_path / "mine")
    record_takes(store, tmp_path, 5)
    synth = tmp_path / "synth"
    write_synthetic_dataset(synth, signs=2, counts=(12, 2, 2), seed=0, size=(64, 64))
    return store, synth


def test_my_signs_alone_is_a_training_set_with_its_own_settings(takes_and_synth, tmp_path):
    store, _ = takes_and_synth
    meta = build_training_set(store, tmp_path / "alone")
    data = load_dataset(tmp_path / "alone", need=("train", "val", "test"))
    assert data.glosses == ["grandma", "office"] and meta["my_signs"]["weight"] == 1
    assert Counter(r.split for rows in data.splits.values() for r in rows) == {"train": 6, "val": 2, "test": 2}
    assert "epochs: 10" in (tmp_path / "alone" / "train.yaml").read_text()
    assert shown_dataset_path(tmp_path / "alone") == PRIVATE_LABEL == shown_dataset_path(store.folder)


def test_mixing_puts_both_in_one_glossary_and_weights_only_training_takes(takes_and_synth, tmp_path):
    store, synth = takes_and_synth
    # a take of a word the dataset already has shares its label
    record_takes(store, tmp_path, 1, words=(("hello", "circle"),))
    meta = build_training_set(store, tmp_path / "mixed", mix=synth)
    data = load_dataset(tmp_path / "mixed", need=("train", "val", "test"))
    synth_glosses = read_dataset(synth).glosses
    assert data.glosses == [*synth_glosses, "grandma", "office"]  # the dataset's order, then words only I have
    weight = meta["my_signs"]["weight"]
    assert weight == auto_weight([12, 12], [3, 3, 1]) == 4  # median 12 clips per gloss / median 3 takes per word
    mine = {s: [r for r in rows if r.source == "recorded"] for s, rows in data.splits.items()}
    assert len(mine["train"]) == weight * 7 and len(mine["val"]) == 2 and len(mine["test"]) == 2
    assert {r.label for r in mine["train"] if r.gloss == "hello"} == {synth_glosses.index("hello")}
    assert len({r.video_id for r in data.all_rows()}) == len(data.all_rows())  # copies have ids of their own
    assert all(Path(r.video).is_absolute() and Path(r.video).is_file() for r in data.all_rows())
    build_training_set(store, tmp_path / "fixed", mix=synth, weight=2)
    assert sum(r.source == "recorded" for r in load_dataset(tmp_path / "fixed").splits["train"]) == 14
    assert shown_dataset_path(synth) == str(synth)  # an ordinary dataset keeps its path


def test_deleting_takes_removes_the_training_sets_built_from_them(takes_and_synth):
    store, synth = takes_and_synth
    build_training_set(store, mix=synth)
    assert (store.folder / "mixed").is_dir()
    store.delete_word("office")
    assert not (store.folder / "mixed").exists()


def test_the_training_settings_file_is_the_one_train_reads():
    from signdesk.mysigns import training
    from signdesk.training import config

    assert training.DATASET_CONFIG == config.DATASET_CONFIG


def test_training_needs_held_out_takes(tmp_path):
    store = TakeStore(tmp_path / "mine")
    record_takes(store, tmp_path, 3)  # 2 train + 1 test per word: nothing for validation yet
    with pytest.raises(Exception, match="no validation takes"):
        build_training_set(store, tmp_path / "alone")


def _texts(folder: Path) -> dict[Path, str]:
    out = {}
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                out[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                out[path] = path.read_bytes().decode("latin-1")
    return out


#: The synthetic dataset's recommended settings for the tiny model (its train.yaml), without early stopping
#: (val is a handful of clips). Measured on 2 busy cores: about 4 minutes (245 s of training, 264 steps);
#: my signs 100 % top-1 on the 6 held-out takes, base model 0 %. With 10 takes per word (2 held out per
#: word) the same run reached 75 % (3 of 4): 15 takes per word give the model the variety it needs.
LEARN_MINE = TRAIN_SETTINGS + "early_stopping_patience: 0\nlogging_steps: 20\n"


@pytest.mark.slow
def test_training_on_recorded_takes_plus_a_synthetic_set_learns_my_signs(tmp_path, tiny_model_dir, capsys):
    store = TakeStore(tmp_path / "mine")
    record_takes(store, tmp_path, 15)  # per word: 10 train, 2 val, 3 test
    synth = tmp_path / "synth"
    write_synthetic_dataset(synth, signs=2, counts=(24, 2, 2), seed=0)  # hello: left-right, yes: up-down
    mixed = store.folder / "mixed" / "with-synth"
    assert main(["my-signs", "dataset", "--folder", str(store.folder), "--mix", str(synth), "--out", str(mixed)]) == 0
    config = tmp_path / "train.yaml"
    config.write_text(LEARN_MINE)
    adapter = tmp_path / "adapter"
    code = main(["train", "--dataset", str(mixed), "--out", str(adapter), "--model", str(tiny_model_dir),
                 "--device", "cpu", "--config", str(config), "--quiet"])
    assert code == 0, capsys.readouterr().err[-3000:]
    capsys.readouterr()
    assert main(["evaluate", "--dataset", str(mixed), "--adapter", str(adapter)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((adapter / "eval-test" / "metrics.json").read_text())
    mine = report["results"]["adapter"]["my_signs"]
    print(f"\nmy signs: base {report['results']['base']['my_signs']['top1']:.3f}, adapter {mine['top1']:.3f} "
          f"on {mine['clips']} held-out takes; all test clips {report['results']['adapter']['top1']:.3f}")
    assert mine["clips"] == 6 and mine["classes"] == 2  # 3 held-out takes per word, never trained on
    assert mine["top1"] >= 0.9, (mine, printed)
    assert "my signs (adapter): top-1" in printed
    # Use: the adapter carries the combined glossary
    meta = json.loads((adapter / "signdesk.json").read_text())
    assert meta["glossary"] == read_dataset(mixed).glosses == [*read_dataset(synth).glosses, "grandma", "office"]
    # privacy: no clip, no takes folder, no clip path anywhere in the adapter folder (model card included)
    assert not [p for p in adapter.rglob("*") if p.suffix.lower() in {".mp4", ".avi", ".mov", ".mkv", ".webm"}]
    takes = store.takes()
    for path, text in _texts(adapter).items():
        assert str(store.folder) not in text, path
        assert not [t.video for t in takes if t.video in text], path  # clips/<take>.mp4
    assert meta["dataset"]["path"] == PRIVATE_LABEL


def test_the_wizard_trains_and_evaluates_on_the_training_set_of_its_choice(tmp_path):
    from signdesk.training.wizard_state import WizardState, evaluate_argv, train_argv

    state = WizardState(dataset_dir=str(tmp_path / "wlasl"), my_signs_dir=str(tmp_path / "mine"),
                        adapter_dir=str(tmp_path / "adapter"))
    assert state.training_dataset == tmp_path / "wlasl"
    assert state.training_label == state.glossary_label
    state.train_on = "mine"
    assert state.training_dataset == tmp_path / "mine" / "mixed" / "alone" and state.training_label == "my-signs"
    state.train_on = "mixed"
    assert state.training_dataset == tmp_path / "mine" / "mixed" / "with-wlasl"
    for argv in (train_argv(state, "m"), evaluate_argv(state)):
        assert argv[argv.index("--dataset") + 1] == str(tmp_path / "mine" / "mixed" / "with-wlasl")
    path = tmp_path / "wizard.json"
    state.save(path)
    assert WizardState.load(path).train_on == "mixed"
    path.write_text(path.read_text().replace('"mixed"', '"everything"'))
    assert WizardState.load(path).train_on == "dataset"


def test_the_wizard_builds_the_training_set_it_trains_on(takes_and_synth):
    from signdesk.training.wizard_state import WizardState, my_signs_argv, my_signs_summary, write_training_set

    store, synth = takes_and_synth
    state = WizardState(dataset_dir=str(synth), my_signs_dir=str(store.folder), train_on="dataset")
    assert my_signs_argv(state) is None and write_training_set(state) == synth
    assert my_signs_summary(state) == {"clips": 10, "glosses": 2, "train": 6, "val": 2, "test": 2}
    state.train_on = "mixed"
    folder = write_training_set(state)
    assert folder == store.folder / "mixed" / "with-synth"
    assert load_dataset(folder).glosses[-2:] == ["grandma", "office"]
    argv = my_signs_argv(state)
    assert argv[:2] == ["my-signs", "dataset"] and argv[argv.index("--mix") + 1] == str(synth)
    state.train_on = "mine"
    assert load_dataset(write_training_set(state)).glosses == ["grandma", "office"]
