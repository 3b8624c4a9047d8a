"""The collator: the live prompt, the live frames, and only the answer + end-of-turn supervised."""

from __future__ import annotations

import numpy as np
import pytest

from signdesk.engine.prompts import PromptSpec, answer_token_ids, build_messages, end_of_turn_id, render_prompt
from signdesk.training.collator import IGNORE_INDEX, SignCollator
from signdesk.video.decode import read_clip

SPEC = PromptSpec("You are an expert interpreter of American Sign Language (ASL).",
                  "Which ASL sign does the person in this video make? Answer with the English word only.")


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    from signdesk.engine.loader import load_model

    return load_model(str(tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def rows(small_dataset):
    from signdesk.training.dataset import load_dataset

    return load_dataset(small_dataset).splits["train"]


def example(row, index=0, gloss=None):
    return {"index": index, "video": row.video, "gloss": gloss or row.gloss, "frame_start": row.frame_start,
            "frame_end": row.frame_end, "frames": row.frames}


def test_labels_supervise_exactly_the_answer_and_end_of_turn(loaded, rows):
    processor, tokenizer = loaded.processor, loaded.tokenizer
    collator = SignCollator(processor, SPEC, 4, loaded.frame_size)
    # answers of different token lengths, so the batch needs padding
    glosses = ["hello", "drink water later", "thank"]
    examples = [example(rows[i], i, g) for i, g in enumerate(glosses)]
    batch = collator(examples)
    assert batch["pixel_values"].shape[0] == 3 * 4  # every clip's 4 frames, in order
    image_id = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    pad_id = tokenizer.pad_token_id
    eot = end_of_turn_id(tokenizer)
    lengths = []
    for i, (ex, gloss) in enumerate(zip(examples, glosses, strict=True)):
        frames = read_clip(ex["video"], 4, ex["frame_start"], ex["frame_end"], size=loaded.frame_size).frames
        # what the tokenizer makes of the whole conversation, answer included (the reference)
        full_text = processor.apply_chat_template(build_messages(SPEC, gloss), tokenize=False)
        full = processor(text=full_text, videos=[frames], return_tensors="pt")["input_ids"][0].tolist()
        prompt = processor(text=render_prompt(processor, SPEC), videos=[frames], return_tensors="pt")
        prompt_len = prompt["input_ids"].shape[1]
        answer = answer_token_ids(tokenizer, gloss)
        n = int(batch["attention_mask"][i].sum())
        lengths.append(n)
        ids = batch["input_ids"][i].tolist()
        labels = batch["labels"][i].tolist()
        # the sequence is the reference conversation up to and including the end-of-turn token
        assert ids[:n] == full[:n]
        assert tokenizer.decode(full[n:]) == "\n"  # only the template's newline after <|im_end|> is left out
        assert n == prompt_len + len(answer)
        assert ids[prompt_len:n] == answer and ids[n - 1] == eot
        for t in range(len(ids)):  # token by token
            if prompt_len <= t < n:
                assert labels[t] == ids[t], f"clip {i}: answer token {t} is not supervised"
            else:
                assert labels[t] == IGNORE_INDEX, f"clip {i}: token {t} ({tokenizer.decode([ids[t]])!r}) supervised"
        assert tokenizer.decode([t for t in labels if t != IGNORE_INDEX]) == gloss + "<|im_end|>"
        assert ids.count(image_id) == 4 * processor.image_seq_length
        assert all(labels[t] == IGNORE_INDEX for t in range(n) if ids[t] == image_id)
        assert all(ids[t] == pad_id and batch["attention_mask"][i, t] == 0 for t in range(n, len(ids)))
    assert len(set(lengths)) > 1 and max(lengths) == batch["input_ids"].shape[1]


def test_frames_are_the_engines_own(loaded, rows):
    """Same N, sampler and resize as inference, and the same pixel values as the interpreter's inputs."""
    from signdesk.engine.interpreter import Interpreter

    collator = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size)
    ex = example(rows[0])
    batch = collator([ex])
    interpreter = Interpreter(loaded, SPEC, num_frames=4, glossary=["hello", "yes"])
    clip = read_clip(ex["video"], 4, ex["frame_start"], ex["frame_end"], size=interpreter.frame_size)
    inputs = interpreter.prepare_inputs(clip.frames)
    assert np.array_equal(batch["pixel_values"].numpy(), inputs["pixel_values"].numpy())
    prompt_len = inputs["input_ids"].shape[1]
    assert batch["input_ids"][0, :prompt_len].tolist() == inputs["input_ids"][0].tolist()


def test_jitter_is_training_only_and_reproducible(loaded, rows):
    plain = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size)
    jittered = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size, jitter=0.3, seed=7)
    ex = example(rows[0], index=5)
    assert plain.frame_range(ex) == (ex["frame_start"], ex["frame_end"])
    ranges = set()
    for epoch in range(8):
        jittered.epoch = epoch
        start, end = jittered.frame_range(ex)
        assert ex["frame_start"] <= start <= end <= ex["frame_end"]
        again = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size, jitter=0.3, seed=7)
        again.epoch = epoch
        assert again.frame_range(ex) == (start, end)  # a resumed run draws the same jitter
        ranges.add((start, end))
    assert len(ranges) > 1  # and it does vary between epochs


def test_jitter_handles_to_the_end_ranges(loaded, rows):
    collator = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size, jitter=0.4)
    ex = {**example(rows[0]), "frame_start": 1, "frame_end": -1, "frames": 0}
    start, end = collator.frame_range(ex)
    assert 1 <= start <= end <= rows[0].frames


def _square_x(frames) -> list[float]:
    """Per frame, the x centroid of the brightest pixels (a direction clip's square)."""
    gray = frames.float().mean(dim=1)  # (frames, H, W)
    out = []
    for frame in gray:
        mask = frame > frame.mean() + 3 * frame.std()
        xs = mask.nonzero()[:, 1].float()
        out.append(float(xs.mean()))
    return out


def test_a_clip_reversed_in_time_is_a_different_example(loaded, tmp_path):
    """Direction twins differ only in frame order: the collator keeps that order, frame by frame (issue #14)."""
    from signdesk.video.synth import direction_frames, write_video

    frames = direction_frames("left-to-right", 16, 96, 96, seed=3)
    forward = write_video(tmp_path / "go.mp4", frames)
    backward = write_video(tmp_path / "come.mp4", frames[::-1])
    collator = SignCollator(loaded.processor, SPEC, 4, loaded.frame_size)
    rows = [{"index": i, "video": str(p), "gloss": g, "frame_start": 1, "frame_end": 16, "frames": 16}
            for i, (p, g) in enumerate([(forward, "go"), (backward, "come")])]
    batch = collator(rows)
    pixels = batch["pixel_values"].reshape(2, 4, *batch["pixel_values"].shape[1:])
    go, come = _square_x(pixels[0]), _square_x(pixels[1])
    assert go == sorted(go) and go[-1] - go[0] > 0.25 * pixels.shape[-1], go  # the square moves right ...
    assert come == sorted(come, reverse=True) and come[0] - come[-1] > 0.25 * pixels.shape[-1], come  # ... left
    prompt = batch["labels"][0] == IGNORE_INDEX
    assert torch_equal(batch["input_ids"][0][prompt], batch["input_ids"][1][prompt])  # the same prompt ...
    assert batch["labels"][0].tolist() != batch["labels"][1].tolist()  # ... a different answer


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())
