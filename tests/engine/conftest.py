from __future__ import annotations

from pathlib import Path

import pytest

# test_interpreter.py checks scores against this list, word for word
GLOSSARY = ["hello", "yes", "no", "thank you", "computer", "book", "drink water", "please"]


@pytest.fixture(scope="session")
def loaded_tiny(tiny_model_dir):
    from signdesk.engine.loader import load_model

    return load_model(str(tiny_model_dir), device="cpu")


@pytest.fixture
def interpreter(loaded_tiny):
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.prompts import PromptSpec

    return Interpreter(loaded_tiny, PromptSpec("You interpret ASL.", "Which sign is this?"), num_frames=4,
                       glossary=GLOSSARY, score_batch_size=3)


@pytest.fixture(scope="session")
def motion_video(tmp_path_factory) -> Path:
    from signdesk.video.synth import motion_frames, write_video

    return write_video(tmp_path_factory.mktemp("clips") / "circle.mp4", motion_frames("circle", 20, 160, 120))


@pytest.fixture
def glossary_file(tmp_path) -> Path:
    path = tmp_path / "glossary.txt"
    path.write_text("# test glossary\n" + "\n".join(GLOSSARY) + "\n")
    return path
