"""What a new user trips over in the first hour: the benchmark, no display, Qt's noise, no webcam, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

#: Lines Qt's plugins print on every start on a machine without pipewire or speech-dispatcher.
QT_NOISE = ("propagateSizeHints", "qt.multimedia", "pipewire", "text-to-speech", "speechd")
NO_CAMERA_0 = ("No camera found (Camera 0 cannot be opened). Connect one, or use a video file as the camera "
               "(Ctrl+Shift+O).")
NO_CAMERA_ACTION = "Use a video file as the camera…"
CANNOT_OPEN = "Camera 0 cannot be opened: is it connected, and not used by another app?"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SIGNDESK_MODEL", "SIGNDESK_DEVICE"}}
    env.update({"SIGNDESK_HOME": str(home), **extra})
    return env


def _signdesk(*argv: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signdesk", *argv], env=env, capture_output=True, text=True,
                          timeout=timeout)


# ------------------------------------------------------------------------------------------ bench live


@pytest.fixture(scope="module")
def used_home(tmp_path_factory) -> Path:
    """A SignDesk home after a user trained an adapter and pressed "Use this adapter in the Live tab"."""
    home = tmp_path_factory.mktemp("used-home")
    adapter = home / "data" / "adapters" / "wlasl300-quick"
    adapter.mkdir(parents=True)
    # trained on the real 2B model: meaningless (refused) on the tiny test model
    (adapter / "adapter_config.json").write_text(json.dumps(
        {"base_model_name_or_path": "OpenGVLab/InternVL3-2B-hf", "peft_type": "LORA", "r": 4}))
    (adapter / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    (adapter / "signdesk.json").write_text(json.dumps(
        {"base_model": {"id": "OpenGVLab/InternVL3-2B-hf"}, "glossary": ["hello", "book"], "frames": 16}))
    glossary = adapter / "glossary.txt"
    glossary.write_text("hello\nbook\n")
    config = home / "config"
    config.mkdir()
    (config / "training_wizard.json").write_text(json.dumps({"adapter_in_use": str(adapter)}))
    # the user's own signing is slow: signs shorter than 3 s are ignored (the fake camera's last 1 s)
    (config / "settings.yaml").write_text(
        f"glossary: {glossary}\nframes: 16\nlive:\n  min_sign_s: 3.0\n  max_sign_s: 4.0\n")
    (config / "window.json").write_text(json.dumps({"live": {"camera": "file:/no/such/video.mp4"}}))
    return home


@pytest.fixture(scope="module")
def bench_run(used_home) -> subprocess.CompletedProcess[str]:
    """`signdesk bench live --scenario tiny` with that home, offscreen, as a user would run it."""
    return _signdesk("bench", "live", "--seconds", "4", "--scenario", "tiny", "--json",
                     env=_env(used_home, QT_QPA_PLATFORM="offscreen"), timeout=240)


def test_bench_live_ignores_the_users_settings_and_state(bench_run, used_home):
    before = {p: p.stat().st_mtime_ns for p in used_home.rglob("*")}
    assert bench_run.returncode == 0, bench_run.stderr
    (tiny,) = json.loads(bench_run.stdout)
    assert tiny["clips_interpreted"] >= 1, tiny
    assert tiny["entries"] >= 1 and tiny["model_ms_median"] == tiny["model_ms_median"]  # a number, not NaN
    # nothing of the user's was written either
    assert {p: p.stat().st_mtime_ns for p in used_home.rglob("*")} == before


def test_bench_live_fails_loudly_when_a_scenario_measured_nothing(monkeypatch, tmp_path, capsys, signdesk_home):
    import signdesk.engine.testmodel
    import signdesk.ui.bench
    from signdesk.cli import main

    seen_homes = []

    def nothing(name, model_id, frames, **kwargs):
        seen_homes.append(os.environ["SIGNDESK_HOME"])
        return {"scenario": name, "clips_interpreted": 0, **{key: float("nan") for key, _ in signdesk.ui.bench.COLUMNS
                                                             if key != "clips_interpreted"}}

    monkeypatch.setattr(signdesk.ui.bench, "run_scenario", nothing)
    monkeypatch.setattr(signdesk.engine.testmodel, "make_test_model", lambda folder: folder)
    assert main(["bench", "live", "--seconds", "1", "--scenario", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "measured nothing" in err[0] and "tiny" in err[0], err
    # it ran in a home of its own, and the caller's is back
    assert seen_homes and seen_homes[0] != str(signdesk_home)
    assert os.environ["SIGNDESK_HOME"] == str(signdesk_home)


def test_qt_plugin_noise_stays_off_the_terminal(bench_run):
    noise = [line for line in bench_run.stderr.splitlines() if any(word in line for word in QT_NOISE)]
    assert noise == [], bench_run.stderr


def test_qt_messages_go_to_the_log_and_show_with_verbose(caplog, qapp):
    import logging

    from PySide6.QtCore import qWarning

    from signdesk.ui import app

    caplog.set_level(logging.DEBUG, logger="qt")
    try:
        app.install_qt_messages(False)
        qWarning("This plugin does not support propagateSizeHints()")
        app.install_qt_messages(True)
        qWarning("shown with -v")
    finally:
        app.install_qt_messages(False)
    # only these two: Qt may log something of its own meanwhile (a timer of an earlier test's window)
    ours = {"This plugin does not support propagateSizeHints()", "shown with -v"}
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "qt" and r.getMessage() in ours}
    assert levels == {"This plugin does not support propagateSizeHints()": logging.DEBUG,
                      "shown with -v": logging.WARNING}


def test_bench_live_help_stands_on_its_own(capsys):
    from signdesk.cli import main

    for argv in (["bench-live", "--help"], ["bench", "live", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert "see bench live" not in text
        for words in ("offscreen", "tiny", "slow", "continuous", "GUI", "clips interpreted", "temporary SignDesk home",
                      "interpreted no clip"):
            assert words in text, (words, text)


# ------------------------------------------------------------------------------------------ no display


def test_gui_without_a_display_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in _env(tmp_path).items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    if not sys.platform.startswith("linux"):
        pytest.skip("a display server is a Linux matter")
    out = _signdesk("gui", env=env, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no display found" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]
    assert "signdesk transcribe VIDEO" in lines[0] and "signdesk live --camera-file VIDEO" in lines[0]
    assert "xcb" not in lines[0]


@pytest.mark.parametrize(("environ", "platform", "problem"), [
    ({}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_display_problem(environ, platform, problem):
    from signdesk.ui.app import display_problem

    assert (display_problem(environ, platform) is not None) == problem


# ------------------------------------------------------------------------------------------ no webcam


class NoCamera:
    """Camera 0 that is not there: every open fails, as OpenCV's does without a webcam."""

    bgr, name, fps = False, "Camera 0", 30.0

    def __init__(self, *args, **kwargs) -> None:
        pass

    def open(self) -> None:
        from signdesk.video.camera import CameraError

        raise CameraError(CANNOT_OPEN)

    def close(self) -> None:
        pass


def _record_messages(live) -> list[tuple[str, str]]:
    """(state, what the view says once the tab handled it) for each capture event."""
    seen: list[tuple[str, str]] = []
    live.session.capture_state_changed.connect(lambda state, message: seen.append((state, live.view.message)))
    return seen


def _view_is_tidy(view) -> None:
    """One message in the middle, the button under it, nothing drawn over anything."""
    box = view.message_box_rect()
    button = view.action_button.geometry()
    assert view.action_button.isVisible() and view.action_button.text() == NO_CAMERA_ACTION
    assert not view.placeholder_shown  # the message takes its place
    assert box.height() > 0 and not box.intersects(button.toRectF())
    assert view.rect().contains(button) and button.top() > box.bottom()


def test_no_camera_is_said_once_with_a_way_out(make_window, qtbot, fake_interpreter, camera_video, monkeypatch):
    from PySide6.QtCore import Qt

    from signdesk.ui import live_tab

    window = make_window(interpreter=fake_interpreter, source_factory=NoCamera)
    live = window.live
    seen = _record_messages(live)

    def retries() -> list[str]:
        return [msg for state, msg in seen if state == "retrying"]

    # attempts are 0.5, 1 and 2 s apart: the fourth failure is the first quiet one
    with qtbot.waitSignal(live.session.capture_state_changed, timeout=15_000,
                          check_params_cb=lambda state, message: state == "retrying" and len(retries()) >= 4):
        pass
    first, second, third, fourth = retries()[:4]
    assert "retrying" in first and "retrying" in second  # a hiccup is reported as it is
    assert third == fourth == NO_CAMERA_0  # then one clear message, and no "retrying in 4 s" after it
    assert all(msg == NO_CAMERA_0 for state, msg in seen[seen.index(("retrying", third)):])
    assert live.running  # still looking, in the background
    _view_is_tidy(live.view)

    # the button does what Ctrl+Shift+O does: pick a video file and play it as the camera
    monkeypatch.setattr(live_tab.QFileDialog, "getOpenFileName", lambda *a, **k: (str(camera_video), ""))
    with qtbot.waitSignal(live.session.capture_state_changed, timeout=10_000,
                          check_params_cb=lambda state, message: state == "running"):
        qtbot.mouseClick(live.view.action_button, Qt.MouseButton.LeftButton)
    assert live.view.message == "" and not live.view.action_button.isVisible()
    assert live.camera.currentData() == f"file:{camera_video}"


class PluggedInLater:
    """No camera at first; the third attempt finds one (plugged in while SignDesk kept looking)."""

    bgr, name, fps = False, "Camera 0", 50.0
    opens = 0

    def __init__(self, *args, **kwargs) -> None:
        self._tick = threading.Event()

    def open(self) -> None:
        from signdesk.video.camera import CameraError

        type(self).opens += 1
        if type(self).opens <= 2:
            raise CameraError(CANNOT_OPEN)

    def read(self):
        self._tick.wait(1 / self.fps)  # pace like a camera, interruptibly
        return np.full((48, 64, 3), 90, np.uint8)

    def interrupt(self) -> None:
        self._tick.set()

    def close(self) -> None:
        pass


def test_a_system_without_cameras_is_told_at_once_and_a_camera_plugged_in_later_works(
        make_window, qtbot, fake_interpreter, monkeypatch):
    from signdesk.ui import live_tab

    monkeypatch.setattr(live_tab, "list_cameras", lambda: [])
    monkeypatch.setattr(live_tab, "OpenCVCamera", PluggedInLater)
    PluggedInLater.opens = 0
    window = make_window(interpreter=fake_interpreter)  # the real camera path: "Camera 0" from the list
    live = window.live
    with qtbot.waitSignal(live.cameras_listed, timeout=10_000) as listed:
        pass  # start() asked for the list in the background
    assert listed.args == [[]]
    seen = _record_messages(live)
    with qtbot.waitSignal(live.session.capture_state_changed, timeout=10_000,
                          check_params_cb=lambda state, message: state == "retrying"):
        live.start()
    assert live.view.message == NO_CAMERA_0  # no camera on the system: said at the first failure
    _view_is_tidy(live.view)
    with qtbot.waitSignal(live.session.capture_state_changed, timeout=10_000,
                          check_params_cb=lambda state, message: state == "running"):
        pass
    assert [msg for state, msg in seen if state == "retrying"] == [NO_CAMERA_0, NO_CAMERA_0]
    assert live.view.message == "" and not live.view.action_button.isVisible()
    frames = live.view.frames_set
    qtbot.waitUntil(lambda: live.view.frames_set > frames + 3, timeout=5_000)
