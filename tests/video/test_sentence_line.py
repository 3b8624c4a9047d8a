"""The sentence line (Qt-free): the pause rule, re-writing after corrections, exports, and 'off' = as before."""

from __future__ import annotations

import json

import pytest

from signdesk.engine.prompts import format_glosses, render_sentence_prompt
from signdesk.engine.sentences import SentenceInterrupted, SentenceOutput, glosses_of
from signdesk.sentence_line import SentenceLine
from signdesk.transcribe import write_pending
from signdesk.transcript import Transcript

STORE = [("store", 0.3), ("stop", 0.25), ("school", 0.2)]


def signs(t: Transcript) -> Transcript:
    """ME STORE(unsure) GO YESTERDAY, a 2.8 s rest, WHERE BATHROOM."""
    t.add("me", 0.9, [("me", 0.9), ("i", 0.05)], 0.0, 0.8, 1)
    t.add("store", 0.3, STORE, 1.0, 1.6, 2)
    t.add("go", 0.8, [("go", 0.8)], 1.9, 2.4, 3)
    t.add("yesterday", 0.7, [("yesterday", 0.7)], 2.6, 3.2, 4)
    t.add("where", 0.9, [("where", 0.9)], 6.0, 6.5, 5)
    t.add("bathroom", 0.6, [("bathroom", 0.6)], 6.8, 7.4, 6)
    return t


class FakeMaker:
    """Writes "sentence: <glosses>"; records what it was given."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, tuple[str, ...]]]] = []

    def make(self, glosses, should_stop=None):
        self.calls.append(list(glosses))
        if should_stop is not None and should_stop():
            raise SentenceInterrupted
        return SentenceOutput("sentence: " + " ".join(g for g, _ in glosses), format_glosses(glosses), 3,
                              {"total": 1.0})


def write(t: Transcript, maker: FakeMaker, **kwargs):
    return write_pending(t.sentences, maker.make, lambda s: glosses_of(s.entries, t.is_sure), **kwargs)


# ---------------------------------------------------------------- the pause rule
@pytest.mark.parametrize("pause, groups", [
    (1.5, [["me", "store", "go", "yesterday"], ["where", "bathroom"]]),  # only the 2.8 s rest ends a sentence
    (0.1, [["me"], ["store"], ["go"], ["yesterday"], ["where"], ["bathroom"]]),  # every gap is >= 0.1 s
    (5.0, [["me", "store", "go", "yesterday", "where", "bathroom"]]),
])
def test_a_rest_of_pause_seconds_between_signs_ends_a_sentence(pause, groups):
    t = Transcript(0.5)
    t.use_sentences(pause)
    signs(t)
    assert [list(s.glosses) for s in t.sentences.sentences] == groups


def test_the_last_sentence_is_due_only_after_a_rest_or_a_request():
    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    assert [s.glosses for s in line.pending()] == [("me", "store", "go", "yesterday")]  # closed by WHERE
    assert line.rest(1.0) is None and len(line.pending()) == 1  # resting, but not long enough yet
    assert line.rest(1.5).glosses == ("where", "bathroom")
    assert len(line.pending()) == 2
    t.add("please", 0.9, [], 7.6, 8.0, 7)  # 0.2 s after BATHROOM: the same sentence goes on...
    assert line.sentences[-1].glosses == ("where", "bathroom", "please")
    assert line.finish() is line.sentences[-1]  # ...until the user ends it
    t.add("yes", 0.9, [], 8.2, 8.5, 8)
    assert line.sentences[-1].glosses == ("yes",)


def test_a_merged_repeat_of_one_motion_does_not_start_a_sentence():
    t = Transcript()
    line = t.use_sentences(1.5)
    t.add("hello", 0.9, [], 0.0, 1.0, motion_id=1)
    t.add("hello", 0.9, [], 1.0, 4.0, motion_id=1)  # a held sign cut at max length: merged
    t.add("yes", 0.9, [], 4.2, 4.6, motion_id=2)
    assert [s.glosses for s in line.sentences] == [("hello", "yes")]


# ---------------------------------------------------------------- the glosses stay the source of truth
def test_correcting_a_gloss_writes_its_sentence_again():
    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    line.finish()
    maker = FakeMaker()
    write(t, maker)
    first, second = line.sentences
    assert first.ready and first.text == "sentence: me store go yesterday"
    assert line.pending() == []
    t.correct(1, "school")
    assert first.stale and not first.ready and line.pending() == [first]
    assert second.ready  # the other sentence is untouched
    write(t, maker)
    assert first.text == "sentence: me school go yesterday" and first.ready
    assert maker.calls[-1][1] == ("school", ())  # a corrected gloss is sure: no alternatives
    t.remove(0)
    assert first.stale
    write(t, maker)
    assert first.text == "sentence: school go yesterday"


def test_a_correction_while_its_sentence_is_written_asks_again():
    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    first = line.pending()[0]
    sentence_id, glosses = line.request(first)
    assert line.pending() == []  # asked for already
    t.correct(2, "come")
    assert line.pending() == [first]  # other glosses now: wanted again
    line.fulfil(sentence_id, glosses, "I went to the store yesterday.")
    assert first.stale and line.pending() == [first]


def test_an_interrupted_sentence_stays_pending_and_the_rest_wait():
    t = Transcript(0.5)
    line = t.use_sentences(0.1)
    signs(t)
    line.finish()
    maker = FakeMaker()
    assert write(t, maker, should_stop=lambda: True) == []
    assert len(maker.calls) == 1 and len(line.pending()) == 6
    assert len(write(t, maker)) == 6 and line.pending() == []


def test_unsure_glosses_bring_their_alternatives_into_the_prompt(tiny_model_dir):
    from transformers import AutoProcessor

    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    glosses = glosses_of(line.sentences[0].entries, t.is_sure)
    assert glosses[1] == ("store", ("stop", "school")) and glosses[0] == ("me", ())
    prompt = render_sentence_prompt(AutoProcessor.from_pretrained(tiny_model_dir), format_glosses(glosses))
    assert "ME [STORE | STOP | SCHOOL] GO YESTERDAY" in prompt
    assert "ASL word order" in prompt and "<video>" not in prompt
    assert prompt.rstrip().endswith("assistant")  # the model's own chat template, up to the answer
    assert format_glosses([("thank you", ())]) == "THANK-YOU"


# ---------------------------------------------------------------- exports
def test_exports_hold_the_sentences():
    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    write(t, FakeMaker())  # the first sentence only: the second is not due yet
    assert t.to_text("sentences") == "sentence: me store go yesterday\n[where bathroom]\n"
    assert t.to_text("both") == "sentence: me store go yesterday\n  [me (store?) go yesterday]\n[where bathroom]\n"
    assert t.to_text() == t.to_text("glosses") == "me (store?) go yesterday where bathroom\n"
    srt = t.to_srt()
    assert srt.split("\n\n")[0] == "1\n00:00:00,000 --> 00:00:03,200\nsentence: me store go yesterday"
    assert "2\n00:00:06,000 --> 00:00:07,400\n[where bathroom]" in srt
    report = t.to_report()
    assert [s["signs"] for s in report["sentences"]] == [[0, 1, 2, 3], [4, 5]]
    assert report["sentences"][0]["text"] == "sentence: me store go yesterday"
    assert report["sentences"][1]["text"] == "" and report["signs"] == t.to_json()
    line.finish()
    write(t, FakeMaker())
    assert t.to_text("sentences").splitlines()[1] == "sentence: where bathroom"
    with pytest.raises(ValueError):
        t.to_text("words")


def test_saved_files_hold_the_sentences(tmp_path):
    t = Transcript(0.5)
    t.use_sentences(1.5)
    signs(t)
    t.sentences.finish()
    write(t, FakeMaker())
    saved = json.loads(t.save(tmp_path / "t.json").read_text())
    assert saved["sentences"][1]["glosses"] == ["where", "bathroom"]
    assert t.save(tmp_path / "t.txt", contents="both").read_text() == t.to_text("both")
    assert "sentence: where bathroom" in t.save(tmp_path / "t.srt").read_text()


# Today's exports of signs(Transcript(0.5)), as written before the sentence line existed.
GOLDEN_TEXT = "me (store?) go yesterday where bathroom\n"
GOLDEN_SRT = ("1\n00:00:00,000 --> 00:00:00,800\nme\n\n2\n00:00:01,000 --> 00:00:01,600\nstore? (not sure)\n\n"
              "3\n00:00:01,900 --> 00:00:02,400\ngo\n\n4\n00:00:02,600 --> 00:00:03,200\nyesterday\n\n"
              "5\n00:00:06,000 --> 00:00:06,500\nwhere\n\n6\n00:00:06,800 --> 00:00:07,400\nbathroom\n")
GOLDEN_JSON_FIRST = {"text": "me", "score": 0.9,
                     "candidates": [{"text": "me", "score": 0.9}, {"text": "i", "score": 0.05}],
                     "start_s": 0.0, "end_s": 0.8, "motion_id": 1, "corrected_from": None, "repeats": 1, "meta": {},
                     "not_sure": False}


@pytest.mark.parametrize("toggle", [False, True])
def test_sentences_off_exports_exactly_what_they_were(tmp_path, toggle):
    t = Transcript(0.5)
    if toggle:  # on, then off again
        t.use_sentences(1.5)
    signs(t)
    if toggle:
        write(t, FakeMaker())
        t.use_sentences(None)
    assert t.sentences is None
    assert t.to_text() == GOLDEN_TEXT and t.to_text("both") == GOLDEN_TEXT
    assert t.to_srt() == GOLDEN_SRT
    assert t.to_report() == t.to_json() and t.to_json()[0] == GOLDEN_JSON_FIRST and len(t.to_json()) == 6
    assert json.loads(t.save(tmp_path / "t.json").read_text()) == t.to_json()
    assert t.sentences_json() == []


def test_the_oldest_entries_beyond_the_bound_leave_their_sentences():
    t = Transcript(max_entries=3)
    line = t.use_sentences(1.5)
    signs(t)
    assert [s.glosses for s in line.sentences] == [("yesterday",), ("where", "bathroom")]
    assert t.to_report()["sentences"][0]["signs"] == [0]


def test_turning_the_line_on_groups_the_signs_already_there():
    t = signs(Transcript(0.5))
    line = t.use_sentences(1.5)
    assert [len(s.entries) for s in line.sentences] == [4, 2]
    assert SentenceLine(2.0).pause_s == 2.0


def test_the_rest_clock_counts_only_while_nothing_is_signed_or_pending():
    from signdesk.sentence_line import RestClock

    clock = RestClock()
    assert clock.resting_s(10.0) is None  # no sign yet
    clock.sent(1.0)
    assert clock.resting_s(10.0) is None
    clock.answered(1.0, sign_end_t=0.5)
    assert clock.resting_s(2.5) == 2.0
    clock.sent(3.0)  # a newer sign waits for the model
    clock.sent(4.0)  # ...and another replaced it (latest wins): only the newest counts
    clock.answered(3.0, 2.9)
    assert clock.resting_s(6.0) is None
    clock.answered(4.0, 3.8)
    assert clock.resting_s(6.0) == pytest.approx(2.2)
    clock.signing(True)
    assert clock.resting_s(6.0) is None
    clock.signing(False)
    clock.reset()
    assert clock.resting_s(6.0) is None


def test_a_late_answer_for_corrected_glosses_does_not_replace_the_current_sentence():
    t = Transcript(0.5)
    line = t.use_sentences(1.5)
    signs(t)
    first = line.sentences[0]
    old_id, old = line.request(first)
    t.correct(1, "school")
    new_id, new = line.request(first)
    line.fulfil(new_id, new, "I went to school yesterday.")
    line.fulfil(old_id, old, "I went to the store yesterday.")
    assert first.ready and first.text == "I went to school yesterday." and line.pending() == []
