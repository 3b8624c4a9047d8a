"""``signdesk bench``: per-stage medians of interpreting one clip, and how they compare with targets.

Reports decode (sampling N frames, against decord decoding just those frames), preprocess, vision +
prefill, glossary scoring, one greedy generate of the same clip, and the non-model share of the total.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _synthetic_clip(folder: Path) -> Path:
    from signdesk.video.synth import motion_frames, write_video

    frames = motion_frames("circle", 60, 1920, 1080, still_before=15, still_after=15)
    return write_video(folder / "synthetic-1080p.mp4", frames, fps=30)


def _decord_baseline_ms(path: str, indices: list[int]) -> float | None:
    try:
        import decord
    except ImportError:
        return None
    t0 = time.perf_counter()
    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    reader.get_batch(indices).asnumpy()
    return (time.perf_counter() - t0) * 1000


def _glossary(size: int) -> list[str]:
    from signdesk.engine.vocab import packaged_glossaries, read_glossary_file

    words: list[str] = []
    for path in packaged_glossaries().values():
        words += [w for w in read_glossary_file(path) if w not in words]
    base = words or ["sign"]
    while len(words) < size:
        words.append(f"{base[len(words) % len(base)]} {len(words)}")
    return words[:size]


def run_bench(args: Any, settings: Any) -> dict[str, Any]:
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.loader import load_model
    from signdesk.engine.prompts import PromptSpec
    from signdesk.engine.testmodel import make_test_model
    from signdesk.video.decode import read_clip

    with tempfile.TemporaryDirectory(prefix="signdesk-bench-") as tmp:
        folder = Path(tmp)
        video = Path(args.video) if args.video else _synthetic_clip(folder)
        if args.like:
            model_id = str(make_test_model(folder / "model", like=args.like, dtype="bfloat16"))
            label = f"random weights shaped like {args.like}"
        elif args.model:
            model_id, label = settings["model.id"], settings["model.id"]
        else:
            model_id, label = str(make_test_model(folder / "model")), "tiny random test model"
        loaded = load_model(model_id, device=settings["device"], quantize=settings["quantize"])
        interpreter = Interpreter(
            loaded, PromptSpec.from_settings(settings), num_frames=settings["frames"], mode="vocab",
            glossary=_glossary(args.glossary_size), top_k=settings["top_k"],
            max_new_tokens=settings["generation.max_new_tokens"],
            score_batch_size=settings["generation.score_batch_size"],
        )
        runs: dict[str, list[float]] = {}

        def add(name: str, value: float | None) -> None:
            if value is not None:
                runs.setdefault(name, []).append(value)

        interpreter.interpret_video(video)  # warm-up: first calls pay one-off costs
        for _ in range(max(args.runs, 1)):
            clip = read_clip(video, interpreter.num_frames, size=interpreter.frame_size)
            add("decode_ms", clip.timings_ms["decode"] + clip.timings_ms["resize"])
            add("decord_only_ms", _decord_baseline_ms(str(video), clip.indices))
            result = interpreter.interpret_video(video)
            t = result.timings_ms
            add("preprocess_ms", t["preprocess"])
            add("vision_prefill_ms", interpreter.last_timings_ms["prefill"])
            add("scoring_ms", interpreter.last_timings_ms["scoring"])
            add("model_ms", t["model"])
            add("total_ms", t["total"])
            add("non_model_ms", t["total"] - t["model"])
            interpreter.configure(mode="free")
            add("generate_ms", interpreter.interpret_frames(clip.frames, presampled=True).timings_ms["model"])
            interpreter.configure(mode="vocab")
        med = {name: statistics.median(values) for name, values in runs.items()}
        ratios = {
            "decode_vs_decord": med["decode_ms"] / med["decord_only_ms"] if "decord_only_ms" in med else None,
            "vocab_vs_generate": med["model_ms"] / med["generate_ms"],
            "non_model_share": med["non_model_ms"] / med["total_ms"],
        }
        return {
            "model": label, "device": f"{loaded.device.name} ({loaded.device.dtype})",
            "frames": interpreter.num_frames, "frame_size": list(interpreter.frame_size),
            "prompt_tokens": int(interpreter.prepare_inputs(clip.frames)["input_ids"].shape[1]),
            "glossary_size": len(interpreter.glossary or []), "runs": max(args.runs, 1),
            "video": str(video) if args.video else "synthetic 1920x1080 clip, 90 frames",
            "medians_ms": {k: round(v, 2) for k, v in med.items()},
            "ratios": {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()},
            "targets": {"decode_vs_decord": "<= 1.5", "vocab_vs_generate": "<= 1.5",
                        "non_model_share": "<= 0.05 on the real-shape model"},
        }


def format_bench(report: dict[str, Any]) -> str:
    lines = [
        f"model: {report['model']} on {report['device']}",
        f"clip: {report['video']}; {report['frames']} frames at {report['frame_size'][0]}x{report['frame_size'][1]}, "
        f"{report['prompt_tokens']} prompt tokens; {report['glossary_size']} glossary answers; {report['runs']} runs",
        "",
        "stage (median)                 ms",
    ]
    labels = {
        "decode_ms": "decode + resize (sampled)", "decord_only_ms": "  decord, just those frames",
        "preprocess_ms": "preprocess (processor)", "vision_prefill_ms": "vision + prefill",
        "scoring_ms": "glossary scoring", "model_ms": "model (vocab mode)", "generate_ms": "one greedy generate",
        "non_model_ms": "non-model overhead", "total_ms": "total (vocab mode)",
    }
    for key, label in labels.items():
        if key in report["medians_ms"]:
            lines.append(f"{label:<28} {report['medians_ms'][key]:>10.1f}")
    lines.append("")
    for key, value in report["ratios"].items():
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"{key:<28} {shown:>10}   target {report['targets'][key]}")
    return "\n".join(lines)
