"""Visual budget profiles: frame size, tokens per frame and frame count, through every path that runs a model.

Each check records what really reached the model (``Interpreter.prepare_inputs``: frames, pixel size,
``<IMG_CONTEXT>`` tokens per frame), so a profile that is only named but not applied fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from signdesk.cli import main
from signdesk.engine.profiles import PROFILES, apply_profile, budget, resolve_profile

# tiny test model: 64² native, patch 8, pixel shuffle 0.5 → 16 tokens per frame; half size 32² → 4
EXPECT = {"quality": (8, 32 * 2, 16), "balanced": (8, 32, 4), "fast": (4, 32, 4)}  # frames, side, tokens/frame
SIGNS = ["hello", "yes"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seen(monkeypatch):
    """What each clip looked like on its way into the model."""
    from signdesk.engine.interpreter import Interpreter

    calls: list[tuple[int, int, int]] = []
    original = Interpreter.prepare_inputs

    def spy(self, frames):
        inputs = original(self, frames)
        image_id = self.loaded.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
        count, _, height, width = inputs["pixel_values"].shape
        assert height == width and tuple(np.asarray(frames).shape[1:3]) == (height, width)  # resized once
        calls.append((count, height, int((inputs["input_ids"] == image_id).sum()) // count))
        return inputs

    monkeypatch.setattr(Interpreter, "prepare_inputs", spy)
    return calls


@pytest.fixture(scope="module")
def two_signs(tmp_path_factory) -> Path:
    from signdesk.video.synth import motion_frames, write_video

    frames = np.concatenate([motion_frames("left-right", 30, still_before=20, seed=1),
                             motion_frames("circle", 36, still_before=25, still_after=30, seed=2)])
    return write_video(tmp_path_factory.mktemp("profiles") / "two_signs.mp4", frames, 25.0)


@pytest.fixture
def signs_file(tmp_path) -> Path:
    path = tmp_path / "signs.txt"
    path.write_text("\n".join(SIGNS) + "\n")
    return path


# ------------------------------------------------------------------------------------------ the arithmetic
def _processor(side: int, tokens: int) -> SimpleNamespace:
    return SimpleNamespace(video_processor=SimpleNamespace(size={"height": side, "width": side}),
                           image_seq_length=tokens)


def test_real_2b_budget_from_its_config():
    stored = json.loads((Path(__file__).parents[2] / "models" / "configs" / "InternVL3-2B-hf.json").read_text())
    config = SimpleNamespace(vision_config=SimpleNamespace(**stored["vision_config"]),
                             downsample_ratio=stored.get("downsample_ratio", 0.5))
    got = {name: budget(spec, _processor(448, 256), config) for name, spec in PROFILES.items()}
    assert {n: (b.frame_size, b.tokens_per_frame) for n, b in got.items()} == {
        "quality": ((448, 448), 256), "balanced": ((224, 224), 64), "fast": ((224, 224), 64)}


def test_tiny_model_half_size_is_whole_and_the_prompt_shrinks_four_times(loaded_tiny, build_interpreter):
    interp = build_interpreter(loaded_tiny)
    rng = np.random.default_rng(0)
    image_id = loaded_tiny.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    per_frame = {}
    for name in ("quality", "balanced"):
        interp.configure(profile=name, num_frames=4)
        width, height = interp.frame_size
        inputs = interp.prepare_inputs(rng.integers(0, 255, (4, height, width, 3), dtype=np.uint8))
        per_frame[name] = int((inputs["input_ids"] == image_id).sum()) // 4
        assert interp.tokens_per_frame == per_frame[name] and inputs["pixel_values"].shape[-1] == interp.frame_size[0]
    assert per_frame == {"quality": 16, "balanced": 4}
    interp.configure(profile="quality")
    assert loaded_tiny.processor.image_seq_length == 16 and interp.frame_size == loaded_tiny.frame_size


def test_apply_profile_is_idempotent_and_restores_the_native_size(loaded_tiny):
    processor, config = loaded_tiny.processor, loaded_tiny.model.config
    for name in ("fast", "fast", "quality", "balanced", "quality"):
        result = apply_profile(processor, PROFILES[name], config)
        assert (processor.video_processor.size.width, processor.image_seq_length) == (
            result.frame_size[0], result.tokens_per_frame) == (EXPECT[name][1], EXPECT[name][2])


def test_auto_is_fast_on_the_cpu_and_quality_on_gpus(loaded_tiny):
    from signdesk.config import load_settings
    from signdesk.engine.interpreter import Interpreter

    assert resolve_profile("auto", "cpu").name == "fast"
    assert {resolve_profile("auto", d).name for d in ("cuda", "mps", "directml")} == {"quality"}
    settings = load_settings({"device": "cpu", "glossary": None, "mode": "free"})
    assert settings["profile"] == "auto"
    interp = Interpreter.from_settings(loaded_tiny, settings, glossary=None)
    assert (interp.profile.name, interp.num_frames, interp.frame_size, interp.tokens_per_frame) == (
        "fast", 4, (32, 32), 4)


def test_an_explicit_frame_count_wins_over_the_profiles(loaded_tiny):
    import argparse

    from signdesk.engine.commands import add_model_options, settings_from_args
    from signdesk.engine.interpreter import Interpreter

    parser = argparse.ArgumentParser()
    add_model_options(parser)
    args = parser.parse_args(["--profile", "fast", "--frames", "6", "--mode", "free", "--device", "cpu"])
    interp = Interpreter.from_settings(loaded_tiny, settings_from_args(args), glossary=None)
    assert (interp.profile.name, interp.num_frames, interp.frame_size) == ("fast", 6, (32, 32))
    args = parser.parse_args(["--profile", "balanced", "--mode", "free"])
    assert Interpreter.from_settings(loaded_tiny, settings_from_args(args), glossary=None).num_frames == 8


# ------------------------------------------------------------------------------------------ every path
@pytest.mark.parametrize("profile", list(PROFILES))
def test_interpret_transcribe_and_live_use_the_profile(profile, capsys, seen, tiny_model_dir, two_signs, signs_file):
    common = ["--model", tiny_model_dir, "--device", "cpu", "--profile", profile, "--glossary", signs_file]
    code, out, err = run(capsys, "interpret", two_signs, *common, "--json")
    assert code == 0, err
    assert seen and set(seen) == {EXPECT[profile]}, seen
    seen.clear()
    code, out, err = run(capsys, "transcribe", two_signs, *common, "--json")
    assert code == 0, err
    assert seen and set(seen) == {EXPECT[profile]}, seen
    seen.clear()
    code, out, err = run(capsys, "live", "--camera-file", two_signs, "--once", "--json", *common)
    assert code == 0, err
    assert out.strip() and seen and set(seen) == {EXPECT[profile]}, (seen, out)


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(PROFILES))
def test_an_adapter_runs_with_the_profile_it_was_trained_with(profile, capsys, seen, tiny_model_dir, tmp_path):
    from signdesk.training.synthetic import write_synthetic_dataset

    data, adapter = tmp_path / "data", tmp_path / "adapter"
    write_synthetic_dataset(data, signs=2, counts=(2, 1, 1), size=(48, 48), seed=0)
    code, out, err = run(capsys, "train", "--dataset", data, "--out", adapter, "--model", tiny_model_dir,
                         "--device", "cpu", "--profile", profile, "--epochs", "1", "--batch-size", "2", "--quiet")
    assert code == 0, err
    frames, side, tokens = EXPECT[profile]
    if profile != "fast":
        frames = 4  # the dataset's train.yaml chooses 4 frames: an explicit count wins over the profile's
    meta = json.loads((adapter / "signdesk.json").read_text())
    assert (meta["profile"], meta["frames"], meta["frame_size"], meta["tokens_per_frame"]) == (
        profile, frames, [side, side], tokens)
    assert set(seen) == {(frames, side, tokens)}  # the val evaluation during training
    seen.clear()

    # interpret and evaluate with the adapter take its profile, whatever the settings say (auto → fast here)
    clip = next((data / "videos").glob("*.mp4"))
    code, out, err = run(capsys, "interpret", clip, "--adapter", adapter, "--device", "cpu", "--json")
    assert code == 0, err
    assert set(seen) == {(frames, side, tokens)}
    seen.clear()
    code, out, err = run(capsys, "evaluate", "--dataset", data, "--adapter", adapter, "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["profile"] == profile and set(report["results"]) == {"base", "adapter"}
    assert report["profiles"] == {profile: {"frames": frames, "frame_size": [side, side], "tokens_per_frame": tokens}}
    assert set(seen) == {(frames, side, tokens)}


@pytest.mark.slow
def test_evaluate_compares_profiles_on_the_same_clips(capsys, seen, tiny_model_dir, tmp_path):
    from signdesk.training.synthetic import write_synthetic_dataset

    data = tmp_path / "data"
    write_synthetic_dataset(data, signs=2, counts=(1, 1, 2), size=(48, 48), seed=0)
    code, out, err = run(capsys, "evaluate", "--dataset", data, "--model", tiny_model_dir, "--device", "cpu",
                         "--profile", "fast", "--profile", "quality", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert list(report["results"]) == ["base fast", "base quality"]
    assert all(r["clips"] == 4 for r in report["results"].values())
    assert report["profiles"]["fast"]["tokens_per_frame"] * 4 == report["profiles"]["quality"]["tokens_per_frame"]
    assert seen == [EXPECT["fast"]] * 4 + [EXPECT["quality"]] * 4
