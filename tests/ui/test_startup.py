"""The window shows before anything heavy is imported; the commands are wired."""

from __future__ import annotations

import os
import subprocess
import sys

BUILD = """
import sys
from signdesk.ui.app import build_window
app, window = build_window()
app.processEvents()
assert window.isVisible()
heavy = sorted(m for m in ("torch", "transformers", "decord", "peft", "cv2") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
window.close()
"""


def test_window_shows_before_torch_is_imported(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SIGNDESK_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", BUILD], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY:\n" in out.stdout, out.stdout


def test_gui_command_is_registered_and_refuses_a_missing_camera_file(tmp_path, capsys):
    from signdesk.cli import build_parser, main

    args = build_parser().parse_args(["gui", "--camera-file", "x.mp4"])
    assert args.camera_file == "x.mp4" and callable(args.handler)
    assert main(["gui", "--camera-file", str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4" in capsys.readouterr().err


def test_bare_signdesk_means_gui(monkeypatch):
    import signdesk.ui.app
    from signdesk.cli import build_parser, main
    from signdesk.ui import commands

    parser = build_parser()
    assert parser.parse_args(["gui"]).handler is commands._gui
    assert parser.parse_args([]).command is None  # cli.main then parses [..., "gui"]
    # the window itself is not the subject here: record what main hands to it instead of opening it
    calls = []
    monkeypatch.setattr(signdesk.ui.app, "run_gui", lambda args: calls.append(args) or 7)
    assert main([]) == 7
    assert main(["-v"]) == 7
    assert [(a.command, a.verbose, a.camera_file) for a in calls] == [("gui", False, None), ("gui", True, None)]


def test_bench_live_command_is_registered(monkeypatch):
    import signdesk.ui.bench
    from signdesk.cli import build_parser, main
    from signdesk.engine import commands as engine_commands
    from signdesk.ui import commands

    parser = build_parser()
    # the engine's `bench` takes a clip argument, so the live benchmark stands beside it as `bench-live`
    # (the name the README gives)
    assert parser.parse_args(["bench", "clip.mp4"]).handler is engine_commands._bench
    args = parser.parse_args(["bench-live", "--seconds", "1"])
    assert args.seconds == 1.0 and args.handler is commands._bench_live
    calls = []
    monkeypatch.setattr(signdesk.ui.bench, "run_bench_live", lambda args: calls.append(args) or 0)
    assert main(["bench-live", "--seconds", "2", "--scenario", "tiny"]) == 0
    assert [(a.command, a.seconds, a.scenario) for a in calls] == [("bench-live", 2.0, ["tiny"])]
