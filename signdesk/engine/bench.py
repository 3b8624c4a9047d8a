"""``signdesk bench``: what one sign costs, per visual profile and CPU arithmetic, in one run on one clip.

For each (profile, arithmetic) pair: the prompt tokens, vision tower, prefill, glossary scoring and
total per sign, and the speed-up against quality in float32 (the first row). The first row also gets
the old comparisons: decode against decord decoding just those frames, and vocab scoring against one
greedy generate; every row reports the non-model share of the total.
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


def _vision_ms(interpreter: Any, inputs: dict[str, Any]) -> float | None:
    """The vision tower (and projector) alone on these frames, or None where the model hides it."""
    import torch

    model = interpreter.model
    get_features = getattr(model, "get_image_features", None) or getattr(getattr(model, "model", None),
                                                                        "get_image_features", None)
    if get_features is None:
        return None
    try:
        with torch.inference_mode(), interpreter.adapters.inference_context():
            t0 = time.perf_counter()
            get_features(pixel_values=inputs["pixel_values"])
            return (time.perf_counter() - t0) * 1000
    except (TypeError, ValueError, RuntimeError):
        return None


def _combinations(args: Any, settings: Any) -> list[tuple[str, str]]:
    """(profile, arithmetic) pairs to measure: the baseline quality/float32 first, then the rest."""
    from signdesk.hardware import choose_cpu_arithmetic, choose_device

    device = choose_device(settings["device"])
    profiles = [args.profile] if getattr(args, "profile", None) and args.profile != "auto" else list(PROFILES)
    if device.name != "cpu":
        return [("quality", "default")] + [(p, "default") for p in profiles if p != "quality"]
    wanted = getattr(args, "cpu_arithmetic", None)
    if wanted and wanted != "auto":
        arithmetics = [wanted]
    else:
        arithmetics = ["float32", choose_cpu_arithmetic("auto", device).name]
        if args.like and _torchao_installed():
            arithmetics.append("int8")
    pairs = [("quality", "float32")]
    for arithmetic in dict.fromkeys(arithmetics):
        pairs += [(p, arithmetic) for p in profiles if (p, arithmetic) not in pairs]
    return pairs


def _torchao_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchao") is not None


PROFILES = ("quality", "balanced", "fast")


def run_bench(args: Any, settings: Any) -> dict[str, Any]:
    """Per-stage medians of one clip, for every visual profile and CPU arithmetic, in one run."""
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
        glossary = _glossary(args.glossary_size)
        frames_chosen = settings["frames"] if settings.is_explicit("frames") else None
        rows: list[dict[str, Any]] = []
        detail: dict[str, Any] = {}
        loaded, loaded_for = None, None
        for profile, arithmetic in _combinations(args, settings):
            if arithmetic != loaded_for:  # one load per arithmetic; the previous copy is freed first
                loaded = None
                loaded = load_model(model_id, device=settings["device"], quantize=settings["quantize"],
                                    cpu_arithmetic="float32" if arithmetic == "default" else arithmetic)
                loaded_for = arithmetic
            interpreter = Interpreter(
                loaded, PromptSpec.from_settings(settings), num_frames=frames_chosen, profile=profile, mode="vocab",
                glossary=glossary, top_k=settings["top_k"], max_new_tokens=settings["generation.max_new_tokens"],
                score_batch_size=settings["generation.score_batch_size"],
                shortlist=settings["generation.shortlist"],
            )
            runs: dict[str, list[float]] = {}

            def add(name: str, value: float | None, runs=runs) -> None:
                if value is not None:
                    runs.setdefault(name, []).append(value)

            interpreter.interpret_video(video)  # warm-up: first calls pay one-off costs
            for _ in range(max(args.runs, 1)):
                clip = read_clip(video, interpreter.num_frames, size=interpreter.frame_size)
                add("decode_ms", clip.timings_ms["decode"] + clip.timings_ms["resize"])
                result = interpreter.interpret_video(video)
                t = result.timings_ms
                add("preprocess_ms", t["preprocess"])
                add("vision_prefill_ms", interpreter.last_timings_ms["prefill"])
                add("scoring_ms", interpreter.last_timings_ms["scoring"])
                add("model_ms", t["model"])
                add("total_ms", t["total"])
                add("non_model_ms", t["total"] - t["model"])
            inputs = interpreter.prepare_inputs(clip.frames)
            med = {name: statistics.median(values) for name, values in runs.items()}
            vision = _vision_ms(interpreter, inputs)
            row = {
                "profile": profile, "arithmetic": "float32" if arithmetic == "default" else arithmetic,
                "frames": interpreter.num_frames, "frame_size": list(interpreter.frame_size),
                "prompt_tokens": int(inputs["input_ids"].shape[1]),
                "scored": int(interpreter.last_timings_ms.get("scored", len(glossary))),
                "medians_ms": {k: round(v, 1) for k, v in med.items()},
                "vision_ms": round(vision, 1) if vision is not None else None,
                "prefill_ms": round(med["vision_prefill_ms"] - vision, 1) if vision is not None else None,
            }
            rows.append(row)
            if not detail:  # the baseline also gets the decoder and generate comparisons
                detail = _baseline_detail(interpreter, video, clip, med)
            del interpreter
        base = rows[0]["medians_ms"]["total_ms"]
        for row in rows:
            row["speedup_vs_quality_float32"] = round(base / row["medians_ms"]["total_ms"], 2)
            row["non_model_share"] = round(row["medians_ms"]["non_model_ms"] / row["medians_ms"]["total_ms"], 4)
        return {
            "model": label, "device": f"{loaded.device.name}", "glossary_size": len(glossary),
            "shortlist": settings["generation.shortlist"], "runs": max(args.runs, 1), "threads": _threads(),
            "video": str(video) if args.video else "synthetic 1920x1080 clip, 90 frames",
            "rows": rows, "baseline": detail,
            "targets": {"decode_vs_decord": "<= 1.5", "vocab_vs_generate": "<= 1.5",
                        "non_model_share": "<= 0.05 on the real-shape model",
                        "fast": ">= 8x quality float32 and under 15 s per sign (real 2B shapes, this 2-core CPU)"},
        }


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _baseline_detail(interpreter: Any, video: Path, clip: Any, med: dict[str, float]) -> dict[str, Any]:
    """decode against decord on the same frames, and vocab scoring against one greedy generate."""
    decord_ms = _decord_baseline_ms(str(video), clip.indices)
    interpreter.configure(mode="free")
    try:
        generate_ms = interpreter.interpret_frames(clip.frames, presampled=True).timings_ms["model"]
    finally:
        interpreter.configure(mode="vocab")
    ratios = {
        "decode_vs_decord": med["decode_ms"] / decord_ms if decord_ms else None,
        "vocab_vs_generate": med["model_ms"] / generate_ms,
        "non_model_share": med["non_model_ms"] / med["total_ms"],
    }
    return {"decord_only_ms": round(decord_ms, 1) if decord_ms else None, "generate_ms": round(generate_ms, 1),
            "ratios": {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()}}


def sec(value: float | None) -> str:
    return f"{value / 1000:.2f}" if value is not None else "n/a"


def format_bench(report: dict[str, Any]) -> str:
    lines = [
        f"model: {report['model']} on {report['device']} ({report['threads']} threads); "
        f"{report['glossary_size']} glossary answers, shortlist {report['shortlist']}; {report['runs']} run(s)",
        f"clip: {report['video']}",
        "",
        f"{'profile':9} {'arithmetic':10} {'frames':>6} {'size':>9} {'tokens':>6} {'vision s':>8} {'prefill s':>9} "
        f"{'scoring s':>9} {'total s':>8} {'speed-up':>8}",
    ]
    for row in report["rows"]:
        m = row["medians_ms"]
        size = f"{row['frame_size'][0]}x{row['frame_size'][1]}"
        lines.append(f"{row['profile']:9} {row['arithmetic']:10} {row['frames']:>6} {size:>9} "
                     f"{row['prompt_tokens']:>6} {sec(row['vision_ms']):>8} {sec(row['prefill_ms']):>9} "
                     f"{sec(m['scoring_ms']):>9} {sec(m['total_ms']):>8} {row['speedup_vs_quality_float32']:>7.2f}x")
    lines.append("(speed-up: against quality in float32, the first row, measured in this run)")
    detail = report["baseline"]
    lines.append("")
    for key, value in detail["ratios"].items():
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"{key:<20} {shown:>8}   target {report['targets'][key]}   (first row)")
    return "\n".join(lines)
