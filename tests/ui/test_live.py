"""The live path: fake camera (a generated video, looped) → segmenter → engine → transcript."""

from __future__ import annotations

import math
from pathlib import Path

import pytest


@pytest.mark.slow
def test_whole_live_path_with_the_tiny_model(make_window, qtbot, tiny_settings, camera_video, tmp_path):
    words = ["hello", "yes", "no", "thank you", "computer", "book", "drink water", "please"]
    glossary = tmp_path / "glossary.txt"
    glossary.write_text("\n".join(words) + "\n")
    # top-k = the whole glossary: the candidates are then every probability the engine normalised
    settings = tiny_settings.with_overrides({"glossary": str(glossary), "top_k": len(words)})
    window = make_window(settings)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=60_000)
    assert "Ready" in window.banner.label.text()

    # record what the real engine returns, then let the camera run (no clip reaches it before this)
    interpreter = window.engine.interpreter
    results = []
    interpret_frames = interpreter.interpret_frames

    def recording(*args, **kwargs):
        result = interpret_frames(*args, **kwargs)
        results.append(result)
        return result

    interpreter.interpret_frames = recording  # wraps the real call, per instance
    live = window.live
    live.set_camera_file(str(camera_video), start=True)
    qtbot.waitUntil(lambda: live.model.rowCount() >= 1, timeout=30_000)

    entry = live.model.entry(0)
    assert results, "the entry did not come from the engine"
    # the entry shows exactly the scores the engine returned for a clip (a merge keeps the newest clip's)
    assert entry.candidates in [[(c.text, c.score) for c in r.candidates] for r in results]
    texts = [text for text, _ in entry.candidates]
    scores = [score for _, score in entry.candidates]
    assert sorted(texts) == sorted(words)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)  # normalised over the glossary
    assert scores == sorted(scores, reverse=True) and all(0.0 <= score <= 1.0 for score in scores)
    assert (entry.text, entry.score) == entry.candidates[0]
    # the first sign of the video: 30 frames of motion at 25 fps, starting 0.8 s in
    assert 0.5 <= entry.end_s - entry.start_s <= 1.6
    assert 0.3 <= entry.start_s <= 1.6
    # below the threshold the word is marked "not sure" with a "?", at or above it it is not
    not_sure = entry.score < settings["live.threshold"]
    assert live.model.data(live.model.index(0)).endswith("?") == not_sure

    figures = live.latencies[-1]
    assert figures["model_ms"] > 0 and not math.isnan(figures["added_ms"])
    assert live.view.frames_painted > 10
    assert window.status.latency.text().startswith("Latency:")
    qtbot.waitUntil(lambda: window.status.capture.text() != "Camera: – fps", timeout=5_000)
    assert window.status.model.text() == f"Model: {Path(settings['model.id']).name} (no adapter)"
    from signdesk.hardware import choose_cpu_arithmetic, choose_device

    arithmetic = choose_cpu_arithmetic("auto", choose_device("cpu"))  # bfloat16 where this CPU has it natively
    assert window.status.device.text() == f"Device: cpu ({arithmetic.dtype})"


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
