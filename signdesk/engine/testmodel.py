"""Build InternVL checkpoints offline: a tiny one for tests, a real-shape one for benchmarks.

Both are ordinary ``save_pretrained`` folders (config, safetensors weights, processor, tokenizer with a
chat template), loaded by the very code that loads real checkpoints. The tokenizer is a real byte-level
BPE trained here on a small built-in corpus, declaring InternVL's image and video tokens through
``extra_special_tokens`` as the processor expects. Weights are random: answers are meaningless, but
every code path (prompting, vision, scoring, generation, LoRA training) runs for real.
"""

from __future__ import annotations

import json
from pathlib import Path

from signdesk import paths
from signdesk.errors import ModelError

SPECIAL = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}
CHAT_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Jinja chat template in the Qwen2/InternVL3 style: a video part becomes the "<video>" placeholder,
# which the processor expands to one "Frame{i}: <img>...</img>" line per frame.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif part['type'] == 'video' %}<video>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = """
you are an expert interpreter of american sign language asl which sign does the person in this
video make answer with the english word only frame system user assistant hello yes no please
thank sorry help eat drink water book computer chair go who before candy cousin clothes home need
come bad good want like love family mother father friend school work time day week year now later
what where when why how many much more again finish stop wait think know understand learn
left right up down circle diagonal zigzag blink still red blue green yellow black white
"""

TINY_VISION = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
    "image_size": [64, 64], "patch_size": [8, 8],
}
TINY_TEXT = {
    "model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "max_position_embeddings": 4096,
    "rope_theta": 10000.0, "tie_word_embeddings": True,
    # With the default std 0.02 at hidden size 64 the logits stay within about ±1.3, so LoRA can hardly
    # move the answer: a learning test (and a demo adapter) would stall. 0.2 gives the model a usable range.
    "initializer_range": 0.2,
}
# The "learn" variant: a random model built to carry what a pretrained one carries, so that fine-tuning
# can learn signs told apart only by where things are and in which order (direction twins, issue #14).
# 16 visual tokens per frame in the CPU ``fast`` profile (native 64², 4-px patches: 32² → 8×8 patches →
# 4×4 tokens after the pixel shuffle) instead of the tiny model's 4, a wider language model, and the
# conditioning of ``_condition_for_learning``.
LEARN_VISION = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
    "image_size": [64, 64], "patch_size": [4, 4],
}
LEARN_TEXT = {**TINY_TEXT, "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 256}
#: ``make_test_model(size=...)`` / ``signdesk model make-test --size``
SIZES = ("tiny", "learn")


def _build_tokenizer(vocab_size: int = 800):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=CHAT_TOKENS + list(SPECIAL.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    words = _CORPUS.split()
    corpus = [" ".join(words)] * 4 + [w.capitalize() for w in words] + words
    tok.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=SPECIAL,
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
    )


def _build_processor(tokenizer, image_size: int, image_seq_length: int):
    from transformers import GotOcr2ImageProcessor, InternVLProcessor, InternVLVideoProcessor

    size = {"height": image_size, "width": image_size}
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet, as InternVL3 uses
    image_processor = GotOcr2ImageProcessor(size=size, image_mean=mean, image_std=std, crop_to_patches=False)
    video_processor = InternVLVideoProcessor(size=size, image_mean=mean, image_std=std)
    return InternVLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        image_seq_length=image_seq_length,
        chat_template=CHAT_TEMPLATE,
    )


def _load_like_config(like: str) -> dict:
    name = like.rstrip("/").split("/")[-1]
    path = paths.catalog_dir() / "configs" / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in (paths.catalog_dir() / "configs").glob("*.json"))
        raise ModelError(f"no stored config for {like!r}; known: {', '.join(known)}")
    return json.loads(path.read_text(encoding="utf-8"))


def build_config(tokenizer, like: str | None = None, size: str = "tiny"):
    """The ``InternVLConfig`` of the tiny (or ``size="learn"``) model, or of catalog model ``like`` (real shapes)."""
    from transformers import InternVLConfig

    ids = {key: tokenizer.convert_tokens_to_ids(tok) for key, tok in SPECIAL.items()}
    if like is None:
        if size not in SIZES:
            raise ModelError(f"a test model's size is {' | '.join(SIZES)} (got {size!r})")
        vision, text = (TINY_VISION, TINY_TEXT) if size == "tiny" else (LEARN_VISION, LEARN_TEXT)
        vision, text = dict(vision), dict(text)
        text["vocab_size"] = len(tokenizer)
        extra = {}
    else:
        stored = _load_like_config(like)
        vision, text = stored["vision_config"], stored["text_config"]
        extra = {k: v for k, v in stored.items() if k not in ("vision_config", "text_config", "_comment")}
    text.update(bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    image_size = vision["image_size"][0] if isinstance(vision["image_size"], list) else vision["image_size"]
    patch = vision["patch_size"][0] if isinstance(vision["patch_size"], list) else vision["patch_size"]
    image_seq_length = int((image_size // patch) ** 2 * extra.get("downsample_ratio", 0.5) ** 2)
    return InternVLConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=ids["context_image_token"],
        image_seq_length=image_seq_length,
        tie_word_embeddings=text.get("tie_word_embeddings", False),
        **extra,
    )


def _sinusoids(grid: int, dim: int):
    """2-D sine/cosine position codes (grid × grid, dim), unit scale: smooth, so they survive resizing."""
    import torch

    quarter = dim // 4
    freqs = 1.0 / (100.0 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1)))
    coords = torch.arange(grid, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    parts = [f(axis.reshape(-1, 1) * freqs) for axis in (xx, yy) for f in (torch.sin, torch.cos)]
    codes = torch.cat(parts, dim=1)
    return torch.nn.functional.pad(codes, (0, dim - codes.shape[1]))


def _condition_for_learning(model, text_std: float) -> None:
    """Give a random model the conditioning a pretrained one has, so what a frame shows reaches the answer.

    Out of the box a random InternVL loses it: position embeddings start at zero (a visual token says
    *what* it shows but not *where*), a random patch embedding and projector mix the pixels away, and a
    language model whose every projection has the wide std the tiny model needs for its logits
    overwrites each token with noise layer after layer. Here: position codes like a trained ViT's, an
    orthogonal patch embedding and projector (content kept, at the text embeddings' scale), and small
    residual outputs (attention ``o_proj``, MLP ``down_proj``), so each layer starts near the identity.
    """
    import torch

    with torch.no_grad():
        emb = model.model.vision_tower.embeddings
        conv = emb.patch_embeddings.projection
        weight = torch.empty(conv.out_channels, conv.weight[0].numel())
        torch.nn.init.orthogonal_(weight)
        conv.weight.copy_(weight.view_as(conv.weight) * 2.0)
        conv.bias.zero_()
        grid = int((emb.position_embeddings.shape[1] - 1) ** 0.5)
        emb.position_embeddings[0, 1:] = _sinusoids(grid, emb.position_embeddings.shape[2])
        projector = model.model.multi_modal_projector
        for linear in (projector.linear_1, projector.linear_2):
            torch.nn.init.orthogonal_(linear.weight)
            linear.bias.zero_()
        projector.linear_2.weight.mul_(text_std * 2.0)
        for layer in model.model.language_model.layers:
            for linear in (layer.self_attn.o_proj, layer.mlp.down_proj):
                torch.nn.init.normal_(linear.weight, std=0.02)


def make_test_model(out_dir: str | Path, like: str | None = None, seed: int = 0, dtype: str = "float32",
                    size: str = "tiny") -> Path:
    """Write a random-weight InternVL + processor + tokenizer to ``out_dir`` and return its path.

    Without ``like`` the model is tiny (a few hundred KB); ``size="learn"`` builds the larger, conditioned
    variant for learning tests (about 2 MB, ``LEARN_VISION``/``LEARN_TEXT``). With ``like`` (a catalog id such as
    ``OpenGVLab/InternVL3-2B-hf``) it has exactly that checkpoint's shapes, from a config stored in
    ``models/configs/``, for benchmarks.
    """
    import torch
    from transformers import InternVLForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = _build_tokenizer()
    config = build_config(tokenizer, like, size)
    with torch.device("cpu"):
        model = InternVLForConditionalGeneration(config)
    if like is None and size == "learn":
        _condition_for_learning(model, config.text_config.initializer_range)
    model = model.to(getattr(torch, dtype))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    vision = config.vision_config
    _build_processor(tokenizer, vision.image_size[0], config.image_seq_length).save_pretrained(out)
    return out
