"""The one prompt builder, shared by live use, evaluation and training.

What is trained is exactly what is run: the same chat template, the same ``{"type": "video"}`` part,
and the same answer encoding (the answer's tokens followed by the end-of-turn token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

END_OF_TURN = "<|im_end|>"


@dataclass(frozen=True)
class PromptSpec:
    system: str
    user: str

    @classmethod
    def from_settings(cls, settings: Any) -> PromptSpec:
        return cls(system=settings["prompt.system"], user=settings["prompt.user"])


def build_messages(prompt: PromptSpec, answer: str | None = None) -> list[dict[str, Any]]:
    """Chat messages: an optional system turn, the user turn with the video first, and an optional answer."""
    messages: list[dict[str, Any]] = []
    if prompt.system:
        messages.append({"role": "system", "content": [{"type": "text", "text": prompt.system}]})
    messages.append({"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt.user}]})
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def render_prompt(processor: Any, prompt: PromptSpec) -> str:
    """The prompt text up to and including the assistant header, with one ``<video>`` placeholder."""
    return processor.apply_chat_template(build_messages(prompt), add_generation_prompt=True, tokenize=False)


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that closes the assistant's turn (``<|im_end|>`` in InternVL3's Qwen2.5 tokenizer)."""
    token_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if token_id is None or token_id == tokenizer.unk_token_id:
        token_id = tokenizer.eos_token_id
    return int(token_id)


def answer_token_ids(tokenizer: Any, answer: str) -> list[int]:
    """The tokens the model must produce for ``answer``: its text, then the end-of-turn token."""
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return [*ids, end_of_turn_id(tokenizer)]


def clean_answer(text: str) -> str:
    """Free-mode output to a word or phrase: first line, no quotes or final punctuation, lower case."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.strip().strip("\"'`").rstrip(".!?,;:").strip().lower()
