"""The sentence line's model side: a row of ASL glosses → one English sentence, text only.

The language model InternVL3 already carries (Qwen2.5) writes the sentence; no image goes in, so no
visual tokens are computed. The prompt comes from ``signdesk.engine.prompts`` (the model's own chat
template). Three choices keep it cheap and safe next to live signing:

- The fixed part of the prompt (system turn and instructions, ~70 tokens) is prefilled once per
  loaded model and its KV cache reused: each sentence prefills only its glosses and the assistant
  header (about 20 tokens for 6 glosses), then decodes greedily.
- ``max_new_tokens`` is bounded by the row's length (``token_budget``): an English sentence needs
  about two tokens per gloss, so a model that never says "end of turn" (random weights, a bad
  adapter) cannot run on.
- ``should_stop`` is checked after every generated token (a transformers ``StoppingCriteria``): the
  engine thread passes "a live sign is waiting", so a sentence never delays a sign; an interrupted
  sentence raises ``SentenceInterrupted`` and is simply asked for again later.

LoRA adapters are switched off while a sentence is written (PEFT's ``disable_adapter()``): SignDesk's
adapters are trained on (video → one glossary word) pairs, which teaches the language model to answer
with a single word, the opposite of free text; the base model's chat behaviour is what turns glosses
into English. The KV-cache prefix is then valid whatever adapter the signs use.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from signdesk.engine.prompts import (
    SENTENCE_USER,
    clean_sentence,
    end_of_turn_id,
    format_glosses,
    render_sentence_prompt,
)
from signdesk.errors import SignDeskError

log = logging.getLogger(__name__)

#: Generated tokens at most per sentence, whatever the row's length (setting ``sentences.max_new_tokens``).
DEFAULT_MAX_NEW_TOKENS = 32
#: Glosses of one row given to the model at most (the newest are kept): a bound on prompt cost.
MAX_GLOSSES = 40

#: One gloss of a row: its text and, when the sign was unsure, the alternatives the model may pick from.
Gloss = tuple[str, tuple[str, ...]]


class SentenceInterrupted(Exception):  # not an error: the sentence is asked for again later
    """``should_stop`` said stop (a live sign is waiting): the sentence was cut short and is not done."""


@dataclass
class SentenceOutput:
    text: str
    gloss_line: str  # what the model was given
    tokens: int  # tokens generated
    timings_ms: dict[str, float] = field(default_factory=dict)  # prefill (+ first token), decode, total

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "glosses": self.gloss_line, "tokens": self.tokens,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


def token_budget(glosses: int, cap: int = DEFAULT_MAX_NEW_TOKENS) -> int:
    """Tokens a sentence of ``glosses`` glosses may take: 8 + 2 per gloss (an article, an ending, the
    full stop and end of turn fit), never more than ``cap``."""
    return max(1, min(int(cap), 8 + 2 * max(1, glosses)))


def _stopping_criteria(should_stop: Callable[[], bool] | None, stamps: list[float]):
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Flag(StoppingCriteria):
        """Stops generation when ``should_stop()`` is true; records when each token was done."""

        interrupted = False

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            stamps.append(time.perf_counter())
            stop = bool(should_stop is not None and should_stop())
            if stop:
                self.interrupted = True
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    flag = _Flag()
    return flag, StoppingCriteriaList([flag])


class SentenceMaker:
    """Writes sentences with an ``Interpreter``'s model (held under the interpreter's lock).

    One per loaded model: it keeps the prefilled prompt prefix.
    """

    def __init__(self, interpreter: Any, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, *,
                 reuse_prefix: bool = True) -> None:
        self.interpreter = interpreter
        self.loaded = interpreter.loaded
        if getattr(self.loaded, "model", None) is None:  # e.g. the model runs on a vLLM server (backend: server)
            raise SignDeskError("sentences are written by a model loaded here (backend: local); this one has none")
        self.max_new_tokens = int(max_new_tokens)
        self.reuse_prefix = reuse_prefix
        self._prefix: tuple[list[int], Any] | None = None  # token ids of the fixed prompt part, their KV cache
        self._prefix_checked = False
        # the interpreter's own lock: interpreting and writing sentences never overlap on the one model
        self._lock = getattr(interpreter, "_lock", None) or threading.RLock()

    def _base_model(self) -> contextlib.AbstractContextManager:
        adapters = getattr(self.interpreter, "adapters", None)
        if adapters is not None and adapters.paths:
            return adapters.model.disable_adapter()
        return contextlib.nullcontext()

    def make(self, glosses: Sequence[Gloss], *, should_stop: Callable[[], bool] | None = None) -> SentenceOutput:
        """One English sentence for ``glosses``; ``SentenceInterrupted`` when ``should_stop()`` turned true."""
        import torch

        glosses = [(str(t), tuple(str(a) for a in alts)) for t, alts in glosses if str(t).strip()][-MAX_GLOSSES:]
        if not glosses:
            raise SignDeskError("a sentence needs at least one gloss")
        if should_stop is not None and should_stop():
            raise SentenceInterrupted
        line = format_glosses(glosses)
        started = time.perf_counter()
        with self._lock:
            tokenizer = self.loaded.tokenizer
            text = render_sentence_prompt(self.loaded.processor, line)
            ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
            device = self.loaded.device.torch_device()
            ids = ids.to(device)
            stamps: list[float] = []
            flag, criteria = _stopping_criteria(should_stop, stamps)
            end_ids = sorted({end_of_turn_id(tokenizer)} | ({tokenizer.eos_token_id} - {None}))
            with torch.inference_mode(), self._base_model():
                cache = self._prefix_cache(text, ids[0].tolist())
                t0 = time.perf_counter()
                kwargs: dict[str, Any] = {}
                if cache is not None:
                    kwargs["cache"] = copy.deepcopy(cache)  # generation appends to it: the prefix stays as it is
                out = self.loaded.model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids),
                    max_new_tokens=token_budget(len(glosses), self.max_new_tokens), do_sample=False,
                    num_beams=1, eos_token_id=end_ids, pad_token_id=tokenizer.pad_token_id or end_ids[0],
                    stopping_criteria=criteria, **kwargs,
                )
        if flag.interrupted:
            raise SentenceInterrupted
        new = out[0, ids.shape[1]:]
        tokens = int(sum(1 for t in new.tolist() if t not in end_ids))
        sentence = clean_sentence(tokenizer.decode(new, skip_special_tokens=True))
        done = time.perf_counter()
        first = stamps[0] if stamps else done
        cached = len(self._prefix[0]) if cache is not None and self._prefix is not None else 0
        timings = {"prefill": (first - t0) * 1000, "decode": (done - first) * 1000, "total": (done - started) * 1000,
                   "prompt_tokens": float(ids.shape[1]), "cached_tokens": float(cached)}
        return SentenceOutput(sentence, line, tokens, timings)

    def _prefix_cache(self, text: str, ids: list[int]) -> Any:
        """The fixed prompt part's KV cache (prefilled once), or None where it cannot be reused as is."""
        if not self.reuse_prefix:
            return None
        if not self._prefix_checked:
            self._prefix_checked = True
            self._prefix = self._prefill_prefix(text, ids)
        if self._prefix is None:
            return None
        prefix_ids, cache = self._prefix
        if ids[: len(prefix_ids)] != prefix_ids or len(ids) <= len(prefix_ids):
            return None
        return cache

    def _prefill_prefix(self, text: str, ids: list[int]) -> tuple[list[int], Any] | None:
        import torch

        cut = text.find(SENTENCE_USER)
        if cut < 0:
            return None
        prefix_text = text[: cut + len(SENTENCE_USER)]
        prefix_ids = self.loaded.tokenizer(prefix_text, add_special_tokens=False)["input_ids"]
        if ids[: len(prefix_ids)] != prefix_ids:  # the tokenizer merges across the cut: no reuse
            log.info("sentence prompt prefix does not tokenize apart; prefilling whole prompts")
            return None
        try:
            tensor = torch.tensor([prefix_ids], device=self.loaded.device.torch_device())
            out = self.loaded.model(input_ids=tensor, use_cache=True)
        except (TypeError, ValueError, RuntimeError) as exc:
            log.info("sentence prompt prefix not cached (%s)", exc)
            return None
        cache = getattr(out, "cache", None)
        return (prefix_ids, cache) if cache is not None else None


def glosses_of(entries: Sequence[Any], is_sure: Callable[[Any], bool], alternatives: int = 3) -> list[Gloss]:
    """Transcript entries as (gloss, alternatives): a sign we are not sure of brings its top alternatives."""
    rows: list[Gloss] = []
    for entry in entries:
        alts: tuple[str, ...] = ()
        if not is_sure(entry):
            alts = tuple(t for t, _ in entry.candidates if t != entry.text)[: max(0, alternatives - 1)]
        rows.append((entry.text, alts))
    return rows
