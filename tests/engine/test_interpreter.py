"""The interpreter with the tiny offline model: vocab scores, free generation, prompt and timings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signdesk.engine.prompts import answer_token_ids, end_of_turn_id, render_prompt
from signdesk.errors import ConfigError, VideoError
from signdesk.video.decode import sample_frames

GLOSSARY = ["hello", "yes", "no", "thank you", "computer", "book", "drink water", "please"]



def full_forward_logprob(loaded, inputs, answer: str) -> float:
    """The reference: the whole prompt + answer in one forward pass, no cache, no batching."""
    ids = answer_token_ids(loaded.tokenizer, answer)
    seq = torch.cat([inputs["input_ids"], torch.tensor([ids])], dim=1)
    with torch.inference_mode():
        logits = loaded.model(input_ids=seq, attention_mask=torch.ones_like(seq),
                              pixel_values=inputs["pixel_values"]).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    start = inputs["input_ids"].shape[1] - 1
    return sum(logprobs[start + i, t].item() for i, t in enumerate(ids))


@pytest.fixture
def clip_inputs(interpreter):
    frames = np.random.default_rng(1).integers(0, 256, (12, 90, 120, 3), dtype=np.uint8)
    return interpreter.prepare_inputs(sample_frames(frames, interpreter.num_frames, interpreter.frame_size))


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "batched"])
def test_vocab_scores_equal_a_full_forward_log_likelihood(interpreter, loaded_tiny, clip_inputs, packed):
    ours = interpreter.candidate_logprobs(clip_inputs, packed=packed)
    reference = [full_forward_logprob(loaded_tiny, clip_inputs, word) for word in GLOSSARY]
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=1e-5)
    assert len(set(np.round(ours, 3))) > 1  # the candidates really differ


def test_vocab_result_is_topk_normalised_over_the_glossary(interpreter):
    frames = np.random.default_rng(2).integers(0, 256, (10, 64, 80, 3), dtype=np.uint8)
    interpreter.configure(top_k=len(GLOSSARY))
    result = interpreter.interpret_frames(frames)
    scores = [c.score for c in result.candidates]
    assert sorted(c.text for c in result.candidates) == sorted(GLOSSARY)
    assert sum(scores) == pytest.approx(1.0, abs=1e-6)
    assert scores == sorted(scores, reverse=True)
    assert result.text == result.candidates[0].text and result.mode == "vocab"
    assert set(result.timings_ms) >= {"decode", "preprocess", "model", "total"}
    interpreter.configure(top_k=3)
    assert len(interpreter.interpret_frames(frames).candidates) == 3


def test_the_video_is_encoded_once_per_clip(interpreter, loaded_tiny, monkeypatch):
    calls = []
    original = loaded_tiny.model.model.get_image_features

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(loaded_tiny.model.model, "get_image_features", counting)
    interpreter.interpret_frames(np.zeros((4, 64, 64, 3), np.uint8))
    assert len(calls) == 1  # eight candidates, in three batches: one vision pass


def test_prompt_has_one_video_and_the_frames(interpreter, loaded_tiny, clip_inputs):
    text = render_prompt(loaded_tiny.processor, interpreter.prompt)
    assert text.count("<video>") == 1 and text.endswith("<|im_start|>assistant\n")
    decoded = loaded_tiny.tokenizer.decode(clip_inputs["input_ids"][0])
    assert decoded.count("<img>") == interpreter.num_frames
    assert "Frame4: <img>" in decoded and "Which sign is this?" in decoded


def test_answers_end_with_the_end_of_turn_token(loaded_tiny):
    ids = answer_token_ids(loaded_tiny.tokenizer, "thank you")
    assert ids[-1] == end_of_turn_id(loaded_tiny.tokenizer)
    assert loaded_tiny.tokenizer.decode(ids[:-1]) == "thank you"


def test_free_mode_generates_a_cleaned_answer(interpreter):
    interpreter.configure(mode="free")
    result = interpreter.interpret_frames(np.zeros((6, 64, 64, 3), np.uint8))
    assert result.mode == "free"
    assert result.text == result.text.strip().lower()
    assert len(result.candidates) <= 1


def test_interpret_video_reports_decode_time(interpreter, motion_video):
    result = interpreter.interpret_video(motion_video)
    assert result.text in GLOSSARY
    assert result.timings_ms["decode"] > 0
    assert result.timings_ms["total"] >= result.timings_ms["model"]


def test_vocab_mode_without_glossary_is_refused(interpreter):
    with pytest.raises(ConfigError, match="vocab mode needs a glossary"):
        interpreter.configure(glossary=None)
    interpreter.configure(mode="free", glossary=None)
    assert interpreter.glossary is None


def test_bad_frames_are_refused(interpreter):
    with pytest.raises(VideoError, match="expected frames shaped"):
        interpreter.interpret_frames(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(VideoError):
        interpreter.interpret_frames(np.zeros((0, 64, 64, 3), np.uint8))


def test_the_shared_model_is_still_the_plain_base_model(loaded_tiny, tiny_model_dir, clip_inputs, lora_layers):
    """test_adapters.py runs earlier in the session: LoRA layers left on the shared model by it would
    make every score here the adapter's, and the reference of the tests above too."""
    from signdesk.engine.loader import load_model

    assert not lora_layers(loaded_tiny.model)
    fresh = load_model(str(tiny_model_dir), device="cpu")
    assert full_forward_logprob(loaded_tiny, clip_inputs, "hello") == pytest.approx(
        full_forward_logprob(fresh, clip_inputs, "hello"), abs=1e-5)


def test_tiny_model_is_small_and_loads_through_the_user_path(tiny_model_dir, loaded_tiny):
    size = sum(p.stat().st_size for p in tiny_model_dir.iterdir())
    assert size < 2_000_000
    assert (tiny_model_dir / "model.safetensors").exists()
    assert not list(tiny_model_dir.glob("*.bin")) and not list(tiny_model_dir.glob("*.py"))
    assert type(loaded_tiny.model).__name__ == "InternVLForConditionalGeneration"
    assert loaded_tiny.frame_size == (64, 64)
    assert loaded_tiny.preprocessing["mean"] == [0.485, 0.456, 0.406]
    assert loaded_tiny.model.config._attn_implementation == "sdpa"


def test_real_clips(shared_data, interpreter):
    for path in sorted((shared_data / "samples").glob("dict_*.mp4"))[:3]:
        assert interpreter.interpret_video(path).text in GLOSSARY
