"""Contracts with transformers that vocab scoring relies on (signdesk/engine/kv_cache.py), on the tiny model.

Each test exercises one name or behaviour of the installed transformers directly, so an upgrade that
renames or changes it fails here, with a message naming the change, rather than as a wrong score
somewhere in test_interpreter.py. When one fails after a bump: adapt kv_cache.py (only it), then run
this file, tests/engine/test_interpreter.py and tests/engine/test_shortlist.py.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import transformers

from signdesk.engine import kv_cache
from signdesk.video.decode import sample_frames


def changed(what: str) -> str:
    return (f"transformers {transformers.__version__} changed: {what}. signdesk/engine/kv_cache.py relies on it "
            "(see its docstring); adapt it there, then run tests/engine/test_interpreter.py")


@pytest.fixture
def inputs(interpreter):
    frames = np.random.default_rng(3).integers(0, 256, (8, 90, 120, 3), dtype=np.uint8)
    return interpreter.prepare_inputs(sample_frames(frames, interpreter.num_frames, interpreter.frame_size))


@pytest.fixture
def model(loaded_tiny):
    return loaded_tiny.model


def tokens(loaded, text: str) -> list[int]:
    return loaded.tokenizer(text, add_special_tokens=False)["input_ids"]


def full_logits(model, inputs, extra: list[int]) -> torch.Tensor:
    """The logits of ``extra`` after the prompt, in one forward pass without any cache."""
    seq = torch.cat([inputs["input_ids"], torch.tensor([extra])], dim=1)
    with torch.inference_mode():
        logits = model(input_ids=seq, attention_mask=torch.ones_like(seq), pixel_values=inputs["pixel_values"]).logits
    return logits[0, -len(extra):].float()


def test_the_cache_classes_are_where_kv_cache_expects_them():
    from transformers.cache_utils import DynamicLayer

    assert hasattr(transformers, "DynamicCache"), changed("transformers.DynamicCache is gone")
    for name in ("layers", "get_seq_length"):
        assert hasattr(transformers.DynamicCache(), name), changed(f"DynamicCache has no `{name}`")
    for name in ("keys", "values"):
        assert name in vars(DynamicLayer()), changed(f"a DynamicLayer keeps no `{name}` tensor attribute")


@pytest.mark.parametrize("part", ["model", "language model"])
def test_forward_takes_the_cache_and_logits_to_keep_under_these_names(model, part):
    forward = (model if part == "model" else model.model.language_model).forward
    params = inspect.signature(forward).parameters
    assert kv_cache.CACHE_ARG in params, changed(
        f"{type(model).__name__} ({part}).forward has no `{kv_cache.CACHE_ARG}` argument (renamed? "
        "it was `past_key_values` before 5.24); update kv_cache.CACHE_ARG")
    if part == "model":
        assert "logits_to_keep" in params, changed("the forward's `logits_to_keep` argument is gone")


def test_prefill_keeps_one_logit_row_and_returns_a_dynamic_cache_of_the_prompt(model, inputs):
    from transformers.cache_utils import DynamicLayer

    with torch.inference_mode():
        out = model(**inputs, use_cache=True, logits_to_keep=1)
    assert out.logits.shape[1] == 1, changed(f"logits_to_keep=1 gave {out.logits.shape[1]} positions, not 1")
    cache = getattr(out, kv_cache.CACHE_ARG, None)
    assert isinstance(cache, transformers.DynamicCache), changed(
        f"the forward output's `{kv_cache.CACHE_ARG}` is {type(cache).__name__}, not a DynamicCache")
    text = model.config.get_text_config()
    assert len(cache.layers) == text.num_hidden_layers, changed("cache.layers is not one entry per decoder layer")
    prompt = inputs["input_ids"].shape[1]
    head_dim = text.hidden_size // text.num_attention_heads
    for layer in cache.layers:
        assert type(layer) is DynamicLayer, changed(f"the prefill cache holds {type(layer).__name__} layers, "
                                                    "not DynamicLayer (a sliding or static layer keeps no full prefix)")
        for tensor in (layer.keys, layer.values):
            assert tuple(tensor.shape) == (1, text.num_key_value_heads, prompt, head_dim), changed(
                f"a layer's keys/values are shaped {tuple(tensor.shape)}, not (batch, kv heads, sequence, head dim)")
    logits, kept = kv_cache.prefill(model, inputs)
    assert logits.shape == (out.logits.shape[-1],) and kept.get_seq_length() == prompt


def test_a_step_appends_new_tensors_and_never_writes_the_prefix_in_place(model, inputs, loaded_tiny):
    """kv_cache restores the prefix by putting its tensors back: that needs ``update`` to build new ones."""
    with torch.inference_mode():
        _, cache = kv_cache.prefill(model, inputs)
        prompt = cache.get_seq_length()
        saved = [(layer.keys, layer.values, layer.keys.clone()) for layer in cache.layers]
        step = tokens(loaded_tiny, "hello yes")
        ids = torch.tensor([step])
        mask = torch.ones((1, prompt + len(step)), dtype=torch.long)
        logits = model(input_ids=ids, attention_mask=mask, **{kv_cache.CACHE_ARG: cache}, use_cache=True).logits
    for layer, (keys, values, copy) in zip(cache.layers, saved, strict=True):
        assert layer.keys.shape[-2] == prompt + len(step), changed("a forward with a cache did not append to it")
        assert layer.keys is not keys and layer.values is not values, changed(
            "DynamicLayer.update now extends the cached tensors in place")
        assert torch.equal(keys, copy), changed("a forward with a cache wrote into the prefix's key tensors")
    torch.testing.assert_close(logits[0].float(), full_logits(model, inputs, step), atol=1e-4, rtol=1e-4,
                               msg=lambda m: changed(f"a step on the cache differs from one full forward: {m}"))


def test_forward_on_prefix_leaves_exactly_the_prefix(model, inputs, loaded_tiny):
    step = tokens(loaded_tiny, "thank you")
    with torch.inference_mode():
        _, cache = kv_cache.prefill(model, inputs)
        prompt = cache.get_seq_length()
        before = [(layer.keys, layer.values) for layer in cache.layers]
        for rows in (1, 3):
            ids = torch.tensor([step] * rows)
            mask = torch.ones((rows, prompt + len(step)), dtype=torch.long)
            kv_cache.forward_on_prefix(model, cache, rows=rows, input_ids=ids, attention_mask=mask)
            assert cache.get_seq_length() == prompt
            for layer, (keys, values) in zip(cache.layers, before, strict=True):
                assert layer.keys is keys and layer.values is values


def test_an_expanded_prefix_scores_each_row_as_a_batch_of_its_own(model, inputs, loaded_tiny):
    """The batched path: a one-row prefix ``expand``-ed to the batch is accepted by ``update`` (torch.cat)."""
    first, second = tokens(loaded_tiny, "drink water"), tokens(loaded_tiny, "computer")
    width = max(len(first), len(second))
    with torch.inference_mode():
        _, cache = kv_cache.prefill(model, inputs)
        prompt = cache.get_seq_length()
        ids = torch.zeros((2, width), dtype=torch.long)
        mask = torch.zeros((2, prompt + width), dtype=torch.long)
        mask[:, :prompt] = 1
        for row, seq in enumerate((first, second)):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, prompt : prompt + len(seq)] = 1
        logits = kv_cache.forward_on_prefix(model, cache, rows=2, input_ids=ids, attention_mask=mask)
    assert logits.shape[0] == 2, changed("a step over an expanded cache did not give one row per batch entry")
    for row, seq in enumerate((first, second)):
        torch.testing.assert_close(logits[row, : len(seq)].float(), full_logits(model, inputs, seq), atol=1e-4,
                                   rtol=1e-4, msg=lambda m: changed(f"a row over an expanded prefix is off: {m}"))


def test_a_custom_4d_float_mask_is_used_as_given(model, inputs, loaded_tiny):
    """The packed path: two tokens side by side at the same position, the second masked from the first,
    score as if each had been fed alone after the prefix."""
    a, b = tokens(loaded_tiny, "hello")[0], tokens(loaded_tiny, "book")[0]
    assert kv_cache.custom_masks_supported(model)
    with torch.inference_mode():
        _, cache = kv_cache.prefill(model, inputs)
        prompt = cache.get_seq_length()
        allowed = torch.ones((2, prompt + 2), dtype=torch.bool)
        allowed[0, prompt + 1] = allowed[1, prompt] = False  # each sees the prefix and itself only
        mask = torch.zeros(allowed.shape, dtype=model.dtype)
        mask.masked_fill_(~allowed, torch.finfo(model.dtype).min)
        logits = kv_cache.forward_on_prefix(model, cache, input_ids=torch.tensor([[a, b]]),
                                            position_ids=torch.tensor([[prompt, prompt]]),
                                            attention_mask=mask[None, None])
    for column, token in enumerate((a, b)):
        torch.testing.assert_close(logits[0, column].float(), full_logits(model, inputs, [token])[0], atol=1e-4,
                                   rtol=1e-4, msg=lambda m: changed(f"a custom 4D float attention mask or explicit "
                                                                    f"position_ids were not used as given: {m}"))


def test_the_attention_implementation_is_named_where_kv_cache_reads_it(model):
    name = getattr(model.config, "_attn_implementation", None)
    assert name in ("sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention"), changed(
        f"config._attn_implementation is {name!r}; kv_cache.custom_masks_supported reads it to keep "
        "custom masks away from flash-attention")
