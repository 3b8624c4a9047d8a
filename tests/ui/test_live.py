"""The live path: fake camera (a generated video, looped) → segmenter → engine → transcript."""

from __future__ import annotations

import math

import pytest


@pytest.mark.slow
def test_whole_live_path_with_the_tiny_model(make_window, qtbot, tiny_settings, camera_video):
    from signdesk.engine.vocab import resolve_glossary

    window = make_window(tiny_settings, camera_file=str(camera_video))
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=60_000)
    assert window.banner.state == "ready"
    assert "Ready" in window.banner.label.text()
    live = window.live
    qtbot.waitUntil(lambda: live.model.rowCount() >= 1, timeout=30_000)

    glossary = set(resolve_glossary(tiny_settings["glossary"]))
    entry = live.model.entry(0)
    assert entry.text in glossary
    assert len(entry.candidates) == tiny_settings["top_k"]
    assert {text for text, _ in entry.candidates} <= glossary
    assert abs(sum(score for _, score in entry.candidates) - 1.0) <= 1.0  # probabilities
    # the first sign of the video: 30 frames of motion at 25 fps, starting 0.8 s in
    assert 0.5 <= entry.end_s - entry.start_s <= 1.6
    assert 0.3 <= entry.start_s <= 1.6
    # the random tiny model is never sure (probabilities ~1/320), so the word shows "not sure"
    assert live.model.data(live.model.index(0)).endswith("?")

    figures = live.latencies[-1]
    assert figures["model_ms"] > 0 and not math.isnan(figures["added_ms"])
    assert live.view.frames_painted > 10
    assert window.status.latency.text().startswith("Latency:")
    qtbot.waitUntil(lambda: window.status.capture.text() != "Camera: – fps", timeout=5_000)
    assert "tiny" in window.status.model.text() or "Model:" in window.status.model.text()
    assert window.status.device.text() == "Device: cpu (float32)"


def test_signing_overlay_and_fake_engine_entry(make_window, qtbot, fake_interpreter, camera_video):
    window = make_window(interpreter=fake_interpreter, camera_file=str(camera_video))
    live = window.live
    statuses = []
    live.session.segmenter_status_changed.connect(lambda signing, s: statuses.append(signing))
    qtbot.waitUntil(lambda: live.model.rowCount() >= 1, timeout=20_000)
    assert True in statuses  # the overlay was told a sign was being collected
    entry = live.model.entry(0)
    assert entry.text == "hello" and entry.score == pytest.approx(0.8)
    assert live.model.data(live.model.index(0)) == "hello"  # sure: no question mark


def test_an_inference_error_is_shown_and_the_stream_goes_on(make_window, qtbot, camera_video, make_interpreter):
    interp = make_interpreter(fail_first=1)
    window = make_window(interpreter=interp, camera_file=str(camera_video))
    live = window.live
    with qtbot.waitSignal(live.clip_error_shown, timeout=20_000) as blocker:
        pass
    assert "simulated inference error" in blocker.args[0]
    assert "could not be interpreted" in live.view.message
    qtbot.waitUntil(lambda: live.model.rowCount() >= 1, timeout=20_000)  # the next sign still arrives
    assert live.clip_errors == 1


def test_each_accepted_word_is_spoken_when_asked(make_window, qtbot, fake_interpreter, camera_video):
    from signdesk.ui.speech import Speaker

    window = make_window(interpreter=fake_interpreter, start=False)
    window.speaker.deleteLater()
    window.speaker = window.live.speaker = Speaker(window, engine="mock")
    window.live.transcript.speaker = window.speaker
    window.speaker.availability_changed.connect(window.live.transcript.set_speech_available)
    assert window.speaker.probe()
    assert window.live.transcript.speak_check.isVisibleTo(window)
    window.live.transcript.speak_check.setChecked(True)
    window._camera_file = str(camera_video)
    window.start()
    qtbot.waitUntil(lambda: window.live.model.rowCount() >= 1, timeout=20_000)
    qtbot.waitUntil(lambda: "hello" in window.speaker.spoken, timeout=5_000)
    assert window.settings["live.speak"] is True


def test_speech_controls_hidden_without_an_engine(make_window, qtbot, fake_interpreter):
    window = make_window(interpreter=fake_interpreter)
    window.speaker.availability_changed.emit(False)
    assert not window.live.transcript.speak_button.isVisibleTo(window)
    assert not window.act_speak.isEnabled()


def test_start_stop_joins_the_camera_threads(make_window, qtbot, fake_interpreter, camera_video):
    import threading

    window = make_window(interpreter=fake_interpreter, camera_file=str(camera_video))
    live = window.live
    qtbot.waitUntil(lambda: live.session.state == "running", timeout=10_000)
    names = {t.name for t in threading.enumerate()}
    assert {"signdesk-capture", "signdesk-segmenter", "signdesk-engine"} <= names
    window.act_start.trigger()  # F5: stop
    assert not live.running
    assert not any(t.name in {"signdesk-capture", "signdesk-segmenter"} for t in threading.enumerate())
    window.act_start.trigger()  # F5: start again
    qtbot.waitUntil(lambda: live.session.state == "running", timeout=10_000)
