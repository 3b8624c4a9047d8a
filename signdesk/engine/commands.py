"""Engine subcommands: interpret, model (download / make-test / list), doctor, bench."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from signdesk.errors import SignDeskError
from signdesk.hardware import DEVICE_CHOICES


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that loads a model (they override the settings file)."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", help="hub id or local model folder (default: settings / SIGNDESK_MODEL)")
    group.add_argument("--revision", help="hub revision: branch, tag or commit")
    group.add_argument("--adapter", help="LoRA adapter folder ('none' for the base model)")
    group.add_argument("--device", choices=DEVICE_CHOICES)
    group.add_argument("--quantize", choices=["none", "4bit", "8bit"], help="CUDA only (bitsandbytes)")
    group.add_argument("--arithmetic", dest="cpu_arithmetic", choices=["auto", "float32", "bfloat16", "int8"],
                       help="CPU only: auto picks bfloat16 where the CPU has it natively; int8 needs torchao")
    group.add_argument("--frames", type=int, help="frames sampled per clip (default: the profile's)")
    group.add_argument("--profile", choices=["quality", "balanced", "fast", "auto"],
                       help="visual budget: quality (8 frames, native size), balanced (8 frames, half size), "
                            "fast (4 frames, half size), auto (fast on the CPU, quality on GPUs; default)")
    group.add_argument("--mode", choices=["vocab", "free"], help="rank the glossary, or generate freely")
    group.add_argument("--glossary", help="packaged glossary name or a file with one gloss per line")
    group.add_argument("--top-k", type=int, dest="top_k", help="alternatives to report")


def settings_from_args(args: argparse.Namespace) -> Any:
    from signdesk.config import load_settings

    adapter = getattr(args, "adapter", None)
    overrides = {
        "model.id": getattr(args, "model", None),
        "model.revision": getattr(args, "revision", None),
        "device": getattr(args, "device", None),
        "quantize": getattr(args, "quantize", None),
        "cpu_arithmetic": getattr(args, "cpu_arithmetic", None),
        "frames": getattr(args, "frames", None),
        "profile": getattr(args, "profile", None),
        "mode": getattr(args, "mode", None),
        "glossary": getattr(args, "glossary", None),
        "top_k": getattr(args, "top_k", None),
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if adapter is not None:
        overrides["model.adapter"] = None if adapter.lower() == "none" else adapter
    settings = load_settings(overrides)
    if getattr(args, "mode", None) == "free" and getattr(args, "glossary", None) is None:
        settings = settings.with_overrides({"glossary": None})
    return settings


# ---------------------------------------------------------------------------- interpret
def check_inputs(videos: list[str]) -> tuple[list[str], list[str]]:
    """(readable inputs, one error line per bad one), in order: probed without decoding, before any model loads."""
    from signdesk.transcribe import is_still_image, probe_image
    from signdesk.video.decode import probe_video

    readable, errors = [], []
    for video in videos:
        try:
            if is_still_image(video):  # a still image is one sign, as interpret_video reads it
                probe_image(video)
            else:
                probe_video(video)
        except SignDeskError as exc:
            errors.append(str(exc))
            continue
        readable.append(video)
    return readable, errors


def _interpret(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # a missing or damaged file is reported at once, not after seconds of model loading (or a download offer)
    videos, errors = check_inputs(args.videos)
    for error in errors:
        print(f"signdesk: error: {error}", file=sys.stderr, flush=True)
    if not videos:
        return 2
    from signdesk.engine.loader import open_interpreter

    interpreter = open_interpreter(settings)
    failures = len(errors)
    for video in videos:
        try:
            result = interpreter.interpret_video(video, args.start, args.end)
        except SignDeskError as exc:
            failures += 1
            print(f"signdesk: error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"video": video, **result.to_json()}, ensure_ascii=False), flush=True)
        else:
            alts = ", ".join(f"{c.text} {c.score:.0%}" for c in result.candidates[1:])
            line = f"{video}: {result.text or '(no answer)'}"
            if result.candidates and result.mode == "vocab":
                line += f" ({result.confidence:.0%})" + (f"  also: {alts}" if alts else "")
            print(line, flush=True)
    return 2 if failures else 0


# ---------------------------------------------------------------------------- model
def _model_download(args: argparse.Namespace) -> int:
    from signdesk.config import load_settings
    from signdesk.engine.download import download_model

    settings = load_settings()
    model_id = args.model_id or settings["model.id"]
    revision = args.revision or settings["model.revision"]
    folder = download_model(model_id, revision)
    print(f"{model_id} is ready in {folder}")
    return 0


def _model_make_test(args: argparse.Namespace) -> int:
    from signdesk.engine.testmodel import make_test_model

    folder = make_test_model(args.out, like=args.like, dtype=args.dtype, size=args.size)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    print(f"wrote a random-weight test model to {folder} ({size / 1e6:.1f} MB)")
    return 0


def _model_list(args: argparse.Namespace) -> int:
    from signdesk.engine.catalog import load_catalog
    from signdesk.engine.download import local_model_path

    rows = []
    for entry in load_catalog():
        present = local_model_path(entry["id"], entry["revision"]) is not None
        rows.append({**entry, "downloaded": present})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "downloaded" if row["downloaded"] else "not downloaded"
        print(f"{row['id']:<28} {row['params']:>5}  {row['size_gb']:>5} GB  {mark:<15} {row['notes']}")
    return 0


# ---------------------------------------------------------------------------- doctor
def _doctor(args: argparse.Namespace) -> int:
    from signdesk.engine.doctor import collect, format_report

    report = collect(settings_from_args(args))
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


# ---------------------------------------------------------------------------- bench
def _bench(args: argparse.Namespace) -> int:
    from signdesk.engine.bench import format_bench, run_bench

    report = run_bench(args, settings_from_args(args))
    print(json.dumps(report, indent=2) if args.json else format_bench(report))
    return 0


def _self_test(args: argparse.Namespace) -> int:
    from signdesk.selftest import run_self_test

    return run_self_test(verbose=args.verbose)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("interpret", help="interpret sign video files",
                              description="Interpret each video as one sign and print the words.")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    add_model_options(p)
    p.add_argument("--start", type=int, default=1, help="first frame of the sign (1-based)")
    p.add_argument("--end", type=int, default=-1, help="last frame of the sign (inclusive; -1 = end)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per video")
    p.set_defaults(handler=_interpret)

    m = subparsers.add_parser("model", help="download, list or build models")
    msub = m.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    d = msub.add_parser("download", help="download a model from the Hugging Face hub (resumable)")
    d.add_argument("model_id", nargs="?", metavar="ID", help="hub id (default: the configured model)")
    d.add_argument("--revision")
    d.set_defaults(handler=_model_download)
    t = msub.add_parser("make-test", help="build a random-weight InternVL offline, for tests and benchmarks")
    t.add_argument("out", metavar="DIR")
    t.add_argument("--like", metavar="ID",
                   help="use the real shapes of a catalog model, e.g. OpenGVLab/InternVL3-2B-hf")
    t.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    t.add_argument("--size", default="tiny", choices=["tiny", "learn"],
                   help="tiny (default, for tests) or learn: 16 visual tokens per CPU frame, a wider language "
                        "model and pretrained-like conditioning, for learning tests (ignored with --like)")
    t.set_defaults(handler=_model_make_test)
    lst = msub.add_parser("list", help="supported checkpoints and whether they are downloaded")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_model_list)

    doc = subparsers.add_parser("doctor", help="versions, devices, the device choice, model cache")
    add_model_options(doc)
    doc.add_argument("--json", action="store_true")
    doc.set_defaults(handler=_doctor)

    st = subparsers.add_parser("self-test", help="check this installation: model, interpretation, jobs, window")
    st.set_defaults(handler=_self_test)

    b = subparsers.add_parser("bench", help="per-stage timings of interpretation (decode, preprocess, model)")
    b.add_argument("video", nargs="?", help="a clip (default: a synthetic 1080p clip)")
    add_model_options(b)
    b.add_argument("--like", metavar="ID", help="benchmark a random-weight model with this checkpoint's shapes")
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--glossary-size", type=int, default=320, help="candidates for vocab scoring")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench)
