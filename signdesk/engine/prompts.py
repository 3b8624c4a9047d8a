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


# ------------------------------------------------------------------------------------------ sentences
#: The sentence line's prompt: text only (no video), through the same chat template as the sign prompt.
SENTENCE_SYSTEM = "You translate American Sign Language (ASL) glosses into natural English."
SENTENCE_USER = (
    "These ASL glosses are in ASL word order: no articles or tense endings, time words often first or last. "
    "Write them as one natural English sentence. [A | B] means the sign was unclear: it is A or B, the likelier "
    "first; choose what fits. Reply with the sentence only.\nGlosses:"
)


def gloss_token(text: str) -> str:
    """A transcript word as an ASL gloss: upper case, a multi-word gloss hyphenated (``thank you`` → THANK-YOU)."""
    return "-".join(text.split()).upper()


def format_glosses(glosses: list[tuple[str, tuple[str, ...]]]) -> str:
    """(gloss, alternatives) pairs as one line; a gloss with alternatives (unsure) is written ``[A | B | C]``."""
    words = []
    for text, alternatives in glosses:
        options = [text, *(a for a in alternatives if a.casefold() != text.casefold())]
        words.append(gloss_token(text) if len(options) == 1 else "[" + " | ".join(map(gloss_token, options)) + "]")
    return " ".join(words)


def build_sentence_messages(gloss_line: str, answer: str | None = None) -> list[dict[str, Any]]:
    """Chat messages for the sentence line: the system turn, then the instructions and the glosses, text only."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [{"type": "text", "text": SENTENCE_SYSTEM}]},
        {"role": "user", "content": [{"type": "text", "text": f"{SENTENCE_USER} {gloss_line}"}]},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def render_sentence_prompt(processor: Any, gloss_line: str) -> str:
    """The sentence prompt up to and including the assistant header (no ``<video>``: no visual tokens)."""
    return processor.apply_chat_template(build_sentence_messages(gloss_line), add_generation_prompt=True,
                                         tokenize=False)


def clean_sentence(text: str) -> str:
    """Generated text to one sentence: its first non-empty line, without quotes or a leading label."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    for label in ("English:", "Sentence:", "Translation:"):
        if line.lower().startswith(label.lower()):
            line = line[len(label):].strip()
    return line.strip("\"'`“”").strip()
