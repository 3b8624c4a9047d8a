"""The one door to transformers' KV-cache API: prefill a prompt once, then score steps on top of it.

Vocab scoring leans on details of transformers that have changed between releases and will again:
the forward keyword and output field that carry the cache (``cache``; ``past_key_values`` before 5.24,
accepted with a warning until 5.40), ``logits_to_keep``, the layout of ``DynamicCache`` (``cache.layers``,
each with ``keys``/``values`` tensors shaped (batch, kv heads, sequence, head dim)), that a layer's
``update`` appends with ``torch.cat`` (new tensors: the prefix's own are never written), that a custom
4D float mask is used as given, and the private ``config._attn_implementation``. Every such name is
used here and nowhere else; tests/engine/test_library_contracts.py checks each against the installed
transformers. ``Cache.crop`` is deliberately not used: its argument changed meaning (an absolute length
before, tokens to remove now), and it cannot undo a batch expansion anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

#: The forward keyword (and output field) that carries the KV cache in transformers >= 5.24.
CACHE_ARG = "cache"


def prefill(model: Any, inputs: dict[str, Any]) -> tuple[Any, Any]:
    """Run the prompt (with its video) once: the logits of its last position (vocab,) and its KV cache."""
    out = model(**inputs, use_cache=True, logits_to_keep=1)
    cache = getattr(out, CACHE_ARG, None)
    if cache is None or not hasattr(cache, "layers"):
        import transformers

        raise RuntimeError(f"transformers {transformers.__version__} returned no DynamicCache as `{CACHE_ARG}` "
                           "from a forward with use_cache=True; signdesk/engine/kv_cache.py needs updating "
                           "(run tests/engine/test_library_contracts.py)")
    return out.logits[0, -1], cache


def custom_masks_supported(model: Any) -> bool:
    """Whether the attention takes a custom 4D mask (SDPA, eager); flash-attention 2 takes none."""
    return getattr(model.config, "_attn_implementation", "sdpa") != "flash_attention_2"


def forward_on_prefix(model: Any, cache: Any, *, rows: int = 1, **step: Any) -> Any:
    """The logits of ``step`` (input_ids, attention_mask, position_ids...) fed after the cached prefix.

    ``rows`` > 1: the one-row prefix is broadcast to that many rows first. The cache holds exactly the
    prefix again afterwards, so any number of steps can be scored on one prefill.
    """
    with _prefix_kept(cache):
        if rows > 1:
            _broadcast(cache, rows)
        return model(**step, **{CACHE_ARG: cache}, use_cache=True).logits


def _broadcast(cache: Any, rows: int) -> None:
    """The prefix as ``rows`` rows: a view (expand), not a copy; the step's ``update`` (torch.cat) then
    builds each layer's (rows, heads, prefix + step, dim) tensors, as a batch of its own would have."""
    for layer in cache.layers:
        layer.keys = layer.keys.expand(rows, -1, -1, -1)
        layer.values = layer.values.expand(rows, -1, -1, -1)


@contextlib.contextmanager
def _prefix_kept(cache: Any) -> Iterator[None]:
    """Put the prefix's own key/value tensors back after a step appended to (or expanded) them."""
    saved = [(layer.keys, layer.values) for layer in cache.layers]
    try:
        yield
    finally:
        for layer, (keys, values) in zip(cache.layers, saved, strict=True):
            layer.keys, layer.values = keys, values
