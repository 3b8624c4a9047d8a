"""Shared, expensive fixtures of the training tests: built once per session.

Session fixtures run outside the per-test ``signdesk_home`` fixture, so each sets its own
``SIGNDESK_HOME`` while it works: nothing ever reads or writes the real user folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signdesk.training.synthetic import TRAIN_SETTINGS

# The learning run: the synthetic dataset's recommended settings (the train.yaml it writes), given as
# --config: LoRA defaults (rank 16, alpha 32, attention + MLP of the language model), a higher rate and
# smaller batches than for a real model, 4 frames, 12 epochs of 24 steps.
LEARN_CONFIG = TRAIN_SETTINGS + "logging_steps: 8\n"

# The stop/resume runs: dropout and jitter on, so that exact continuation needs the RNG, the jitter
# epoch and the data order restored; accumulation on, so the step/micro-batch bookkeeping is tested.
RESUME_CONFIG = """\
frames: 2
epochs: 5
batch_size: 4
grad_accum: 2
learning_rate: 2.0e-3
jitter: 0.2
logging_steps: 1
lora:
  rank: 4
  alpha: 8
  dropout: 0.1
"""


@pytest.fixture
def resume_config() -> str:
    return RESUME_CONFIG


@pytest.fixture(scope="session")
def session_home(tmp_path_factory):
    """A SIGNDESK_HOME for work done by session fixtures."""
    home = tmp_path_factory.mktemp("signdesk-home-session")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIGNDESK_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def learnable_model_dir(tiny_model_dir) -> Path:
    """The tiny test model (its language model initialised wide enough for LoRA to move its answers)."""
    return tiny_model_dir


@pytest.fixture(scope="session")
def learn_model_dir(tmp_path_factory) -> Path:
    """The test model's "learn" variant (``make-test --size learn``): 16 visual tokens per CPU frame, a wider
    language model and pretrained-like conditioning, for what the tiny model cannot represent (direction)."""
    from signdesk.engine.testmodel import make_test_model

    return make_test_model(tmp_path_factory.mktemp("learn-internvl"), size="learn")


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory) -> Path:
    """4 signs x (24 train, 4 val, 6 test) clips."""
    from signdesk.training.synthetic import write_synthetic_dataset

    folder = tmp_path_factory.mktemp("synth-dataset")
    write_synthetic_dataset(folder, signs=4, counts=(24, 4, 6), seed=0)
    return folder


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """4 signs x (8 train, 2 val, 2 test) clips, for runs that check mechanics, not learning."""
    from signdesk.training.synthetic import write_synthetic_dataset

    folder = tmp_path_factory.mktemp("small-dataset")
    write_synthetic_dataset(folder, signs=4, counts=(8, 2, 2), seed=1, size=(64, 64))
    return folder


@pytest.fixture(scope="session")
def trained(session_home, learnable_model_dir, synth_dataset, tmp_path_factory) -> dict:
    """One full training run from the command line; several tests inspect its results."""
    from signdesk.cli import main

    work = tmp_path_factory.mktemp("trained")
    config = work / "train.yaml"
    config.write_text(LEARN_CONFIG)
    adapter, events = work / "adapter", work / "events.jsonl"
    code = main(["train", "--dataset", str(synth_dataset), "--out", str(adapter), "--model", str(learnable_model_dir),
                 "--device", "cpu", "--config", str(config), "--events", str(events), "--quiet"])
    return {"code": code, "adapter": adapter, "events": events, "model": learnable_model_dir,
            "dataset": synth_dataset, "work": work}
