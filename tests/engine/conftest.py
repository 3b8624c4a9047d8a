from __future__ import annotations

from pathlib import Path

import pytest

# test_interpreter.py checks scores against this list, word for word
GLOSSARY = ["hello", "yes", "no", "thank you", "computer", "book", "drink water", "please"]


def lora_layer_names(model) -> list[str]:
    """The PEFT tuner (LoRA) layers inside a model: a plain base model has none."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    return [name for name, module in model.named_modules() if isinstance(module, BaseTunerLayer)]


@pytest.fixture
def lora_layers():
    """``lora_layers(model)``: the names of the LoRA layers peft injected into ``model``."""
    return lora_layer_names


@pytest.fixture(scope="session")
def loaded_tiny(tiny_model_dir):
    """The plain base model, shared by the session. Never load an adapter on it: peft injects LoRA
    layers into the base model in place (test_adapters.py loads a model of its own per test)."""
    from signdesk.engine.loader import load_model

    return load_model(str(tiny_model_dir), device="cpu")


@pytest.fixture
def build_interpreter():
    """``build_interpreter(loaded)``: the test Interpreter (prompt, 4 frames, GLOSSARY) on a loaded model."""
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.prompts import PromptSpec

    def build(loaded):
        return Interpreter(loaded, PromptSpec("You interpret ASL.", "Which sign is this?"), num_frames=4,
                           glossary=GLOSSARY, score_batch_size=3)

    return build


@pytest.fixture
def interpreter(loaded_tiny, build_interpreter):
    # a leaked adapter would silently change every score: refuse to hand out a base model that has one
    leaked = lora_layer_names(loaded_tiny.model)
    assert not leaked, f"the shared base model carries LoRA layers from an earlier test: {leaked[:3]}"
    return build_interpreter(loaded_tiny)


@pytest.fixture(scope="session")
def motion_video(tmp_path_factory) -> Path:
    from signdesk.video.synth import motion_frames, write_video

    return write_video(tmp_path_factory.mktemp("clips") / "circle.mp4", motion_frames("circle", 20, 160, 120))


@pytest.fixture
def glossary_file(tmp_path) -> Path:
    path = tmp_path / "glossary.txt"
    path.write_text("# test glossary\n" + "\n".join(GLOSSARY) + "\n")
    return path
