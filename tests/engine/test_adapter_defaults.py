"""An adapter brings what it needs to run: base model, glossary, frames and prompt, in every command and the app.

The adapters are real PEFT folders made on the tiny test model and saved with SignDesk's own
``save_adapter`` and ``build_metadata``, as ``signdesk train`` saves them.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from signdesk import paths
from signdesk.cli import main
from signdesk.errors import ModelError

# the adapter's own signs: none of them is in the packaged core-320 glossary or the test glossary
SIGNS = ["zebra", "violin", "tornado", "pumpkin", "saxophone", "glacier"]
PROMPT_USER = "Name the ASL sign."


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """``good``: trained (as far as metadata goes) on the tiny model; ``other``: for a base that is not here;
    ``gone``: for a model folder that no longer exists."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    from signdesk.engine.prompts import PromptSpec
    from signdesk.training.metadata import build_metadata, save_adapter

    torch.manual_seed(0)
    base = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)  # a copy of its own: peft edits in place
    with warnings.catch_warnings():  # peft's own deprecation noise while building the test adapter
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8,
                                                target_modules=r".*language_model.*\.(q_proj|v_proj)"))
    root = tmp_path_factory.mktemp("adapters")
    folders = {}
    for name, model_id, fingerprint in [("good", str(tiny_model_dir), None),
                                        ("other", "OpenGVLab/InternVL3-8B-hf", "0" * 16),
                                        ("gone", str(root / "deleted-model"), None)]:
        meta = build_metadata(model_id=model_id, revision="main", model_config=base.config, glosses=SIGNS, frames=2,
                              prompt=PromptSpec("", PROMPT_USER), dataset={}, metrics={}, training={})
        if fingerprint:
            meta["base_model"]["fingerprint"] = fingerprint
        folders[name] = save_adapter(model, root / name, meta)
    return folders


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from signdesk.video.synth import motion_frames, write_video

    return write_video(tmp_path_factory.mktemp("clip") / "circle.mp4", motion_frames("circle", 20, 160, 120))


def words(row: dict) -> set[str]:
    return {c["text"] for c in row["candidates"]}


# ------------------------------------------------------------------------------------------ interpret
def test_interpret_with_only_an_adapter_uses_its_base_model_and_signs(capsys, adapters, clip):
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["good"], "--device", "cpu", "--json",
                         "--top-k", "10")
    assert code == 0, err  # not "model OpenGVLab/InternVL3-2B-hf is not downloaded yet"
    row = json.loads(out)
    assert words(row) == set(SIGNS) and row["text"] in SIGNS


def test_with_a_model_given_the_adapter_still_ranks_its_own_signs(capsys, adapters, clip, tiny_model_dir):
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["good"], "--model", tiny_model_dir,
                         "--device", "cpu", "--json", "--top-k", "10")
    assert code == 0, err
    assert words(json.loads(out)) == set(SIGNS)  # not core-320


@pytest.mark.parametrize("chosen", ["file", "core-320"])
def test_an_explicit_glossary_wins(capsys, adapters, clip, glossary_file, chosen):
    """Also when the flag names the packaged default: chosen is chosen."""
    glossary = str(glossary_file) if chosen == "file" else "core-320"
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["good"], "--glossary", glossary,
                         "--device", "cpu", "--json", "--top-k", "3")
    assert code == 0, err
    allowed = set(glossary_file.read_text().splitlines()[1:]) if chosen == "file" else None
    found = words(json.loads(out))
    assert not found & set(SIGNS)
    if allowed is not None:
        assert found <= allowed


def test_a_glossary_in_the_settings_file_is_a_choice_too(capsys, adapters, clip, glossary_file):
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"glossary": str(glossary_file)}))
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["good"], "--device", "cpu", "--json")
    assert code == 0, err
    assert words(json.loads(out)) <= set(glossary_file.read_text().splitlines()[1:])


def test_free_mode_with_an_adapter_generates(capsys, adapters, clip):
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["good"], "--mode", "free", "--device",
                         "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["mode"] == "free"


def test_a_model_the_adapter_does_not_fit_is_refused_in_one_line(capsys, adapters, clip, tiny_model_dir):
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapters["other"], "--model", tiny_model_dir,
                         "--device", "cpu")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "this adapter was trained for OpenGVLab/InternVL3-8B-hf, not" in err
    assert "load it with --model OpenGVLab/InternVL3-8B-hf" in err


def test_the_adapters_base_model_not_downloaded_names_it_and_the_adapter(capsys, adapters, clip):
    code, _, err = run(capsys, "interpret", clip, "--adapter", adapters["other"], "--device", "cpu")
    assert code == 2 and err.count("\n") == 1
    assert f"adapter {adapters['other']} was trained on OpenGVLab/InternVL3-8B-hf" in err
    assert "`signdesk model download OpenGVLab/InternVL3-8B-hf`" in err
    assert "InternVL3-2B" not in err


def test_the_adapters_base_model_folder_gone_is_one_clear_line(capsys, adapters, clip):
    code, _, err = run(capsys, "interpret", clip, "--adapter", adapters["gone"], "--device", "cpu")
    assert code == 2 and err.count("\n") == 1
    assert "deleted-model, which is not here; pass --model with that model" in err


def test_a_missing_adapter_fails_before_the_model_loads(capsys, clip, tmp_path):
    # no --model: the default model is not downloaded, so reaching the load would say that instead
    code, _, err = run(capsys, "interpret", clip, "--adapter", tmp_path / "nope")
    assert code == 2 and "nope: no such adapter folder" in err and "not downloaded" not in err


# ------------------------------------------------------------------------------------------ other commands
def test_transcribe_runs_the_adapter_on_its_base_model(capsys, adapters, clip, tiny_model_dir):
    code, out, err = run(capsys, "transcribe", clip, "--adapter", adapters["good"], "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] == str(tiny_model_dir)  # the model that ran, not the configured default
    assert report["signs"] and all(words(sign) <= set(SIGNS) for sign in report["signs"])


@pytest.mark.slow
def test_live_runs_the_adapter_on_its_base_model(capsys, adapters, tmp_path):
    from signdesk.video.synth import motion_frames, write_video

    frames = np.concatenate([motion_frames("left-right", 30, still_before=20, seed=1),
                             motion_frames("circle", 36, still_before=25, still_after=30, seed=2)])
    video = write_video(tmp_path / "two_signs.mp4", frames, 25.0)
    code, out, err = run(capsys, "live", "--camera-file", video, "--once", "--json", "--adapter", adapters["good"],
                         "--device", "cpu")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(row["text"] in SIGNS and words(row) <= set(SIGNS) for row in rows)


# ------------------------------------------------------------------------------------------ the app's loader
def test_the_apps_loader_takes_base_model_signs_frames_and_prompt_from_the_adapter(adapters, tiny_model_dir):
    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter

    settings = load_settings({"device": "cpu"})
    settings.set_user("model.adapter", str(adapters["good"]))  # as the settings panel applies it
    interpreter = open_interpreter(settings)
    assert interpreter.loaded.model_id == str(tiny_model_dir)
    assert interpreter.glossary == SIGNS
    assert interpreter.num_frames == 2 and interpreter.prompt.user == PROMPT_USER
    assert interpreter.adapter == "good"


def test_the_apps_loader_keeps_a_model_chosen_in_the_settings(adapters, tiny_model_dir):
    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter

    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"model": {"id": str(tiny_model_dir), "adapter": str(adapters["other"])},
                                    "device": "cpu"}))
    with pytest.raises(ModelError, match="trained for OpenGVLab/InternVL3-8B-hf, not"):
        open_interpreter(load_settings())


# ------------------------------------------------------------------------------------------ warnings
def test_loading_an_adapter_leaves_no_future_warning(adapters, tiny_model_dir, caplog):
    """peft reads transformers' deprecated is_gradient_checkpointing: logged (seen with -v), never printed."""
    import logging

    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.loader import load_model
    from signdesk.engine.prompts import PromptSpec

    interpreter = Interpreter(load_model(str(tiny_model_dir), device="cpu"), PromptSpec("", "Which sign?"),
                              glossary=SIGNS)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO, "signdesk.engine.adapters"):
        warnings.simplefilter("always")
        interpreter.set_adapter(adapters["good"])
    shown = [str(w.message) for w in caught]
    assert not [m for m in shown if "checkpointing" in m], shown
    assert "is_gradient_checkpointing" in caplog.text
