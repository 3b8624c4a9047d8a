"""Faults are shown plainly and the app keeps running."""

from __future__ import annotations

import numpy as np


def test_camera_lost_mid_stream_is_shown_retried_and_recovered(make_window, qtbot, fake_interpreter, flaky_source):
    source = flaky_source(good=20, refuse=1, size=(60, 80), fps=50.0)
    window = make_window(interpreter=fake_interpreter, source_factory=lambda: source)
    live = window.live
    states = []
    live.session.capture_state_changed.connect(lambda state, message: states.append(state))
    qtbot.waitUntil(lambda: "lost" in states, timeout=10_000)
    assert "stopped sending frames" in live.view.message or "retrying" in live.view.message
    qtbot.waitUntil(lambda: states.count("running") >= 1 and states[-1] == "running", timeout=10_000)
    assert live.view.message == ""  # the warning went away
    assert source.opens >= 3  # first open, one refused reopening, the successful one
    frames_before = live.view.frames_set
    qtbot.waitUntil(lambda: live.view.frames_set > frames_before + 3, timeout=5_000)  # no freeze


def test_no_camera_is_explained_and_retried(make_window, qtbot, fake_interpreter):
    from signdesk.video.camera import CameraError

    class NoCamera:
        bgr, name, fps = False, "Camera 3", 30.0

        def open(self):
            raise CameraError("Camera 3 cannot be opened: is it connected, and not used by another app?")

    window = make_window(interpreter=fake_interpreter, source_factory=NoCamera)
    qtbot.waitUntil(lambda: "cannot be opened" in window.live.view.message, timeout=5_000)
    assert "retrying" in window.live.view.message
    assert window.live.running  # still trying
    window.live.stop()  # and stopping it is immediate
    assert not window.live.running


def test_a_corrupt_camera_file_fails_plainly(make_window, qtbot, fake_interpreter, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 64 + b"definitely not a video" * 20)
    window = make_window(interpreter=fake_interpreter, camera_file=str(bad))
    qtbot.waitUntil(lambda: "not a readable video" in window.live.view.message, timeout=5_000)
    qtbot.waitUntil(lambda: not window.live.running, timeout=5_000)
    assert window.live.start_button.text() == "Start"


def test_missing_model_is_shown_with_the_download_offer(make_window, qtbot):
    from signdesk.config import load_settings

    settings = load_settings({"model.id": "signdesk-tests/not-downloaded"})  # a hub id not in the cache
    window = make_window(settings)
    qtbot.waitUntil(lambda: window.banner.state in {"missing", "failed"}, timeout=60_000)
    assert window.banner.state == "missing"
    assert "not downloaded" in window.banner.label.text()
    assert window.banner.download_button.isVisibleTo(window)
    assert window.status.model.text() == "Model: not loaded"
    assert not window.engine.ready


def test_missing_model_folder_is_shown_without_a_download(make_window, qtbot, tmp_path):
    from signdesk.config import load_settings

    window = make_window(load_settings({"model.id": str(tmp_path / "no-such-model")}))
    qtbot.waitUntil(lambda: window.banner.state in {"missing", "failed"}, timeout=60_000)
    assert "no-such-model" in window.banner.label.text()
    assert not window.banner.download_button.isVisibleTo(window)
    assert window.banner.settings_button.isVisibleTo(window)


def test_model_load_error_offers_retry(make_window, qtbot):
    def broken_loader(settings, progress, allow_download):
        raise RuntimeError("CUDA out of memory")

    window = make_window(loader=broken_loader)
    qtbot.waitUntil(lambda: window.banner.state == "failed", timeout=10_000)
    assert "CUDA out of memory" in window.banner.label.text()
    assert window.banner.retry_button.isVisibleTo(window)
    assert not window.banner.download_button.isVisibleTo(window)


def test_download_button_loads_with_download_allowed(make_window, qtbot, fake_interpreter):
    calls = []

    def loader(settings, progress, allow_download):
        calls.append(allow_download)
        if not allow_download:
            from signdesk.errors import ModelError

            raise ModelError("model X is not downloaded yet; run `signdesk model download X`")
        progress("download", 0.5, "Downloading X: 1.0 of 2.0 GB")
        return fake_interpreter

    window = make_window(loader=loader)
    qtbot.waitUntil(lambda: window.banner.state == "missing", timeout=10_000)
    window.banner.download_button.click()
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    assert calls == [False, True]
    assert window.banner.state == "ready"


def test_display_path_copies_frames_with_their_stride(qtbot):
    from signdesk.ui.images import rgb_to_qimage

    odd = np.zeros((6, 13, 3), np.uint8)  # 39 bytes per row: not the 4-byte rows Qt assumes by default
    odd[:, :, 0] = np.arange(13, dtype=np.uint8)[None, :] * 10
    odd[5, 12] = (1, 2, 3)
    image = rgb_to_qimage(odd)
    del odd  # the image owns a copy
    assert (image.width(), image.height()) == (13, 6)
    assert image.pixelColor(0, 0).red() == 0 and image.pixelColor(12, 0).red() == 120
    assert image.pixelColor(12, 5).getRgb()[:3] == (1, 2, 3)
    big = np.zeros((10, 20, 3), np.uint8)
    big[:, :, 1] = np.arange(20, dtype=np.uint8)[None, :]
    crop = rgb_to_qimage(big[2:8, 5:15])  # a view whose rows are 60 bytes apart
    assert crop.width() == 10 and crop.pixelColor(9, 5).green() == 14


def test_a_download_then_a_load_of_unknown_length_reports_both(make_window, qtbot, fake_interpreter):
    """The real loader reports download fractions, then "load" with no fraction, moments apart."""
    def load(settings, progress, allow_download):
        progress("download", 0.5, "downloading")
        progress("download", 1.0, "downloaded")
        progress("load", None, "loading")
        return fake_interpreter

    window = make_window(start=False, loader=load)
    seen = []
    window.engine.load_progressed.connect(lambda stage, fraction, message: seen.append((stage, fraction)))
    with qtbot.waitSignal(window.engine.loaded, timeout=10_000):
        window.start()
    qtbot.waitUntil(lambda: ("load", -1.0) in seen, timeout=5_000)
    assert ("download", 1.0) in seen
