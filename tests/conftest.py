"""Shared fixtures: every test runs with its own SIGNDESK_HOME, so no user folder is ever touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub; they make their own models
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def signdesk_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("signdesk-home")
    monkeypatch.setenv("SIGNDESK_HOME", str(home))
    for var in ("SIGNDESK_MODEL", "SIGNDESK_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real WLASL files and sample clips beside the checkout; tests that need them skip without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (licensed real data is never part of the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-weight InternVL with a real processor and tokenizer, built once per session."""
    from signdesk.engine.testmodel import make_test_model

    return make_test_model(tmp_path_factory.mktemp("tiny-internvl"))
