"""Transcript controls, shortcuts, accessible names, the workers' threading rules."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QProgressBar,
    QScrollBar,
    QTabBar,
)

from signdesk.ui.live_view import LiveView

CANDS = [("hello", 0.5), ("help", 0.3), ("home", 0.2)]


def test_alternatives_on_click_correct_the_word(make_window, qtbot, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    model = window.live.model
    model.add("hello", 0.5, CANDS, 0.0, 1.0, motion_id=1)
    menu = window.live.transcript.alternatives_menu(0)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels[:3] == ["hello    50%", "help    30%", "home    20%"]
    assert menu.actions()[0].isChecked()
    with qtbot.waitSignal(model.entry_corrected) as corrected:
        menu.actions()[1].trigger()
    assert corrected.args == [0, "help"]
    assert model.entry(0).text == "help" and model.entry(0).corrected_from == "hello"
    # the model's own word is still offered, to undo the correction
    assert window.live.transcript.alternatives_menu(0).actions()[0].text().startswith("hello")


def test_same_motion_is_not_repeated_in_the_view(make_window, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    model = window.live.model
    assert model.add("yes", 0.9, CANDS, 0.0, 3.0, motion_id=4) == (0, False)
    assert model.add("yes", 0.9, CANDS, 3.0, 4.0, motion_id=4) == (0, True)
    assert model.rowCount() == 1
    assert model.add("yes", 0.9, CANDS, 6.0, 7.0, motion_id=5) == (1, False)


def test_clear_copy_save(make_window, qtbot, fake_interpreter, tmp_path):
    from PySide6.QtGui import QGuiApplication

    window = make_window(interpreter=fake_interpreter, start=False)
    model = window.live.model
    model.add("hello", 0.9, CANDS, 0.5, 1.0, motion_id=1)
    model.add("home", 0.1, CANDS, 2.0, 2.5, motion_id=2)
    window.act_copy.trigger()
    assert QGuiApplication.clipboard().text() == "hello (home?)"
    srt = window.live.transcript.save_to(tmp_path / "t.srt")
    assert srt.read_text().startswith("1\n00:00:00,500 --> 00:00:01,000\nhello\n")
    assert window.live.transcript.save_to(tmp_path / "t.txt").read_text() == "hello (home?)\n"
    window.act_clear.trigger()
    assert model.rowCount() == 0


def test_shortcuts_are_set_and_distinct(make_window, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    expected = {
        window.act_start: "F5", window.act_clear: "Ctrl+L", window.act_speak: "Ctrl+K",
        window.act_open: "Ctrl+O", window.act_save: "Ctrl+S", window.act_copy: "Ctrl+Shift+C",
        window.act_camera_file: "Ctrl+Shift+O", window.act_settings: "Ctrl+,",
    }
    for action, key in expected.items():
        assert action.shortcut().toString() == key, action.text()
    keys = [a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys))


def test_every_control_has_an_accessible_name(make_window, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    window.settings_dock.show()
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractSlider, QLineEdit, QAbstractItemView,
             QProgressBar, LiveView)
    unnamed = []
    for widget in window.findChildren(QWidget_type()):
        if not isinstance(widget, kinds) or isinstance(widget, QScrollBar):
            continue
        if widget.objectName().startswith("qt_") or _inside(widget, (QTabBar,)) or _is_popup_part(widget):
            continue
        if not widget.accessibleName():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()} {getattr(widget, 'text', lambda: '')()}")
    assert not unnamed, unnamed


def QWidget_type():
    from PySide6.QtWidgets import QWidget

    return QWidget


def _inside(widget, kinds) -> bool:
    parent = widget.parent()
    while parent is not None:
        if isinstance(parent, kinds):
            return True
        parent = parent.parent()
    return False


def _is_popup_part(widget) -> bool:
    """A combo box's own popup list and line edit (named through the combo box)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox):
            return True
        parent = parent.parentWidget()
    return False


def test_text_zoom(make_window, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    before = window.live.transcript.text_scale
    window.act_bigger.trigger()
    assert window.live.transcript.text_scale > before
    window.act_smaller.trigger()
    assert window.live.transcript.text_scale == pytest.approx(before)


# ------------------------------------------------------------------------------------------ workers


def _clip(i: int):
    import numpy as np

    from signdesk.video.segment import SignClip

    clip = SignClip(frames=[np.zeros((8, 8, 3), np.uint8)] * 4, start_s=float(i), end_s=i + 1.0,
                    start_seq=4 * i, end_seq=4 * i + 3, motion_id=i, seqs=list(range(4 * i, 4 * i + 4)))
    clip.name = f"clip{i}"  # for the test's own bookkeeping
    return clip


def test_engine_latest_clip_wins_and_never_queues(qtbot, make_interpreter):
    from signdesk.config import load_settings
    from signdesk.ui.workers import EngineWorker

    interp = make_interpreter(delay_s=None)
    engine = EngineWorker(lambda settings, progress, allow_download: interp)
    engine.start()
    try:
        with qtbot.waitSignal(engine.loaded, timeout=5_000):
            engine.load(load_settings())
        done = []
        engine.clip_interpreted.connect(lambda clip, outcome: done.append(clip.name))
        assert engine.submit_clip(_clip(0))
        assert interp.entered.wait(5)  # clip 0 is inside the model
        for i in (1, 2, 3):
            engine.submit_clip(_clip(i))
        assert engine.clips_dropped == 2  # 1 and 2 were replaced while waiting
        interp.release.set()
        qtbot.waitUntil(lambda: len(done) == 2, timeout=5_000)
        assert done == ["clip0", "clip3"]
    finally:
        engine.stop()
        assert engine.join(3)


def test_engine_reports_a_failed_clip_and_goes_on(qtbot, make_interpreter):
    from signdesk.config import load_settings
    from signdesk.ui.workers import EngineWorker

    interp = make_interpreter(fail_first=1)
    engine = EngineWorker(lambda settings, progress, allow_download: interp)
    engine.start()
    try:
        with qtbot.waitSignal(engine.loaded, timeout=5_000):
            engine.load(load_settings())
        with qtbot.waitSignal(engine.clip_failed, timeout=5_000) as failed:
            engine.submit_clip(_clip(0))
        assert "simulated inference error" in failed.args[1]
        with qtbot.waitSignal(engine.clip_interpreted, timeout=5_000) as ok:
            engine.submit_clip(_clip(1))
        assert ok.args[1].text == "hello"
    finally:
        engine.stop()
        assert engine.join(3)


def test_engine_refuses_clips_before_a_model_is_loaded(qtbot):
    from signdesk.ui.workers import EngineWorker

    engine = EngineWorker(lambda *a, **k: None)
    engine.start()
    try:
        assert not engine.submit_clip(_clip(0))
    finally:
        engine.stop()
        assert engine.join(3)


def test_task_runner_keeps_only_the_newest_task_per_key(qtbot):
    from signdesk.ui.workers import TaskRunner

    runner = TaskRunner()
    gate = threading.Event()
    results = []
    try:
        runner.run("block", lambda: gate.wait(5))
        for i in range(5):
            runner.run("preview", lambda i=i: i, results.append)
        gate.set()
        qtbot.waitUntil(lambda: results == [4], timeout=5_000)
        errors = []
        runner.run("bad", lambda: 1 / 0, None, errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
        assert "ZeroDivisionError" in errors[0]
    finally:
        runner.stop()
        assert runner.join(3)
