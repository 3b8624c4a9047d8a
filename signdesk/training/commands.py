"""Training subcommands: ``train``, ``evaluate``, ``train-bench`` and ``synth-dataset``.

Handlers import torch, transformers, peft and trl themselves, so ``signdesk --help`` stays fast.
Exit codes follow ``signdesk.jobs.events``: 0 finished, 1 failed, 2 bad input (a ``SignDeskError``,
printed on one line by the CLI), 3 stopped through the stop file or Ctrl-C.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from signdesk.hardware import DEVICE_CHOICES, TRAIN_DEVICE_CHOICES

PROFILE_CHOICES = ["quality", "balanced", "fast", "auto"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _train(args: argparse.Namespace) -> int:
    from signdesk.training.finetune import train

    return train(args)


def _evaluate(args: argparse.Namespace) -> int:
    from signdesk.engine.options import NO_ADAPTER
    from signdesk.training.evaluate import run_evaluate

    if args.adapter is not None and str(args.adapter).lower() == NO_ADAPTER:  # --adapter none: as every command
        args.adapter = None

    return run_evaluate(args)


def _bench(args: argparse.Namespace) -> int:
    import json

    from signdesk.training.bench import format_bench, run_train_bench

    report = run_train_bench(args)
    print(json.dumps(report, indent=2) if args.json else format_bench(report))
    return 0


def _synth(args: argparse.Namespace) -> int:
    from signdesk.training.config import DATASET_CONFIG
    from signdesk.training.synthetic import TRAIN_CLIPS, write_synthetic_dataset

    train = args.train or TRAIN_CLIPS.get(args.kind, TRAIN_CLIPS["appearance"])
    meta = write_synthetic_dataset(args.out, signs=args.signs, counts=(train, args.val, args.test),
                                   size=(args.size, args.size), seed=args.seed, kind=args.kind)
    counts = meta["counts"]
    print(f"wrote a synthetic dataset of {counts['glosses']} signs ({', '.join(meta['glosses'])}) to {args.out}: "
          f"{counts['train']} train, {counts['val']} val, {counts['test']} test clips")
    if meta["direction_twins"]:
        print("direction twins (signs that differ only in the direction of the movement): "
              + ", ".join("/".join(pair) for pair in meta["direction_twins"]))
    print(f"recommended training settings (for the test model of `signdesk model make-test`): "
          f"{Path(args.out) / DATASET_CONFIG}, used by `signdesk train --dataset {args.out}` without --config")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    t = subparsers.add_parser(
        "train", help="fine-tune a LoRA adapter on a prepared dataset",
        description="Fine-tune a LoRA (or QLoRA) adapter with TRL's SFTTrainer. Also runs under "
                    "`accelerate launch -m signdesk train ...` on several GPUs.",
    )
    t.add_argument("--dataset", required=True, type=Path, metavar="DATASET", help="a prepared dataset folder")
    t.add_argument("--out", required=True, type=Path, metavar="ADAPTER",
                   help="adapter folder: adapter, signdesk.json, README.md, train.log, checkpoints/")
    t.add_argument("--config", type=Path, metavar="FILE",
                   help="training settings (YAML or JSON; default: DATASET/train.yaml if there is one, "
                        "else the built-in defaults)")
    t.add_argument("--resume", action="store_true", help="continue the run in ADAPTER from its last checkpoint")
    t.add_argument("--model", help="hub id or local model folder (default: the configured model)")
    t.add_argument("--revision", help="hub revision: branch, tag or commit")
    t.add_argument("--device", choices=TRAIN_DEVICE_CHOICES)
    t.add_argument("--quantize", choices=["none", "4bit"], help="4bit: QLoRA (NF4), CUDA only")
    t.add_argument("--frames", type=_positive, help="frames per clip (default: the profile's)")
    t.add_argument("--profile", choices=PROFILE_CHOICES,
                   help="visual budget (default: the settings' profile, auto: fast on the CPU, quality on a GPU); "
                        "recorded in the adapter, which runs with it")
    t.add_argument("--epochs", type=float)
    t.add_argument("--lr", type=float, metavar="RATE", help="learning rate")
    t.add_argument("--batch-size", type=_positive, dest="batch_size")
    t.add_argument("--max-steps", type=_positive, dest="max_steps", help="stop after this many optimizer steps")
    t.add_argument("--events", metavar="FILE", help="JSON-lines progress events ('-' = stdout)")
    t.add_argument("--stop-file", type=Path, metavar="PATH", help="stop cleanly (and save) when this file appears")
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    t.set_defaults(handler=_train)

    e = subparsers.add_parser(
        "evaluate", help="top-1/top-5 of the base model and an adapter on a dataset split",
        description="Score every clip of a split over the dataset's glossary (vocab mode), with the base model "
                    "and/or an adapter side by side; writes metrics.json, per_gloss.csv, predictions.csv "
                    "and chart.png.",
    )
    e.add_argument("--dataset", required=True, type=Path, metavar="DATASET")
    e.add_argument("--adapter", metavar="DIR|none", help="a LoRA adapter folder (omit or 'none': base model only)")
    e.add_argument("--split", default="test", choices=["train", "val", "test"])
    e.add_argument("--out", type=Path, metavar="DIR",
                   help="report folder (default: ADAPTER/eval-SPLIT, or DATASET/eval-SPLIT-base)")
    e.add_argument("--model", help="base model (default: the adapter's base model, else the configured one)")
    e.add_argument("--revision")
    e.add_argument("--device", choices=DEVICE_CHOICES)
    e.add_argument("--frames", type=_positive, help="frames per clip (default: the adapter's, else the profile's)")
    e.add_argument("--profile", choices=PROFILE_CHOICES, action="append",
                   help="visual budget (default: the adapter's, else the settings'); repeat it to compare "
                        "profiles on the same clips: one result per model and profile")
    e.add_argument("--no-base", action="store_true", dest="no_base", help="skip the base model (adapter only)")
    e.add_argument("--limit", type=_positive, metavar="N", help="only the first N clips of the split")
    e.add_argument("--events", metavar="FILE", help="JSON-lines progress events ('-' = stdout)")
    e.add_argument("--stop-file", type=Path, metavar="PATH", help="stop when this file appears")
    e.add_argument("--json", action="store_true", help="print the full report as JSON")
    from signdesk.engine.server_options import add_server_options

    # --server URL: the clips are scored by a vLLM server
    add_server_options(e.add_argument_group("model server (vLLM)"))
    e.set_defaults(handler=_evaluate)

    b = subparsers.add_parser(
        "train-bench", help="training throughput (clips/s) and peak memory on this machine",
        description="Trains a few LoRA steps on a synthetic dataset and reports clips/s and peak memory. "
                    "Default model: the tiny offline test model; --like gives real shapes with random weights.",
    )
    b.add_argument("--model", help="a model folder or hub id instead of the tiny test model")
    b.add_argument("--like", metavar="ID", help="random weights with this checkpoint's shapes, e.g. "
                                                "OpenGVLab/InternVL3-2B-hf")
    b.add_argument("--device", choices=TRAIN_DEVICE_CHOICES, default="auto")
    b.add_argument("--quantize", choices=["none", "4bit"], default="none")
    b.add_argument("--frames", type=_positive, default=8)
    b.add_argument("--profile", choices=["quality", "balanced", "fast"], default="quality",
                   help="visual budget: frame size and tokens per frame (--frames sets the frames)")
    b.add_argument("--batch-size", type=_positive, default=4, dest="batch_size")
    b.add_argument("--steps", type=_positive, default=20, help="timed optimizer steps (after 2 warm-up steps)")
    b.add_argument("--gradient-checkpointing", choices=["auto", "on", "off"], default="auto",
                   dest="gradient_checkpointing")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench)

    s = subparsers.add_parser(
        "synth-dataset", help="write a small synthetic sign dataset (for trying training without WLASL)",
        description="Each sign is a distinct motion pattern; the folder has the format of `signdesk data prepare`.",
    )
    s.add_argument("out", type=Path, metavar="DATASET")
    s.add_argument("--signs", type=int, default=4, help="2 to 6 signs (default 4; direction: 2 to 4, both: 2 to 10)")
    s.add_argument("--kind", choices=["appearance", "direction", "both"], default="appearance",
                   help="appearance: signs a bag of frames tells apart (default); direction: twin pairs that "
                        "differ only in the direction of the movement (go/come, up/down); both: the two mixed")
    s.add_argument("--train", type=_positive, help="training clips per sign (default 24; direction: 128, what its "
                                                   "recommended settings need)")
    s.add_argument("--val", type=_positive, default=4, help="validation clips per sign")
    s.add_argument("--test", type=_positive, default=6, help="test clips per sign")
    s.add_argument("--size", type=_positive, default=96, help="frame width and height in pixels")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(handler=_synth)
