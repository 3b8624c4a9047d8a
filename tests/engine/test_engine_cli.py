"""The engine's commands through ``signdesk.cli.main``, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from signdesk.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_interpret_json_lines(capsys, tiny_model_dir, motion_video, glossary_file):
    code, out, err = run(capsys, "interpret", str(motion_video), str(motion_video), "--model", str(tiny_model_dir),
                         "--glossary", str(glossary_file), "--frames", "4", "--top-k", "3", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 2
    glossary = glossary_file.read_text().splitlines()[1:]
    for row in rows:
        assert row["video"] == str(motion_video)
        assert row["text"] in glossary
        assert len(row["candidates"]) == 3
        assert all(set(c) == {"text", "score"} for c in row["candidates"])
        assert set(row["timings_ms"]) >= {"decode", "preprocess", "model", "total"}


def test_bad_videos_are_one_line_errors_and_good_ones_still_run(capsys, tmp_path, tiny_model_dir, motion_video,
                                                                glossary_file):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"x" * 114)
    code, out, err = run(capsys, "interpret", str(junk), str(motion_video), str(tmp_path / "missing.mp4"),
                         "--model", str(tiny_model_dir), "--glossary", str(glossary_file), "--json")
    assert code == 2
    assert [json.loads(line)["video"] for line in out.splitlines()] == [str(motion_video)]
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("signdesk: error: ") for line in lines)
    assert "junk.mp4: not a readable video" in lines[0] and "missing.mp4: no such video file" in lines[1]
    assert "Traceback" not in err


def test_missing_videos_are_reported_before_any_model_loads(capsys, tmp_path, glossary_file, monkeypatch):
    """No --model: the default model is not downloaded, so a load (or a download offer) would say that instead."""
    import signdesk.engine.loader as loader

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(loader, "load_model", no_load)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"x" * 114)
    code, out, err = run(capsys, "interpret", str(tmp_path / "missing.mp4"), str(junk))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"signdesk: error: {tmp_path / 'missing.mp4'}: no such video file",
        f"signdesk: error: {junk}: not a readable video (damaged, truncated or not a video file)",
    ]


def test_a_still_image_passes_the_input_check(capsys, tmp_path, tiny_model_dir, glossary_file):
    import cv2
    import numpy as np

    image = tmp_path / "sign.png"
    cv2.imwrite(str(image), np.full((48, 64, 3), 120, np.uint8))
    code, out, err = run(capsys, "interpret", str(image), "--model", str(tiny_model_dir), "--glossary",
                         str(glossary_file), "--json")
    assert code == 0, err
    assert json.loads(out)["video"] == str(image)


def test_free_mode_text_output(capsys, tiny_model_dir, motion_video):
    code, out, err = run(capsys, "interpret", str(motion_video), "--model", str(tiny_model_dir), "--mode", "free")
    assert code == 0, err
    assert out.startswith(f"{motion_video}: ")


def test_missing_model_names_the_download_command(capsys, motion_video, glossary_file):
    code, out, err = run(capsys, "interpret", str(motion_video), "--glossary", str(glossary_file))
    assert code == 2 and out == ""
    assert err.strip() == (
        "signdesk: error: model OpenGVLab/InternVL3-2B-hf is not downloaded yet; run "
        "`signdesk model download OpenGVLab/InternVL3-2B-hf` (or pass --model with a local model folder)"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "{tmp}"], "not a model folder (no config.json)"),
        (["--model", "{tmp}/gone"], "gone: no such model folder; check the path given to --model"),
        (["--glossary", "no-such-glossary"], "glossary 'no-such-glossary' is neither"),
        (["--frames", "0"], "setting 'frames' must be an integer from 1 to 64"),
        (["--adapter", "{tmp}/none-here", "--model", "{tiny}"], "no such adapter folder"),
        (["--quantize", "4bit", "--model", "{tiny}", "--device", "cpu"], "4bit quantization needs an NVIDIA GPU"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, tmp_path, tiny_model_dir, motion_video, glossary_file, argv, message):
    argv = [a.format(tmp=tmp_path, tiny=tiny_model_dir) for a in argv]
    if "--glossary" not in argv:
        argv += ["--glossary", str(glossary_file)]
    code, _, err = run(capsys, "interpret", str(motion_video), *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_doctor_json(capsys):
    code, out, _ = run(capsys, "doctor", "--json", "--device", "cpu")
    report = json.loads(out)
    assert code == 0
    assert report["choice"]["device"] == "cpu"
    assert report["packages"]["transformers"] != "not installed"
    assert "not downloaded" in report["model"]["present"]
    assert set(report["devices"]) == {"cuda", "mps", "directml", "cpu"}


def test_model_list_and_make_test(capsys, tmp_path):
    code, out, _ = run(capsys, "model", "list", "--json")
    ids = [row["id"] for row in json.loads(out)]
    assert code == 0 and "OpenGVLab/InternVL3-2B-hf" in ids and len(ids) == 3
    code, out, _ = run(capsys, "model", "make-test", str(tmp_path / "m"))
    assert code == 0 and (tmp_path / "m" / "config.json").exists()
    code, out, _ = run(capsys, "model", "list")
    assert "not downloaded" in out


@pytest.mark.parametrize(("like", "billions"), [("OpenGVLab/InternVL3-1B-hf", 0.94),
                                                ("OpenGVLab/InternVL3-2B-hf", 2.09),
                                                ("OpenGVLab/InternVL3-8B-hf", 7.94)])
def test_like_has_the_real_checkpoints_size(like, billions):
    """The benchmark model's shapes, counted on the meta device (real weights would take minutes)."""
    import torch
    from transformers import InternVLForConditionalGeneration

    from signdesk.engine.testmodel import _build_tokenizer, build_config

    config = build_config(_build_tokenizer(), like)
    with torch.device("meta"):
        model = InternVLForConditionalGeneration(config)
    assert sum(p.numel() for p in model.parameters()) / 1e9 == pytest.approx(billions, rel=0.02)
    assert config.image_seq_length == 256


def test_like_unknown_checkpoint_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "model", "make-test", str(tmp_path), "--like", "x/unknown")
    assert code == 2 and "no stored config for 'x/unknown'" in err


def test_help_does_not_import_torch():
    code = "import sys; from signdesk.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------------------- one set of model options
#: Commands that load a model and interpret with it: each takes every flag of engine/options.py.
MODEL_COMMANDS = ("interpret", "transcribe", "live", "gui", "bench", "doctor")


def model_flags(command: str) -> set[str]:
    """The option strings of the command's 'model' group (hidden ones too)."""
    from signdesk.cli import build_parser

    parser = build_parser()._subparsers._group_actions[0].choices[command]
    (group,) = [g for g in parser._action_groups if g.title == "model"]
    return {flag for action in group._group_actions for flag in action.option_strings}


def test_every_model_command_takes_the_same_model_options():
    import argparse

    from signdesk.engine.options import add_model_options

    reference = argparse.ArgumentParser()
    add_model_options(reference)
    expected = {flag for action in reference._actions for flag in action.option_strings} - {"-h", "--help"}
    assert {"--model", "--adapter", "--no-adapter", "--glossary", "--device", "--quantize", "--profile",
            "--arithmetic"} <= expected
    assert {command: model_flags(command) for command in MODEL_COMMANDS} == dict.fromkeys(MODEL_COMMANDS, expected)


@pytest.mark.parametrize("command", MODEL_COMMANDS)
@pytest.mark.parametrize("flags", [["--adapter", "none"], ["--adapter", "NONE"], ["--no-adapter"]])
def test_adapter_none_is_the_base_model_everywhere(command, flags, tmp_path):
    """--no-adapter, the old spelling (transcribe), still works: hidden, it means --adapter none."""
    from signdesk import paths
    from signdesk.cli import build_parser
    from signdesk.engine.options import settings_from_args

    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text(f"model:\n  adapter: {tmp_path / 'adapter'}\n", encoding="utf-8")
    positional = {"interpret": ["clip.mp4"], "transcribe": ["clip.mp4"]}.get(command, [])
    args = build_parser().parse_args([command, *positional, *flags])
    assert settings_from_args(args)["model.adapter"] is None
    assert settings_from_args(build_parser().parse_args([command, *positional]))["model.adapter"] == str(
        tmp_path / "adapter")


def test_no_adapter_is_hidden_from_help(capsys):
    with pytest.raises(SystemExit):
        main(["transcribe", "--help"])
    out = capsys.readouterr().out
    assert "--no-adapter" not in out and "--adapter DIR|none" in out


def test_evaluate_takes_adapter_none(monkeypatch, tmp_path):
    import signdesk.training.evaluate as evaluate

    seen = []
    monkeypatch.setattr(evaluate, "run_evaluate", lambda args: seen.append(args.adapter) or 0)
    assert main(["evaluate", "--dataset", str(tmp_path), "--adapter", "none"]) == 0
    assert main(["evaluate", "--dataset", str(tmp_path), "--adapter", str(tmp_path / "a")]) == 0
    assert seen == [None, str(tmp_path / "a")]
