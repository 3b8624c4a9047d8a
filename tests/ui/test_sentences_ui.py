"""The sentence line in the window: the engine serves live signs first, corrections re-write, speech, saving."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from signdesk.engine.prompts import format_glosses
from signdesk.engine.sentences import SentenceInterrupted, SentenceOutput

pytestmark = pytest.mark.gui


def _clip(start_s: float = 0.0):
    from signdesk.video.segment import SignClip

    frames = [np.zeros((64, 64, 3), np.uint8)] * 4
    return SignClip(frames, start_s, start_s + 0.5, 0, 3, motion_id=1)


class SlowSentences:
    """A sentence writer as slow as a big model on a CPU: one 'token' every 5 ms for up to 10 s, checking
    ``should_stop`` after each, as ``SentenceMaker`` does."""

    def __init__(self, steps: int = 2000) -> None:
        self.steps = steps
        self.calls = 0
        self.interrupted = 0
        self.started = threading.Event()

    def factory(self, interpreter, settings):
        return self.make

    def make(self, glosses, should_stop=None):
        self.calls += 1
        self.started.set()
        for _ in range(self.steps if not self.interrupted else 1):  # written again quickly once cut short
            if should_stop is not None and should_stop():
                self.interrupted += 1
                raise SentenceInterrupted
            threading.Event().wait(0.005)
        line = format_glosses(glosses)
        return SentenceOutput(f"{line.lower().capitalize()}.", line, 5, {"total": 10.0})


@pytest.fixture
def engine(qtbot, fake_interpreter):
    from signdesk.config import load_settings
    from signdesk.ui.workers import EngineWorker

    worker = EngineWorker(lambda settings, progress, allow_download: fake_interpreter)
    worker.start()
    with qtbot.waitSignal(worker.loaded, timeout=10_000):
        worker.load(load_settings())
    yield worker
    worker.stop()
    assert worker.join(5.0)


def test_a_live_sign_cuts_a_running_sentence_short_and_goes_first(qtbot, engine):
    slow = SlowSentences()
    engine.sentence_maker = slow.factory
    order = []
    engine.clip_interpreted.connect(lambda clip, outcome: order.append("sign"))
    engine.sentence_written.connect(lambda key, glosses, text, timings: order.append(("sentence", key, text)))
    assert engine.request_sentence(("live", 1), ("me", "go"), [("me", ()), ("go", ())])
    assert slow.started.wait(10)  # the sentence is being written...
    assert engine.submit_clip(_clip())  # ...when a sign arrives
    qtbot.waitUntil(lambda: len(order) == 2, timeout=30_000)
    assert order == ["sign", ("sentence", ("live", 1), "Me go.")]
    assert slow.interrupted == 1 and slow.calls == 2  # cut short for the sign, then written again


def test_a_waiting_sentence_never_goes_before_a_waiting_sign(qtbot, engine, fake_interpreter):
    fake_interpreter.delay_s = None  # the first sign holds the engine until released
    slow = SlowSentences(steps=1)
    engine.sentence_maker = slow.factory
    order = []
    engine.clip_interpreted.connect(lambda clip, outcome: order.append(("sign", clip.start_s)))
    engine.sentence_written.connect(lambda key, glosses, text, timings: order.append(("sentence", key[1])))
    assert engine.submit_clip(_clip(0.0))
    assert fake_interpreter.entered.wait(10)
    assert engine.request_sentence(("live", 1), ("me",), [("me", ())])  # asked first...
    assert engine.submit_clip(_clip(1.0))  # ...but the sign that came after still goes first
    fake_interpreter.release.set()
    qtbot.waitUntil(lambda: len(order) == 3, timeout=20_000)
    assert order == [("sign", 0.0), ("sign", 1.0), ("sentence", 1)]
    assert slow.interrupted == 0


def test_a_newer_request_for_a_sentence_replaces_the_waiting_one(qtbot, engine, fake_interpreter):
    fake_interpreter.delay_s = None
    engine.sentence_maker = SlowSentences(steps=1).factory
    written = []
    engine.sentence_written.connect(lambda key, glosses, text, timings: written.append((key, glosses)))
    assert engine.submit_clip(_clip())
    assert fake_interpreter.entered.wait(10)
    engine.request_sentence(("file", 1), ("me", "store"), [("me", ()), ("store", ())])
    engine.request_sentence(("file", 1), ("me", "school"), [("me", ()), ("school", ())])  # corrected meanwhile
    fake_interpreter.release.set()
    qtbot.waitUntil(lambda: len(written) == 1, timeout=20_000)
    qtbot.wait(100)
    assert written == [(("file", 1), ("me", "school"))]


def test_a_failing_writer_is_reported_and_the_engine_goes_on(qtbot, engine):
    def broken(interpreter, settings):
        def make(glosses, should_stop=None):
            raise RuntimeError("no language model")
        return make

    engine.sentence_maker = broken
    with qtbot.waitSignal(engine.sentence_failed, timeout=10_000) as blocker:
        engine.request_sentence(("live", 3), ("me",), [("me", ())])
    assert blocker.args[0] == ("live", 3) and "no language model" in blocker.args[2]
    with qtbot.waitSignal(engine.clip_interpreted, timeout=10_000):
        engine.submit_clip(_clip())


# ---------------------------------------------------------------- the panel
class Sink:
    def __init__(self) -> None:
        self.requests = []

    def __call__(self, key, glosses, rows) -> bool:
        self.requests.append((key, glosses, rows))
        return True


@pytest.fixture
def panel(qtbot):
    from signdesk.ui.transcript_model import TranscriptModel
    from signdesk.ui.transcript_view import TranscriptView

    model = TranscriptModel(0.5)
    view = TranscriptView(model, None, name="Test transcript")
    qtbot.addWidget(view)
    sink = Sink()
    view.sentence_panel.set_sink(sink)
    view.set_sentences(1.5)
    return view, model, sink


def add_signs(model):
    model.add("me", 0.9, [("me", 0.9)], 0.0, 0.8, 1)
    model.add("store", 0.3, [("store", 0.3), ("stop", 0.25)], 1.0, 1.6, 2)
    model.add("go", 0.8, [("go", 0.8)], 1.9, 2.4, 3)


def test_correcting_a_gloss_writes_its_sentence_again_and_shows_it(panel):
    view, model, sink = panel
    add_signs(model)
    assert sink.requests == []  # no pause yet: the sentence is still open
    view.sentence_panel.rest(1.6)
    (key, glosses, rows), = sink.requests
    assert glosses == ("me", "store", "go") and rows[1] == ("store", ("stop",))  # the unsure sign's alternative
    listing = view.sentence_panel.sentences
    assert listing.data(listing.index(0)).startswith("…")
    view.sentence_panel.on_written(key, glosses, "I went to the store.", {"total": 900.0})
    assert listing.data(listing.index(0)) == "I went to the store.\nme (store?) go"
    model.correct(1, "school")
    assert len(sink.requests) == 2 and sink.requests[1][1] == ("me", "school", "go")
    assert sink.requests[1][0] == key  # the same sentence, written again
    view.sentence_panel.on_written(key, sink.requests[1][1], "I went to school.", {"total": 900.0})
    assert listing.data(listing.index(0)) == "I went to school.\nme school go"
    view.sentence_panel.on_written(key, glosses, "I went to the store.", {"total": 900.0})  # a late, stale answer
    assert listing.data(listing.index(0)) == "I went to school.\nme school go" and len(sink.requests) == 2


def test_a_pause_between_signs_asks_for_the_sentence_before_it(panel):
    view, model, sink = panel
    add_signs(model)
    model.add("where", 0.9, [], 5.0, 5.5, 4)
    assert [r[1] for r in sink.requests] == [("me", "store", "go")]
    view.sentence_panel.finish()
    assert [r[1] for r in sink.requests] == [("me", "store", "go"), ("where",)]


def test_with_sentences_off_the_view_is_as_before(panel):
    view, model, sink = panel
    view.set_sentences(None)
    add_signs(model)
    view.sentence_panel.rest(10.0)
    assert sink.requests == [] and model.transcript.sentences is None
    assert view.sentence_panel.isHidden()
    assert view.copy_to_clipboard() == "me (store?) go\n"


def test_saving_offers_glosses_sentences_or_both(panel, tmp_path):
    view, model, sink = panel
    add_signs(model)
    view.sentence_panel.finish()
    key, glosses, _ = sink.requests[0]
    view.sentence_panel.on_written(key, glosses, "I went to the store.", {})
    assert view.save_to(tmp_path / "a.txt", contents="sentences").read_text() == "I went to the store.\n"
    assert view.save_to(tmp_path / "b.txt", contents="both").read_text() == \
        "I went to the store.\n  [me (store?) go]\n"
    assert view.save_to(tmp_path / "c.txt").read_text() == "me (store?) go\n"
    assert view.speak_text() == "I went to the store."


# ---------------------------------------------------------------- the window
def test_live_signing_with_sentences_on_speaks_the_sentence_not_the_words(make_window, qtbot, fake_interpreter,
                                                                        camera_video):
    from signdesk.config import load_settings
    from signdesk.ui.speech import Speaker

    settings = load_settings({"sentences.enabled": True, "sentences.pause_seconds": 0.5})
    window = make_window(settings, interpreter=fake_interpreter, start=False)
    window.engine.sentence_maker = SlowSentences(steps=1).factory
    window.speaker.deleteLater()
    window.speaker = window.live.speaker = window.live.transcript.speaker = Speaker(window, engine="mock")
    window.speaker.availability_changed.connect(window.live.transcript.set_speech_available)
    assert window.speaker.probe()
    window.live.transcript.speak_check.setChecked(True)
    assert window.live.transcript.speak_check.text() == "Speak each sentence"
    panel = window.live.transcript.sentence_panel
    assert panel.isVisibleTo(window)
    window._camera_file = str(camera_video)
    window.start()
    # the camera's signs come with a rest of about a second: more than the 0.5 s pause, so sentences end there
    qtbot.waitUntil(lambda: panel.sentences.rowCount() >= 1 and panel.sentences.sentences[0].ready, timeout=30_000)
    qtbot.waitUntil(lambda: "Hello." in window.speaker.spoken, timeout=5_000)
    assert "hello" not in window.speaker.spoken  # the word alone is not spoken when sentences are on
    assert panel.sentences.data(panel.sentences.index(0)).startswith("Hello.")


def test_the_settings_panel_turns_sentences_on_and_off(make_window, qtbot, fake_interpreter):
    window = make_window(interpreter=fake_interpreter)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    views = (window.live.transcript, window.files.transcript)
    assert all(v.sentence_panel.isHidden() and v.model_.transcript.sentences is None for v in views)
    window.settings_panel.sentences.setChecked(True)
    window.settings_panel.pause.setValue(2.0)
    assert window.apply_settings(window.settings_panel.changes())
    assert all(v.model_.transcript.sentences.pause_s == 2.0 and not v.sentence_panel.isHidden() for v in views)
    assert window.settings["sentences.enabled"] is True
    assert window.apply_settings({"sentences.enabled": False})
    assert all(v.model_.transcript.sentences is None for v in views)


def test_a_file_gets_its_sentences_and_a_correction_rewrites_one(make_window, qtbot, fake_interpreter, camera_video,
                                                                 tmp_path):
    from signdesk.config import load_settings

    settings = load_settings({"sentences.enabled": True, "sentences.pause_seconds": 5.0})
    window = make_window(settings, interpreter=fake_interpreter, start=False)
    slow = SlowSentences(steps=1)
    window.engine.sentence_maker = slow.factory
    window.start()
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    files = window.files
    with qtbot.waitSignal(window.engine.file_finished, timeout=30_000):
        assert window.open_video(str(camera_video))
    panel = files.transcript.sentence_panel
    qtbot.waitUntil(lambda: bool(panel.sentences.sentences) and panel.sentences.sentences[0].ready, timeout=10_000)
    (sentence,) = panel.sentences.sentences  # two signs, a rest shorter than 5 s: one sentence, ended by the file
    assert sentence.glosses == ("hello", "hello") and sentence.text == "Hello hello."
    files.model.correct(1, "help")
    qtbot.waitUntil(lambda: sentence.ready and sentence.text == "Hello help.", timeout=10_000)
    assert slow.calls == 2
    saved = files.transcript.save_to(tmp_path / "file.json")
    assert json.loads(saved.read_text())["sentences"][0]["text"] == "Hello help."
