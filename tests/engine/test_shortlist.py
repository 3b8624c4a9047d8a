"""Glossary shortlists in vocab mode: exact scores for the kept glosses, whole first-token groups, the setting."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import torch

from signdesk.engine.interpreter import Interpreter
from signdesk.engine.prompts import PromptSpec
from signdesk.engine.shortlist import select, shortlist_recall
from signdesk.engine.vocab import resolve_glossary
from signdesk.errors import ConfigError
from signdesk.video.decode import sample_frames

PROMPT = PromptSpec("You interpret ASL.", "Which sign is this?")
SMALL = ["hello", "yes", "no", "thank you", "computer", "book", "drink water", "please"]


def make(loaded, words, **kwargs) -> Interpreter:
    return Interpreter(loaded, PROMPT, num_frames=4, glossary=words, score_batch_size=16, **kwargs)


def frames(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (8, 90, 120, 3), dtype=np.uint8)


def inputs_for(interp: Interpreter, seed: int) -> dict:
    return interp.prepare_inputs(sample_frames(frames(seed), interp.num_frames, interp.frame_size))


def first_token_logprobs(loaded, interp: Interpreter, inputs: dict) -> np.ndarray:
    """The reference: each gloss's first answer token's log-probability, from a plain forward pass."""
    with torch.inference_mode():
        logits = loaded.model(**inputs).logits[0, -1]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    return np.array([logprobs[ids[0]].item() for ids in interp._vocab.token_ids])


def groups_of(interp: Interpreter) -> dict[int, set[int]]:
    groups: dict[int, set[int]] = defaultdict(set)
    for index, ids in enumerate(interp._vocab.token_ids):
        groups[ids[0]].add(index)
    return groups


@pytest.fixture(scope="module")
def core_words() -> list[str]:
    return resolve_glossary("core-320")[:96]


# ----------------------------------------------------------------- selection alone
def test_select_keeps_the_likeliest_first_token_groups_whole():
    tokens = [7, 7, 7, 3, 3, 9, 5, 5, 1]
    lp = np.array([-1.0, -1.0, -1.0, -0.5, -0.5, -2.0, -3.0, -3.0, -0.2])
    assert select(lp, tokens, 0).tolist() == list(range(9))  # 0: everything
    assert select(lp, tokens, 9).tolist() == list(range(9))  # no larger than the shortlist: everything
    assert select(lp, tokens, 3).tolist() == [3, 4, 8]  # token 1 (1 gloss), token 3 (2); token 7 (3) would not fit
    assert select(lp, tokens, 5).tolist() == [3, 4, 8]  # never a less likely group in place of one that does not fit
    assert select(lp, tokens, 6).tolist() == [0, 1, 2, 3, 4, 8]
    assert select(np.array([-0.1, -0.1, -0.1, -5.0]), [4, 4, 4, 2], 2).tolist() == [0, 1, 2]  # top group always
    assert select(np.array([-1.0, -1.0]), [8, 6], 1).tolist() == [0]  # a tie goes to the earlier gloss


# ----------------------------------------------------------------- on the tiny model
def test_a_shortlist_holding_every_gloss_equals_full_scoring(loaded_tiny, core_words):
    interp = make(loaded_tiny, core_words)
    groups = groups_of(interp)
    biggest = max(groups.values(), key=len)
    assert len(biggest) >= 3, "the test needs glosses that share a first token"
    words = [core_words[i] for i in sorted(biggest)]
    for words_, size in ((core_words, len(core_words)), (core_words, 10_000), (words, 2)):
        # all of core_words when the shortlist is no smaller; one first-token group is kept whole even past N
        interp = make(loaded_tiny, words_, top_k=min(5, len(words_)))
        inputs = inputs_for(interp, 3)
        full = interp.candidate_logprobs(inputs)
        short = interp.candidate_logprobs(inputs, shortlist=size)
        assert interp.last_timings_ms["scored"] == len(words_) == interp.last_timings_ms["glosses"]
        np.testing.assert_allclose(short, full, atol=1e-5, rtol=0)
        interp.shortlist = 0
        everything = interp.interpret_frames(frames(3))
        interp.shortlist = size
        shortlisted = interp.interpret_frames(frames(3))
        assert [c.text for c in shortlisted.candidates] == [c.text for c in everything.candidates]
        np.testing.assert_allclose([c.score for c in shortlisted.candidates],
                                   [c.score for c in everything.candidates], atol=1e-5)
        assert interp.last_timings_ms["scored"] == len(words_)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_small_shortlist_scores_only_the_likeliest_groups_exactly(loaded_tiny, core_words, seed):
    interp = make(loaded_tiny, core_words, top_k=3)
    inputs = inputs_for(interp, seed)
    full = interp.candidate_logprobs(inputs)
    first = first_token_logprobs(loaded_tiny, interp, inputs)
    groups = groups_of(interp)
    best = int(np.argmax(full))
    # the smallest N whose shortlist holds the full top-1: every gloss whose first token is at least as likely
    size = int((first >= first[best] - 1e-9).sum())
    assert size < len(core_words), "the test needs a top-1 that a shortlist can hold"
    for n in (size, max(1, size // 3)):
        short = interp.candidate_logprobs(inputs, shortlist=n)
        kept = set(np.flatnonzero(np.isfinite(short)).tolist())
        assert interp.last_timings_ms["scored"] == len(kept) < len(core_words)
        assert interp.last_timings_ms["glosses"] == len(core_words)
        kept_groups = [g for g in groups.values() if g & kept]
        assert all(g <= kept for g in kept_groups)  # whole groups only
        assert len(kept) <= n or len(kept_groups) == 1  # up to N, unless one group alone is larger
        left_out = sorted(set(range(len(core_words))) - kept)
        assert first[left_out].max() <= first[sorted(kept)].min() + 1e-6  # the likeliest first tokens
        np.testing.assert_allclose(short[sorted(kept)], full[sorted(kept)], atol=1e-5, rtol=0)
        if n == size:
            assert best in kept
        if best in kept:
            assert int(np.argmax(short)) == best
    # the result: top-k of the same shape, the full top-1, probabilities over the scored glosses only
    interp.shortlist = size
    result = interp.interpret_frames(frames(seed))
    assert result.text == core_words[best]
    assert interp.last_timings_ms["scored"] < len(core_words)
    # a top-k longer than the shortlist (the next group did not fit): the unscored glosses fill it
    tokens = [ids[0] for ids in interp._vocab.token_ids]
    top_k = next(k for k in range(2, len(core_words)) if len(select(first, tokens, k)) < k)
    interp.configure(top_k=top_k)
    interp.shortlist = 1  # raised to top_k
    result = interp.interpret_frames(frames(seed))
    scored = int(interp.last_timings_ms["scored"])
    scores = [c.score for c in result.candidates]
    assert len(result.candidates) == top_k > scored
    assert sum(scores[:scored]) == pytest.approx(1.0, abs=1e-6) and all(s > 0 for s in scores[:scored])
    assert all(s == 0.0 for s in scores[scored:])  # the rest: no probability, below every scored gloss
    rest = [core_words.index(c.text) for c in result.candidates[scored:]]
    assert list(first[rest]) == sorted(first[rest], reverse=True)  # ranked by their first token


def test_the_shortlist_is_never_smaller_than_top_k(loaded_tiny, core_words):
    interp = make(loaded_tiny, core_words, top_k=20, shortlist=1)
    inputs = inputs_for(interp, 6)
    first = first_token_logprobs(loaded_tiny, interp, inputs)
    expected = len(select(first, [ids[0] for ids in interp._vocab.token_ids], 20))
    result = interp.interpret_frames(frames(6))
    assert len(result.candidates) == 20
    assert interp.last_timings_ms["scored"] == expected < len(core_words)
    assert expected > len(np.flatnonzero(np.isfinite(interp.candidate_logprobs(inputs, shortlist=1))))


def test_a_glossary_no_larger_than_the_shortlist_is_scored_fully(loaded_tiny):
    interp = make(loaded_tiny, SMALL, top_k=len(SMALL), shortlist=len(SMALL))
    inputs = inputs_for(interp, 7)
    full = interp.candidate_logprobs(inputs)
    result = interp.interpret_frames(frames(7))
    assert interp.last_timings_ms["scored"] == len(SMALL)
    assert all(c.score > 0 for c in result.candidates)
    assert sum(c.score for c in result.candidates) == pytest.approx(1.0, abs=1e-6)
    assert result.text == SMALL[int(np.argmax(full))]
    interp.configure(top_k=3)
    interp.shortlist = len(SMALL) - 1  # one word more than the shortlist: now it is applied
    interp.interpret_frames(frames(7))
    assert interp.last_timings_ms["scored"] < len(SMALL)


def test_shortlist_recall_reports_misses_per_size(loaded_tiny, core_words):
    interp = make(loaded_tiny, core_words)
    report = shortlist_recall(interp, [frames(8), frames(9)], [1, len(core_words)])
    assert report["clips"] == 2 and report["glossary_size"] == len(core_words)
    tiny, everything = report["sizes"]
    assert everything["misses"] == 0 and everything["mean_scored"] == len(core_words)
    assert everything["certain"] == 2  # every gloss scored: nothing left out to doubt
    assert tiny["mean_scored"] < len(core_words) and 0 <= tiny["misses"] <= 2


# ----------------------------------------------------------------- the setting
def test_the_setting_defaults_and_reaches_the_interpreter(loaded_tiny):
    from signdesk.config import load_settings

    settings = load_settings()
    assert settings["generation.shortlist"] == 32
    interp = Interpreter.from_settings(loaded_tiny, settings.with_overrides({"generation.shortlist": 16}), SMALL)
    assert interp.shortlist == 16


@pytest.mark.parametrize("value", [-1, "many", 2.5, True])
def test_a_bad_shortlist_setting_is_refused_clearly(value):
    from signdesk.config import load_settings

    with pytest.raises(ConfigError) as err:
        load_settings({"generation.shortlist": value})
    assert "'generation.shortlist'" in str(err.value) and "0 (score every gloss)" in str(err.value)
    assert repr(value) in str(err.value)


def test_a_negative_shortlist_is_refused_by_the_interpreter(loaded_tiny):
    with pytest.raises(ConfigError, match=r"0 \(score every gloss\) or a positive number.*-1"):
        make(loaded_tiny, SMALL, shortlist=-1)
    interp = make(loaded_tiny, SMALL)
    with pytest.raises(ConfigError, match="-3"):
        interp.shortlist = -3
    assert interp.shortlist == 0
