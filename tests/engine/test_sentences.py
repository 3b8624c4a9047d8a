"""The sentence line's model side on the tiny model: text only, bounded, interruptible, adapter off; the bench."""

from __future__ import annotations

import contextlib
import json

import pytest

from signdesk.engine.sentence_bench import chrf, load_reference_set, row_glosses
from signdesk.engine.sentences import SentenceInterrupted, SentenceMaker, token_budget
from signdesk.errors import ConfigError, SignDeskError

ROW = [("yesterday", ()), ("me", ()), ("friend", ()), ("with", ()), ("store", ("stop", "school")), ("go", ())]


@pytest.fixture
def maker(interpreter):
    return SentenceMaker(interpreter, max_new_tokens=12)


def test_a_sentence_is_written_from_text_alone_within_its_token_budget(maker, monkeypatch):
    seen = {}
    generate = maker.loaded.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return generate(**kwargs)

    monkeypatch.setattr(maker.loaded.model, "generate", spy)
    out = maker.make(ROW)
    assert "pixel_values" not in seen and seen["max_new_tokens"] == 12  # no image; 8 + 2*6 capped at 12
    assert seen["input_ids"].shape[1] == out.timings_ms["prompt_tokens"]
    video_id = maker.loaded.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    assert video_id not in seen["input_ids"][0].tolist()  # no visual tokens
    assert 1 <= out.tokens <= 12 and "\n" not in out.text
    assert out.gloss_line == "YESTERDAY ME FRIEND WITH [STORE | STOP | SCHOOL] GO"
    assert out.timings_ms["cached_tokens"] > 0  # the fixed instructions came from the prefix cache


def test_the_cached_prompt_prefix_changes_nothing(interpreter):
    cached = SentenceMaker(interpreter, 10).make(ROW)
    again = SentenceMaker(interpreter, 10)
    again.make(ROW[:2])  # the prefix is filled on first use and must stay as it was for the next sentence
    whole = SentenceMaker(interpreter, 10, reuse_prefix=False).make(ROW)
    assert cached.text == again.make(ROW).text == whole.text
    assert whole.timings_ms["cached_tokens"] == 0


def test_should_stop_cuts_a_sentence_short(maker):
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SentenceInterrupted):
        maker.make(ROW, should_stop=stop_after_two)
    assert len(calls) == 3  # checked before starting, then after each token until it said stop
    with pytest.raises(SentenceInterrupted):
        maker.make(ROW, should_stop=lambda: True)  # a sign already waits: nothing is generated


def test_an_empty_row_is_refused(maker):
    with pytest.raises(SignDeskError, match="at least one gloss"):
        maker.make([(" ", ())])


def test_token_budget_grows_with_the_row_and_is_capped():
    assert token_budget(1) == 10 and token_budget(6) == 20 and token_budget(6, cap=16) == 16
    assert token_budget(40) == 32  # the default cap


def test_the_adapter_is_off_while_a_sentence_is_written(tiny_model_dir, build_interpreter, tmp_path):
    """A sign-vocabulary adapter changes the sign scores but not the sentence: the base model writes it."""
    from peft import LoraConfig, get_peft_model

    from signdesk.engine.loader import load_model

    loaded = load_model(str(tiny_model_dir), device="cpu")  # its own copy: peft changes the model in place
    interp = build_interpreter(loaded)
    base = SentenceMaker(interp, 10, reuse_prefix=False).make(ROW).text
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "gate_proj"], init_lora_weights=False)
    folder = tmp_path / "adapter"
    get_peft_model(load_model(str(tiny_model_dir), device="cpu").model, config).save_pretrained(folder)
    assert interp.set_adapter(folder) == "adapter"
    with_adapter = SentenceMaker(interp, 10, reuse_prefix=False)
    assert with_adapter.make(ROW).text == base
    # ...while the same prompt with the adapter on writes something else: the adapter does matter
    with_adapter._base_model = contextlib.nullcontext
    assert with_adapter.make(ROW).text != base


# ---------------------------------------------------------------- the reference set and the score
def test_the_packaged_reference_set_uses_the_core_glossary():
    from signdesk.engine.vocab import resolve_glossary

    rows = load_reference_set()
    words = set(resolve_glossary("core-320"))
    assert len(rows) == 30 and sum(len(r["glosses"]) == 6 for r in rows) >= 3
    assert [g for r in rows for g in r["glosses"] if g not in words] == []
    assert all(r["references"] for r in rows)
    unsure = [r for r in rows if r["unsure"]]
    assert unsure and row_glosses(unsure[0])[1] == ("mine", ("your", "that"))


@pytest.mark.parametrize("text, error", [
    ("rows: []\n", "non-empty list 'rows'"),
    ("rows:\n  - glosses: [me]\n", "row 1 needs 'references'"),
    ("rows:\n  - glosses: me\n    references: [I]\n", "row 1 needs 'glosses'"),
    ("rows:\n  - glosses: [me]\n    references: [I]\n    unsure: {3: [you]}\n", "row 1: 'unsure'"),
    ("rows: [\n", "not a readable YAML"),
])
def test_a_bad_reference_set_is_one_line(tmp_path, text, error):
    path = tmp_path / "set.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_reference_set(str(path))
    with pytest.raises(ConfigError, match="no such reference set"):
        load_reference_set(str(tmp_path / "missing.yaml"))


def test_chrf():
    assert chrf("I went to the store.", "I went to the store.") == pytest.approx(100.0)
    assert chrf("I went to the store.", ["xyz", "i went to the store."]) == pytest.approx(100.0)  # best reference
    assert chrf("qqq", "I went to the store.") == 0.0
    near = chrf("I go to the store.", "I went to the store.")
    far = chrf("The cat sleeps.", "I went to the store.")
    assert 40 < near < 100 and far < near


@pytest.mark.slow
def test_bench_sentences_command(tiny_model_dir, capsys):
    from signdesk.cli import main

    assert main(["bench", "sentences", "--model", str(tiny_model_dir), "--limit", "2", "--json",
                 "--max-new-tokens", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["sentences"] == 2 and report["max_new_tokens"] == 8
    assert all(row["tokens"] <= 8 and row["ms"]["total"] > 0 for row in report["rows"])
    assert 0 <= report["summary"]["chrf_mean"] <= 100
    assert main(["bench-sentences", "--model", str(tiny_model_dir), "--length", "6", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "6-gloss rows     1" in out and "chrF" in out
    assert main(["bench", "sentences", "--set", "nope", "--model", str(tiny_model_dir)]) == 2
    assert "nope: no such reference set" in capsys.readouterr().err


def test_sentence_settings_are_checked_and_off_by_default():
    from signdesk.config import load_settings

    settings = load_settings()
    assert settings["sentences.enabled"] is False and settings["sentences.pause_seconds"] == 1.5
    for key, bad in (("sentences.pause_seconds", 0.1), ("sentences.enabled", "yes"), ("sentences.max_new_tokens", 4)):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_settings({key: bad})
