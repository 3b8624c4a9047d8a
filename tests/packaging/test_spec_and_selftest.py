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
# The spec's code, not its text: a name or value that appears only in a comment or docstring counts for nothing.
TREE = ast.parse(SPEC)


def spec_calls(name: str) -> list[ast.Call]:
    return [n for n in ast.walk(TREE) if isinstance(n, ast.Call) and ast.unparse(n.func) == name]


def keyword(call: ast.Call, name: str):
    return next(ast.literal_eval(k.value) for k in call.keywords if k.arg == name)


def keyword_source(call: ast.Call, name: str) -> str:
    return next(ast.unparse(k.value) for k in call.keywords if k.arg == name)


def assignments(name: str) -> list[ast.expr]:
    """The values given to a module-level variable, by ``=`` or ``+=``, in order."""
    def targets(node: ast.stmt) -> list[str]:
        if isinstance(node, ast.Assign):
            return [ast.unparse(t) for t in node.targets]
        return [ast.unparse(node.target)] if isinstance(node, ast.AugAssign) else []

    return [node.value for node in TREE.body if name in targets(node)]


def loop_over(call_source: str) -> ast.For:
    """The module-level ``for`` loop whose body makes this call (e.g. ``copy_metadata(package)``)."""
    (loop,) = [n for n in TREE.body if isinstance(n, ast.For)
               and any(ast.unparse(c) == call_source for c in ast.walk(n) if isinstance(c, ast.Call))]
    return loop


def test_spec_is_one_dir_without_upx():
    (exe,) = spec_calls("EXE")
    (collect,) = spec_calls("COLLECT")
    assert keyword(exe, "exclude_binaries") is True  # one-dir: binaries go to COLLECT, not into the exe
    assert keyword(exe, "upx") is False and keyword(collect, "upx") is False


def test_spec_bundles_every_packaged_folder_the_code_reads():
    # paths.resources_dir() and paths.catalog_dir() resolve to these names under sys._MEIPASS
    (analysis,) = spec_calls("Analysis")
    assert keyword_source(analysis, "datas") == "datas"
    first = assignments("datas")[0]
    assert isinstance(first, ast.List)
    pairs = [ast.unparse(item) for item in first.elts]
    assert "(str(ROOT / 'resources'), 'resources')" in pairs
    assert "(str(ROOT / 'models'), 'models')" in pairs
    from signdesk import paths

    for folder in (paths.resources_dir(), paths.catalog_dir()):
        assert folder.parent == REPO and folder.is_dir()
        assert any(folder.rglob("*.*"))


def test_spec_collects_every_subcommand_module():
    (analysis,) = spec_calls("Analysis")
    assert keyword_source(analysis, "hiddenimports") == "hiddenimports"
    assert "collect_submodules('signdesk')" in [ast.unparse(v) for v in assignments("hiddenimports")]
    for name in COMMAND_MODULES:
        assert name.startswith("signdesk.")
        importlib.import_module(name)  # each command family exists and imports without the heavy stack
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"interpret", "model", "doctor", "bench", "self-test", "job"} <= commands


def test_spec_copies_metadata_for_the_hugging_face_stack_and_excludes_other_qt_bindings():
    loop = loop_over("copy_metadata(package)")
    assert ast.unparse(loop.target) == "package"
    assert any(ast.unparse(n) == "datas += copy_metadata(package)" for n in ast.walk(loop))
    copied = set(ast.literal_eval(loop.iter))
    assert {"transformers", "tokenizers", "safetensors", "huggingface_hub", "peft", "trl", "accelerate"} <= copied

    (analysis,) = spec_calls("Analysis")
    assert keyword_source(analysis, "excludes") == "excludes"
    (excludes,) = assignments("excludes")
    assert {"PyQt5", "PyQt6", "PySide2"} <= set(ast.literal_eval(excludes))
    assert "PySide6" not in ast.literal_eval(excludes)


def test_spec_asks_for_the_camera_on_macos_and_builds_a_console_on_request():
    (bundle,) = spec_calls("BUNDLE")
    plist = next(k.value for k in bundle.keywords if k.arg == "info_plist")
    entries = {ast.literal_eval(key): value for key, value in zip(plist.keys, plist.values, strict=True)}
    # macOS kills the app on camera access without a usage description
    assert ast.literal_eval(entries["NSCameraUsageDescription"]).strip()
    (exe,) = spec_calls("EXE")
    assert keyword_source(exe, "console") == "CONSOLE"
    (console,) = assignments("CONSOLE")
    assert "os.environ.get('SIGNDESK_CONSOLE'" in ast.unparse(console)


def test_spec_reads_the_version_without_importing_the_app():
    imported = set()
    for node in ast.walk(TREE):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert "signdesk" not in imported
    (version,) = assignments("VERSION")
    assert "ROOT / 'signdesk' / '_version.py'" in ast.unparse(version)
    (bundle,) = spec_calls("BUNDLE")
    assert keyword_source(bundle, "version") == "VERSION"


@pytest.mark.slow
@pytest.mark.gui  # its last check opens the main window
def test_self_test_passes_from_source(tmp_path):
    env = {**os.environ, "SIGNDESK_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "signdesk", "self-test"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["model", "interpret", "training", "window"]
    assert all(line.startswith("ok ") for line in lines[:-1]) and lines[-1] == "self-test passed"
