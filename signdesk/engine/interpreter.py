"""Turn a sign clip into words.

vocab mode ranks every gloss of the glossary by the model's log-likelihood of that answer given the
clip, and normalises over the glossary. The clip is encoded and the shared prompt prefilled once; the
candidates are then scored in batches on top of that prefix's KV cache, so the video is never
re-encoded per candidate. With a shortlist (``generation.shortlist``) a large glossary is cut first to the
glosses whose first answer token is likeliest (``signdesk.engine.shortlist``); only those are scored and
normalised over. free mode generates a short answer greedily.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signdesk.engine import kv_cache
from signdesk.engine.adapters import AdapterSet, read_metadata
from signdesk.engine.loader import LoadedModel
from signdesk.engine.profiles import LEGACY, apply_profile, describe, resolve_profile
from signdesk.engine.prompts import PromptSpec, answer_token_ids, clean_answer, render_prompt
from signdesk.errors import ConfigError, VideoError
from signdesk.video.decode import read_clip, sample_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float  # vocab: probability over the glossary; free: mean token probability of the answer


@dataclass
class Result:
    text: str
    candidates: list[Candidate]
    mode: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "mode": self.mode,
            "candidates": [{"text": c.text, "score": round(c.score, 6)} for c in self.candidates],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass
class _Vocab:
    words: list[str]
    token_ids: list[list[int]]  # each answer's tokens + end-of-turn


@dataclass
class _Prefix:
    """A prefilled prompt + video: its KV cache and the first answer token's log-probability per gloss."""

    cache: Any
    length: int
    first_tokens: list[int]
    first_logprobs: np.ndarray  # (glossary,) float64


def apply_choices(interpreter: Any, *, mode: str | None, top_k: int | None, num_frames: int | None,
                  profile: str | None, has_glossary: bool, device: str) -> None:
    """Mode, top-k, frames and profile between clips, for any backend (its lock held by the caller)."""
    if mode is not None:
        if mode not in ("vocab", "free"):
            raise ConfigError(f"mode must be vocab or free (got {mode!r})")
        interpreter.mode = mode
    if interpreter.mode == "vocab" and not has_glossary:
        raise ConfigError("vocab mode needs a glossary; set one with --glossary, or use --mode free")
    if top_k is not None:
        interpreter.top_k = max(1, int(top_k))
    if num_frames is None and profile is None:
        return
    prompt, frames, configured_profile = interpreter._configured
    if profile is not None:
        resolve_profile(profile, device)  # a bad name fails before anything changes
        configured_profile = profile
    if num_frames is not None:
        frames = int(num_frames)
    interpreter._configured = (prompt, frames, configured_profile)
    # frames alone keep the profile in use; a profile alone brings its frames unless frames were chosen
    keep = frames if profile is not None else interpreter.num_frames
    interpreter._use_profile(interpreter.prompt, int(num_frames) if num_frames is not None else keep,
                             profile if profile is not None else interpreter.profile.name)


def clip_frames(frames: np.ndarray, num_frames: int, size: tuple[int, int] | None, *,
                presampled: bool = False) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 RGB for the model: checked, and sampled and resized unless presampled."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise VideoError(f"expected frames shaped (T, H, W, 3), got {frames.shape}")
    return frames if presampled else sample_frames(frames, num_frames, size)


def interpret_file(interpreter: Any, path: str | Path, frame_start: int = 1, frame_end: int = -1) -> Result:
    """A video file's frame range through ``interpreter.interpret_frames`` (any backend), decode time included."""
    clip = read_clip(path, interpreter.num_frames, frame_start, frame_end, size=interpreter.frame_size)
    result = interpreter.interpret_frames(clip.frames, presampled=True)
    result.timings_ms["decode"] = clip.timings_ms["decode"] + clip.timings_ms["resize"]
    result.timings_ms["total"] += result.timings_ms["decode"]
    return result


class Interpreter:
    """One loaded model with its adapters, prompt, mode and glossary. Thread-safe: calls are serialised."""

    def __init__(
        self,
        loaded: LoadedModel,
        prompt: PromptSpec,
        *,
        num_frames: int | None = None,
        mode: str = "vocab",
        glossary: list[str] | None = None,
        top_k: int = 5,
        max_new_tokens: int = 8,
        score_batch_size: int = 64,
        profile: str = "quality",
        shortlist: int = 0,
    ) -> None:
        self.loaded = loaded
        self.prompt = prompt
        # what settings asked for, restored without an adapter: prompt, frames (None: the profile's), profile
        self._configured: tuple[PromptSpec, int | None, str] = (prompt, num_frames, profile)
        self.max_new_tokens = max_new_tokens
        self.score_batch_size = score_batch_size
        self.shortlist = shortlist  # glosses scored exactly per clip (0: all); see signdesk.engine.shortlist
        self.adapters = AdapterSet(loaded.model, loaded.model_id)
        self._lock = threading.RLock()
        self._use_profile(prompt, num_frames, profile)
        log.info("visual budget %s%s", describe(self.budget, self.num_frames),
                 f" (profile auto on {loaded.device.name})" if profile == "auto" else "")
        self._vocab: _Vocab | None = None
        self.last_timings_ms: dict[str, float] = {}  # prefill / scoring split of the last vocab call
        self.mode = "vocab"
        self.top_k = top_k
        self.configure(mode=mode, glossary=glossary, top_k=top_k)

    @classmethod
    def from_settings(cls, loaded: LoadedModel, settings: Any, glossary: list[str] | None) -> Interpreter:
        return cls(
            loaded, PromptSpec.from_settings(settings), mode=settings["mode"],
            # the profile's frame count unless frames were chosen (settings file, environment, flag)
            num_frames=settings["frames"] if settings.is_explicit("frames") else None,
            profile=settings.get("profile") or "auto",
            glossary=glossary, top_k=settings["top_k"], max_new_tokens=settings["generation.max_new_tokens"],
            score_batch_size=settings["generation.score_batch_size"], shortlist=settings["generation.shortlist"],
        )

    # ----------------------------------------------------------------- configuration
    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) every frame is resized to: the profile's, not necessarily the model's native size."""
        return self.budget.frame_size

    @property
    def tokens_per_frame(self) -> int:
        return self.budget.tokens_per_frame

    @property
    def glossary(self) -> list[str] | None:
        return self._vocab.words if self._vocab else None

    @property
    def adapter(self) -> str | None:
        return self.adapters.active

    def configure(self, *, mode: str | None = None, glossary: list[str] | str | None = "keep",
                  top_k: int | None = None, num_frames: int | None = None, profile: str | None = None) -> None:
        """Change mode, glossary (None clears it), top-k, frames or profile between clips, without reloading."""
        with self._lock:
            if glossary != "keep":
                self._vocab = self._tokenize_glossary(glossary) if glossary else None
            apply_choices(self, mode=mode, top_k=top_k, num_frames=num_frames, profile=profile,
                          has_glossary=self._vocab is not None, device=self.loaded.device.name)

    def _tokenize_glossary(self, words: list[str]) -> _Vocab:
        tokenizer = self.loaded.tokenizer
        return _Vocab(list(words), [answer_token_ids(tokenizer, w) for w in words])

    def set_adapter(self, adapter: str | Path | None) -> str | None:
        """Switch to an adapter folder (loaded once, then cached) or to None, the plain base model.

        An adapter runs with the prompt, frame count and profile (frame size, tokens per frame) it was
        trained with (its ``signdesk.json``; an adapter from before profiles: ``quality``, the native
        size): anything else would show it inputs unlike those it learnt from.
        """
        with self._lock:
            if adapter is None or adapter == "":
                self.adapters.activate(None)
                self._use_profile(*self._configured)
                return None
            name = self.adapters.load(adapter)
            self.adapters.activate(name)
            prompt, frames, profile = self._configured
            meta = read_metadata(self.adapters.paths[name])
            if isinstance(meta.get("prompt"), dict) and meta["prompt"].get("user"):
                prompt = PromptSpec(system=str(meta["prompt"].get("system") or ""), user=str(meta["prompt"]["user"]))
            if isinstance(meta.get("frames"), int) and meta["frames"] > 0:
                frames = meta["frames"]
            profile = str(meta.get("profile") or LEGACY)
            self._use_profile(prompt, frames, profile)
            if (prompt, frames, profile) != self._configured:
                log.info("adapter %s: using its training prompt and %s", name, describe(self.budget, self.num_frames))
            return name

    def _use_profile(self, prompt: PromptSpec, num_frames: int | None, profile: str) -> None:
        """Prompt, frames (None: the profile's) and visual budget profile, applied to the processor."""
        spec = resolve_profile(profile, self.loaded.device.name)
        self.budget = apply_profile(self.loaded.processor, spec, self.loaded.model.config)
        self.profile = spec
        self.prompt, self.num_frames = prompt, int(num_frames or spec.frames)
        self._prompt_text = render_prompt(self.loaded.processor, prompt)

    # ----------------------------------------------------------------- interpretation
    def interpret_video(self, path: str | Path, frame_start: int = 1, frame_end: int = -1) -> Result:
        return interpret_file(self, path, frame_start, frame_end)

    def interpret_frames(self, frames: np.ndarray, *, presampled: bool = False) -> Result:
        """Interpret frames (T, H, W, 3) uint8 RGB: sampled to ``num_frames`` and resized here unless presampled."""
        started = time.perf_counter()
        frames = clip_frames(frames, self.num_frames, self.frame_size, presampled=presampled)
        with self._lock:
            t0 = time.perf_counter()
            inputs = self.prepare_inputs(frames)
            t1 = time.perf_counter()
            with self.adapters.inference_context():
                result = self._score(inputs) if self.mode == "vocab" else self._generate(inputs)
            t2 = time.perf_counter()
        result.timings_ms.update(
            decode=(t0 - started) * 1000, preprocess=(t1 - t0) * 1000, model=(t2 - t1) * 1000,
            total=(t2 - started) * 1000,
        )
        return result

    def prepare_inputs(self, frames: np.ndarray) -> dict[str, Any]:
        """Prompt + frames through the processor, on the model's device and dtype (shared with training)."""
        processor = self.loaded.processor
        apply_profile(processor, self.profile, self.loaded.model.config)  # the processor may be shared
        inputs = processor(text=self._prompt_text, videos=[frames], return_tensors="pt")
        device, dtype = self.loaded.device.torch_device(), self.loaded.device.torch_dtype()
        return {
            k: (v.to(device, dtype) if k == "pixel_values" else v.to(device)) for k, v in inputs.items()
        }

    @property
    def model(self) -> Any:
        return self.adapters.model

    def _generate(self, inputs: dict[str, Any]) -> Result:
        import torch

        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, output_scores=True,
                return_dict_in_generate=True,
            )
        new_tokens = out.sequences[0, inputs["input_ids"].shape[1]:]
        text = clean_answer(self.loaded.tokenizer.decode(new_tokens, skip_special_tokens=True))
        steps = zip(out.scores, new_tokens, strict=False)
        logprobs = [torch.log_softmax(step[0].float(), dim=-1)[tok].item() for step, tok in steps]
        score = math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0
        return Result(text=text, candidates=[Candidate(text, score)] if text else [], mode="free")

    def candidate_logprobs(self, inputs: dict[str, Any], *, packed: bool | None = None,
                           shortlist: int = 0) -> np.ndarray:
        """Total log-likelihood of every glossary answer (tokens + end-of-turn) given the clip.

        One prefill of the prompt with the video (logits of its last position only); the first answer
        token is scored from it. The rest of every answer is then scored on top of the prefix KV cache,
        in chunks of ``score_batch_size`` candidates, sorted by length so little is padding:

        - packed (SDPA/eager attention): a chunk's candidates sit side by side in one row, with a custom
          4D mask that lets each see the prefix and its own earlier tokens only. Nothing is copied.
        - batched (flash-attention 2, which takes no custom masks): one row per candidate over the
          prefix cache expanded to the batch.

        ``shortlist`` > 0 scores only the glosses ``signdesk.engine.shortlist.select`` keeps from the
        first answer token's distribution (every gloss when the glossary is no larger); the others are
        -inf. ``last_timings_ms`` holds prefill and scoring ms and how many glosses were scored.
        """
        return self._vocab_logprobs(inputs, packed, shortlist)[0]

    def _vocab_logprobs(self, inputs: dict[str, Any], packed: bool | None,
                        shortlist: int) -> tuple[np.ndarray, np.ndarray]:
        """``candidate_logprobs`` and each gloss's first-token log-probability."""
        from signdesk.engine.shortlist import select

        assert self._vocab is not None
        timings = self.last_timings_ms = {}
        t0 = time.perf_counter()
        with self.prefilled(inputs) as prefix:
            t1 = time.perf_counter()
            chosen = select(prefix.first_logprobs, prefix.first_tokens, shortlist)
            totals = self.score_on_prefix(prefix, chosen, packed=packed)
            timings.update(prefill=(t1 - t0) * 1000, scoring=(time.perf_counter() - t1) * 1000,
                           scored=float(len(chosen)), glosses=float(len(totals)))
        return totals, prefix.first_logprobs

    @contextlib.contextmanager
    def prefilled(self, inputs: dict[str, Any]) -> Iterator[_Prefix]:
        """Prefill the prompt with the video once, under inference mode, for one or more scorings."""
        import torch

        assert self._vocab is not None
        with torch.inference_mode():
            last_logits, cache = kv_cache.prefill(self.model, inputs)
            first = torch.log_softmax(last_logits.float(), dim=-1)
            first_tokens = [ids[0] for ids in self._vocab.token_ids]
            first_logprobs = first[torch.tensor(first_tokens, device=first.device)].double().cpu().numpy()
            yield _Prefix(cache, inputs["input_ids"].shape[1], first_tokens, first_logprobs)

    def score_on_prefix(self, prefix: _Prefix, indices: np.ndarray, *, packed: bool | None = None) -> np.ndarray:
        """Exact log-likelihoods of the glosses ``indices`` on a prefilled prefix; -inf for all others."""
        assert self._vocab is not None
        vocab = self._vocab
        if packed is None:
            packed = kv_cache.custom_masks_supported(self.loaded.model)
        order = sorted((int(i) for i in indices), key=lambda i: len(vocab.token_ids[i]))
        totals = np.full(len(vocab.words), -np.inf, dtype=np.float64)
        for start in range(0, len(order), self.score_batch_size):
            chunk = order[start : start + self.score_batch_size]
            answers = [vocab.token_ids[i] for i in chunk]
            rest = (self._score_packed if packed else self._score_batched)(prefix.cache, prefix.length, answers)
            for row, index in enumerate(chunk):
                totals[index] = prefix.first_logprobs[index] + rest[row]
        return totals

    @property
    def shortlist(self) -> int:
        """Glosses scored exactly per clip in vocab mode (0: all); one smaller than ``top_k`` counts as ``top_k``."""
        return self._shortlist

    @shortlist.setter
    def shortlist(self, size: int) -> None:
        from signdesk.engine.shortlist import check_size

        self._shortlist = check_size(size)

    def _score_packed(self, cache: Any, prefix_len: int, answers: list[list[int]]) -> list[float]:
        import torch

        fed = [ids[:-1] for ids in answers]  # the last token is only ever predicted, never fed
        total = sum(len(ids) for ids in fed)
        if total == 0:
            return [0.0] * len(answers)
        device = self.loaded.device.torch_device()
        tokens, positions, owner = [], [], []
        for row, ids in enumerate(fed):
            tokens += ids
            positions += [prefix_len + k for k in range(len(ids))]
            owner += [row] * len(ids)
        owner_t = torch.tensor(owner, device=device)
        pos_t = torch.tensor(positions, device=device)
        # token q may see token k of the chunk iff same candidate and k is not later than q
        allowed = (owner_t[:, None] == owner_t[None, :]) & (pos_t[None, :] <= pos_t[:, None])
        allowed = torch.cat([torch.ones(total, prefix_len, dtype=torch.bool, device=device), allowed], dim=1)
        dtype = self.loaded.model.dtype
        mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
        mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        logits = kv_cache.forward_on_prefix(
            self.model, cache, input_ids=torch.tensor([tokens], device=device), position_ids=pos_t[None],
            attention_mask=mask[None, None],
        )
        logprobs = torch.log_softmax(logits[0].float(), dim=-1)
        targets = torch.tensor([t for ids in answers for t in ids[1:]], device=device)
        picked = logprobs.gather(-1, targets[:, None])[:, 0].double().cpu().numpy()
        sums, offset = [], 0
        for ids in fed:
            sums.append(float(picked[offset : offset + len(ids)].sum()))
            offset += len(ids)
        return sums

    def _score_batched(self, cache: Any, prefix_len: int, answers: list[list[int]]) -> list[float]:
        import torch

        size, longest = len(answers), max(len(ids) for ids in answers)
        if longest == 1:
            return [0.0] * size
        device = self.loaded.device.torch_device()
        pad_id = self.loaded.tokenizer.pad_token_id or 0
        ids = torch.full((size, longest), pad_id, dtype=torch.long, device=device)
        mask = torch.zeros((size, prefix_len + longest), dtype=torch.long, device=device)
        mask[:, :prefix_len] = 1
        for row, cand in enumerate(answers):
            ids[row, : len(cand)] = torch.tensor(cand, device=device)
            mask[row, prefix_len : prefix_len + len(cand)] = 1
        logits = kv_cache.forward_on_prefix(self.model, cache, rows=size, input_ids=ids[:, :-1],
                                            attention_mask=mask[:, :-1])
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        picked = logprobs.gather(-1, ids[:, 1:, None])[..., 0].double()
        picked = picked * mask[:, prefix_len + 1 :].double()  # padding scores nothing
        return picked.sum(dim=1).cpu().tolist()

    def _score(self, inputs: dict[str, Any]) -> Result:
        assert self._vocab is not None
        shortlist = max(self.shortlist, self.top_k) if self.shortlist else 0
        totals, first = self._vocab_logprobs(inputs, None, shortlist)
        # normalised over the scored glosses; the others get 0 and rank below them, by first-token likelihood
        scored = np.isfinite(totals)
        probs = np.exp(totals - totals.max())
        probs /= probs.sum()
        key = np.where(scored, -probs, -first)
        order = np.lexsort((np.arange(len(totals)), key, ~scored))[: self.top_k]
        candidates = [Candidate(self._vocab.words[i], float(probs[i])) for i in order]
        return Result(text=candidates[0].text, candidates=candidates, mode="vocab")
