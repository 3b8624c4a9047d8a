"""The PyInstaller spec stays in step with the package, and ``signdesk self-test`` passes from source."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signdesk.cli import COMMAND_MODULES, build_parser

REPO = Path(__file__).resolve().parents[2]
SPEC = (REPO / "signdesk.spec").read_text(encoding="utf-8")


def spec_calls(name: str) -> list[ast.Call]:
    tree = ast.parse(SPEC)
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def keyword(call: ast.Call, name: str):
    return next(ast.literal_eval(k.value) for k in call.keywords if k.arg == name)


def test_spec_is_one_dir_without_upx():
    (exe,) = spec_calls("EXE")
    (collect,) = spec_calls("COLLECT")
    assert keyword(exe, "exclude_binaries") is True  # one-dir: binaries go to COLLECT, not into the exe
    assert keyword(exe, "upx") is False and keyword(collect, "upx") is False


def test_spec_bundles_every_packaged_folder_the_code_reads():
    # paths.resources_dir() and paths.catalog_dir() resolve to these names under sys._MEIPASS
    assert '(str(ROOT / "resources"), "resources")' in SPEC
    assert '(str(ROOT / "models"), "models")' in SPEC
    from signdesk import paths

    for folder in (paths.resources_dir(), paths.catalog_dir()):
        assert folder.parent == REPO and folder.is_dir()
        assert any(folder.rglob("*.*"))


def test_spec_collects_every_subcommand_module():
    assert 'collect_submodules("signdesk")' in SPEC
    for name in COMMAND_MODULES:
        assert name.startswith("signdesk.")
        importlib.import_module(name)  # each command family exists and imports without the heavy stack
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"interpret", "model", "doctor", "bench", "self-test", "job"} <= commands


def test_spec_copies_metadata_for_the_hugging_face_stack_and_excludes_other_qt_bindings():
    for package in ("transformers", "tokenizers", "safetensors", "huggingface_hub", "peft", "trl", "accelerate"):
        assert f'"{package}"' in SPEC
    for binding in ("PyQt5", "PyQt6", "PySide2"):
        assert f'"{binding}"' in SPEC
    assert "NSCameraUsageDescription" in SPEC
    assert "SIGNDESK_CONSOLE" in SPEC


def test_spec_reads_the_version_without_importing_the_app():
    assert "import signdesk" not in SPEC and "from signdesk" not in SPEC
    assert "_version.py" in SPEC


@pytest.mark.slow
def test_self_test_passes_from_source(tmp_path):
    env = {**os.environ, "SIGNDESK_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "signdesk", "self-test"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["model", "interpret", "training", "window"]
    assert all(line.startswith("ok ") for line in lines[:-1]) and lines[-1] == "self-test passed"
