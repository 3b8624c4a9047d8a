"""Batches of sign clips for training: the live prompt, the live frames, and only the answer supervised.

Everything the model sees comes from the engine: the prompt from its one prompt builder through the
chat template, the frames from its sampler and resize (same N as inference), the answer tokens from
``answer_token_ids`` (the gloss, then the end-of-turn token), which is exactly what vocab-mode scoring
asks the model for. Labels are -100 everywhere else: system and user text, every visual token and
padding. Temporal jitter (training only) cuts a random share off each end of a clip's frame range
before the engine samples it; it is drawn from (seed, epoch, clip index), so a resumed run sees the
same jitter as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from signdesk.engine.prompts import PromptSpec, answer_token_ids, render_prompt
from signdesk.video.decode import probe_video, read_clip

IGNORE_INDEX = -100


class SignCollator:
    """Turns examples ``{video, gloss, frame_start, frame_end[, frames, index]}`` into model inputs."""

    def __init__(
        self,
        processor: Any,
        prompt: PromptSpec,
        num_frames: int,
        frame_size: tuple[int, int],
        *,
        jitter: float = 0.0,
        seed: int = 0,
        pixel_dtype: Any = None,
        profile: Any = None,
        model_config: Any = None,
    ) -> None:
        self.processor = processor
        # the visual budget profile (signdesk.engine.profiles) the processor encodes with; None: as it is
        self.profile, self.model_config = profile, model_config
        self.tokenizer = processor.tokenizer
        self.prompt_text = render_prompt(processor, prompt)
        self.num_frames = num_frames
        self.frame_size = frame_size
        self.jitter = float(jitter)
        self.seed = seed
        self.pixel_dtype = pixel_dtype
        self.epoch = 0  # set at each epoch's start by the trainer's callback (jitter only)
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.tokenizer.eos_token_id)
        self._answers: dict[str, list[int]] = {}
        self._frame_counts: dict[str, int] = {}

    def answer_ids(self, gloss: str) -> list[int]:
        if gloss not in self._answers:
            self._answers[gloss] = answer_token_ids(self.tokenizer, gloss)
        return self._answers[gloss]

    def frame_range(self, example: Mapping[str, Any]) -> tuple[int, int]:
        """The range the sampler sees: the clip's own, or (jitter) a random sub-range of it."""
        start, end = int(example["frame_start"]), int(example["frame_end"])
        if self.jitter <= 0:
            return start, end
        if end < 0:
            end = self._frame_count(example)
        length = end - start + 1
        cut = int(self.jitter * length)
        if cut < 1:
            return start, end
        rng = np.random.default_rng([self.seed, self.epoch, int(example.get("index", 0))])
        head, tail = (int(x) for x in rng.integers(0, cut + 1, size=2))
        return start + head, max(end - tail, start + head)

    def _frame_count(self, example: Mapping[str, Any]) -> int:
        known = int(example.get("frames") or 0)
        if known > 0:
            return known
        path = str(example["video"])
        if path not in self._frame_counts:
            self._frame_counts[path] = probe_video(path).frame_count
        return self._frame_counts[path]

    def clip_frames(self, example: Mapping[str, Any]) -> np.ndarray:
        start, end = self.frame_range(example)
        return read_clip(example["video"], self.num_frames, start, end, size=self.frame_size).frames

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        videos = [self.clip_frames(example) for example in examples]
        if self.profile is not None:  # the processor is shared with the evaluator's interpreter
            from signdesk.engine.profiles import apply_profile

            apply_profile(self.processor, self.profile, self.model_config)
        encoded = self.processor(
            text=[self.prompt_text] * len(examples), videos=videos, return_tensors="pt", padding=True
        )
        rows: list[list[int]] = []
        answer_spans: list[tuple[int, int]] = []
        for i, example in enumerate(examples):
            prompt_ids = encoded["input_ids"][i][encoded["attention_mask"][i].bool()].tolist()
            answer = self.answer_ids(str(example["gloss"]))
            answer_spans.append((len(prompt_ids), len(prompt_ids) + len(answer)))
            rows.append(prompt_ids + answer)
        longest = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), longest), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), longest), dtype=torch.long)
        labels = torch.full((len(rows), longest), IGNORE_INDEX, dtype=torch.long)
        for i, (row, (a, b)) in enumerate(zip(rows, answer_spans, strict=True)):
            input_ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
            labels[i, a:b] = input_ids[i, a:b]
        pixels = encoded["pixel_values"]
        if self.pixel_dtype is not None:
            pixels = pixels.to(self.pixel_dtype)
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "pixel_values": pixels}
