"""LoRA adapters made here with peft: load, switch, none, refuse — on one base model load."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from signdesk.engine.adapters import METADATA_FILE, config_fingerprint
from signdesk.errors import ModelError


def make_adapter(tiny_model_dir: Path, out: Path, seed: int, meta: dict | None = None) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(seed)
    base = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)  # a fresh copy: peft edits in place
    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                        target_modules=r".*language_model.*\.(q_proj|v_proj|up_proj)")
    with warnings.catch_warnings():  # peft's own deprecation noise while building the test adapter
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(base, config)
    with torch.no_grad():  # large enough to move the answers of a random model
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    model.save_pretrained(out)
    if meta is not None:
        (out / METADATA_FILE).write_text(json.dumps(meta))
    return out


@pytest.fixture
def interpreter(tiny_model_dir, build_interpreter):
    """On a model loaded for this test alone: peft adds LoRA layers to the base model in place, so on
    the session's shared ``loaded_tiny`` they would stay in the base model of every later test."""
    from signdesk.engine.loader import load_model

    return build_interpreter(load_model(str(tiny_model_dir), device="cpu"))


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return {
        "a": make_adapter(tiny_model_dir, root / "a", 1),
        "b": make_adapter(tiny_model_dir, root / "b", 2),
    }


def scores(interpreter) -> np.ndarray:
    frames = np.random.default_rng(5).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    interpreter.configure(top_k=20)
    result = interpreter.interpret_frames(frames)
    return np.array([c.score for c in sorted(result.candidates, key=lambda c: c.text)])


def test_adapters_are_safetensors_only(adapters):
    assert (adapters["a"] / "adapter_model.safetensors").exists()
    assert not list(adapters["a"].glob("*.bin"))


def test_load_switch_and_none_without_reloading_the_base(interpreter, adapters):
    base_module = interpreter.loaded.model
    plain = scores(interpreter)
    assert interpreter.set_adapter(adapters["a"]) == "a"
    with_a = scores(interpreter)
    interpreter.set_adapter(adapters["b"])
    with_b = scores(interpreter)
    assert interpreter.adapter == "b"
    assert not np.allclose(with_a, plain, atol=1e-4)
    assert not np.allclose(with_b, with_a, atol=1e-4)

    interpreter.set_adapter(None)
    assert interpreter.adapter is None
    np.testing.assert_allclose(scores(interpreter), plain, atol=1e-6)
    interpreter.set_adapter(adapters["a"])  # already loaded: switched to, not loaded again
    np.testing.assert_allclose(scores(interpreter), with_a, atol=1e-6)
    assert sorted(interpreter.adapters.names) == ["a", "b"]
    assert interpreter.loaded.model is base_module


def test_adapter_for_another_base_is_refused(interpreter, tiny_model_dir, tmp_path):
    other = make_adapter(tiny_model_dir, tmp_path / "other", 3, meta={
        "base_model": {"id": "OpenGVLab/InternVL3-8B-hf", "revision": "main", "fingerprint": "0" * 16},
    })
    with pytest.raises(ModelError, match="trained for OpenGVLab/InternVL3-8B-hf, not"):
        interpreter.set_adapter(other)
    assert interpreter.adapter is None


def test_same_shapes_under_another_name_are_accepted(interpreter, tiny_model_dir, tmp_path):
    fingerprint = config_fingerprint(interpreter.loaded.model.config)
    copy = make_adapter(tiny_model_dir, tmp_path / "copy", 4, meta={
        "base_model": {"id": "/elsewhere/tiny-copy", "revision": "main", "fingerprint": fingerprint},
    })
    assert interpreter.set_adapter(copy) == "copy"


def test_pickled_or_missing_adapters_are_refused(interpreter, tmp_path):
    with pytest.raises(ModelError, match="no such adapter folder"):
        interpreter.set_adapter(tmp_path / "nope")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "adapter_config.json").write_text("{}")
    (pickled / "adapter_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ModelError, match="only safetensors adapters"):
        interpreter.set_adapter(pickled)
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelError, match="not a PEFT adapter"):
        interpreter.set_adapter(tmp_path / "plain")


def test_an_adapter_runs_with_the_prompt_and_frames_it_was_trained_with(interpreter, tiny_model_dir, tmp_path):
    trained = make_adapter(tiny_model_dir, tmp_path / "trained", 6, meta={
        "frames": 2, "prompt": {"system": "", "user": "Name the ASL sign."},
    })
    before = (interpreter.num_frames, interpreter.prompt)
    interpreter.set_adapter(trained)
    assert interpreter.num_frames == 2 and interpreter.prompt.user == "Name the ASL sign."
    inputs = interpreter.prepare_inputs(np.zeros((2, 64, 64, 3), np.uint8))
    text = interpreter.loaded.tokenizer.decode(inputs["input_ids"][0])
    assert "Name the ASL sign." in text and text.count("<img>") == 2
    interpreter.set_adapter(None)
    assert (interpreter.num_frames, interpreter.prompt) == before


def test_adapters_stay_off_the_shared_base_model(interpreter, adapters, loaded_tiny, lora_layers, build_interpreter):
    plain = scores(interpreter)
    interpreter.set_adapter(adapters["a"])
    interpreter.set_adapter(None)
    assert lora_layers(interpreter.loaded.model)  # peft did inject layers into this test's own load...
    assert interpreter.loaded.model is not loaded_tiny.model
    assert not lora_layers(loaded_tiny.model)  # ...and none into the model the other tests use as the base
    # the shared model still answers as the plain base does
    np.testing.assert_allclose(scores(build_interpreter(loaded_tiny)), plain, atol=1e-6)
