"""File mode: open a video, its signs are interpreted with progress; times; click shows the moment."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_file_mode_with_the_tiny_model_gives_timed_words(make_window, qtbot, tiny_settings, camera_video):
    window = make_window(tiny_settings)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=60_000)
    files = window.files
    progress = []
    window.engine.file_progressed.connect(lambda stage, done, total, msg: progress.append(stage))
    with qtbot.waitSignal(window.engine.file_finished, timeout=60_000) as finished:
        assert window.open_video(str(camera_video))
        assert window.tabs.currentWidget() is files
        assert files.progress.isVisible() and files.cancel_button.isVisible()
    assert finished.args == [str(camera_video), False]
    assert {"segment", "interpret"} <= set(progress)
    model = files.model
    assert model.rowCount() == 2  # two signs, two separate motions
    first, second = model.entry(0), model.entry(1)
    # the signs move from 0.8 s and 3.0 s; a clip starts 0.2 s before the first movement
    assert first.start_s == pytest.approx(0.6, abs=0.1) and first.end_s == pytest.approx(2.0, abs=0.15)
    assert second.start_s == pytest.approx(2.8, abs=0.1) and second.end_s == pytest.approx(4.44, abs=0.15)
    assert len(first.candidates) == tiny_settings["top_k"]
    assert "Done: 2 words" in files.status.text()
    assert not files.progress.isVisible()

    # clicking a word shows that moment of the video
    shown = files.preview.frames_set
    files.transcript.list.clicked.emit(model.index(1))
    qtbot.waitUntil(lambda: files.preview.frames_set > shown, timeout=5_000)
    assert getattr(files, "shown_row", None) == 1
    from signdesk.transcript import short_time

    assert short_time(second.start_s) in files.preview._caption


def test_cancel_stops_a_file_job(make_window, qtbot, make_interpreter, camera_video):
    interp = make_interpreter(delay_s=None)  # each sign blocks until released
    window = make_window(interpreter=interp)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    assert window.open_video(str(camera_video))
    qtbot.waitUntil(interp.entered.is_set, timeout=20_000)  # the first sign is in the model
    with qtbot.waitSignal(window.engine.file_finished, timeout=10_000) as finished:
        window.files.cancel_button.click()
        interp.release.set()
    assert finished.args[1] is True
    assert window.files.status.text().startswith("Cancelled")
    assert window.files.model.rowCount() <= 1
    assert window.files.open_button.isEnabled()


def test_a_corrupt_video_file_is_reported(make_window, qtbot, fake_interpreter, tmp_path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"garbage" * 200)
    window = make_window(interpreter=fake_interpreter)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    with qtbot.waitSignal(window.engine.file_failed, timeout=10_000) as failed:
        window.open_video(str(bad))
    assert "corrupt.mp4" in failed.args[1]
    qtbot.waitUntil(lambda: window.files.status.text().startswith("⚠"), timeout=5_000)
    assert window.files.open_button.isEnabled()


def test_a_video_opened_while_loading_waits_for_the_model(make_window, qtbot, make_interpreter, camera_video):
    interp = make_interpreter()
    gate = __import__("threading").Event()

    def slow_loader(settings, progress, allow_download):
        gate.wait(10)
        return interp

    window = make_window(loader=slow_loader)
    assert not window.open_video(str(camera_video))
    assert "as soon as the model is ready" in window.files.status.text()
    with qtbot.waitSignal(window.engine.file_finished, timeout=30_000):
        gate.set()
    assert window.files.model.rowCount() >= 1


def test_dropping_a_video_opens_it(make_window, qtbot, fake_interpreter, camera_video):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window(interpreter=fake_interpreter)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(camera_video))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.engine.file_finished, timeout=20_000):
        window.files.dropEvent(event)
    assert window.files.model.rowCount() >= 1
