"""Engine subcommands: interpret, model (download / make-test / list), doctor, bench.

The model flags come from ``signdesk.engine.options`` (shared with every command that loads a model).
``self-test`` is registered by ``signdesk.selftest``: it opens a window, which the engine must not import.
"""

from __future__ import annotations

import argparse
import json
import sys

from signdesk.engine.options import add_model_options, settings_from_args
from signdesk.errors import SignDeskError


# ---------------------------------------------------------------------------- interpret
def check_inputs(videos: list[str]) -> tuple[list[str], list[str]]:
    """(readable inputs, one error line per bad one), in order: probed without decoding, before any model loads."""
    from signdesk.video.decode import is_still_image, probe_image, probe_video

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

    b = subparsers.add_parser("bench", help="per-stage timings of interpretation (decode, preprocess, model)")
    b.add_argument("video", nargs="?", help="a clip (default: a synthetic 1080p clip)")
    add_model_options(b)
    b.add_argument("--like", metavar="ID", help="benchmark a random-weight model with this checkpoint's shapes")
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--glossary-size", type=int, default=320, help="candidates for vocab scoring")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench)
