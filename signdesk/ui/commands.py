"""Subcommands of the desktop app: ``gui``, ``transcribe`` and ``bench live``.

Handlers import Qt (and the engine) only when they run, so ``signdesk --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from signdesk.hardware import DEVICE_CHOICES


def _gui(args: argparse.Namespace) -> int:
    from signdesk.ui.app import run_gui

    return run_gui(args)


def _transcribe(args: argparse.Namespace) -> int:
    from signdesk.transcribe import run_transcribe

    return run_transcribe(args)


def _bench_live(args: argparse.Namespace) -> int:
    from signdesk.ui.bench import run_bench_live

    return run_bench_live(args)


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="ID", help="model id or folder (setting model.id)")
    parser.add_argument("--adapter", metavar="DIR", help="LoRA adapter folder (setting model.adapter)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, help="where the model runs")
    parser.add_argument("--profile", choices=["quality", "balanced", "fast", "auto"],
                        help="visual budget (setting profile): auto is fast on the CPU, quality on GPUs")
    from signdesk.engine.server_options import add_server_options

    add_server_options(parser)


BENCH_LIVE_DESCRIPTION = """\
Measure the live view: the real SignDesk window runs offscreen with a fake 640x480 camera
(30 fps, a loop of signs between rests) and a model, and each scenario runs for --seconds once
the model is ready.

scenarios:
  tiny        the tiny random-weight test model (made offline), motion segmentation
  slow        the same model, each clip also burning --slow-ms of CPU in torch (a big model)
  continuous  the tiny model in continuous mode (a window every 2 frames, inference nonstop)

It prints, per scenario: frames painted and captured per second, the longest GUI-thread stall,
clips interpreted and dropped (latest wins), and the delay from the end of a sign to its
transcript entry beyond the model's own time (median and max, and how much of it was waiting
for the engine). It runs in a clean temporary SignDesk home: your settings, window state and
Training tab state (an adapter in use) are not read. A scenario that interpreted no clip makes
the run fail (exit code 1) with one line saying which.
"""


def _add_bench_live(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each scenario runs (default 20)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the fake camera (default 30)")
    parser.add_argument("--slow-ms", type=float, default=2000.0,
                        help="extra CPU time per clip of the artificially slow model (default 2000)")
    parser.add_argument("--scenario", action="append", choices=["tiny", "slow", "continuous"],
                        help="run only these scenarios (repeatable; default: all)")
    parser.add_argument("--model", metavar="ID",
                        help="use this model (a local folder, or a hub id already downloaded) instead of the tiny "
                             "test model")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=_bench_live)


def register(subparsers: Any) -> None:
    gui = subparsers.add_parser("gui", help="open the desktop app (the default with no command)",
                                description="Open the SignDesk window.")
    gui.add_argument("--camera-file", metavar="VIDEO",
                     help="play this video file, at its own frame rate and looped, as the camera")
    _model_flags(gui)
    gui.set_defaults(handler=_gui)

    tr = subparsers.add_parser(
        "transcribe", help="find and interpret the signs in a video file",
        description="Find each sign in VIDEO and print its start and end time, the word, its confidence and "
                    "the top-k alternatives.")
    tr.add_argument("video", metavar="VIDEO", help="the video file")
    tr.add_argument("--srt", metavar="FILE", help="also write SubRip subtitles to FILE")
    tr.add_argument("--json", action="store_true", help="print one JSON report instead of lines")
    _model_flags(tr)
    tr.add_argument("--no-adapter", action="store_true", help="use the base model even if an adapter is set")
    tr.add_argument("--glossary", metavar="NAME|FILE", help="glossary to rank in vocab mode")
    tr.add_argument("--mode", choices=["vocab", "free"], help="rank the glossary (vocab) or answer freely")
    tr.add_argument("--top-k", type=int, metavar="K", help="alternatives kept per sign")
    tr.add_argument("--frames", type=int, metavar="N", help="frames sampled per sign")
    tr.add_argument("--threshold", type=float, metavar="P", help="below this confidence a sign is 'not sure'")
    tr.set_defaults(handler=_transcribe)

    # `signdesk bench live` reaches this too (signdesk.cli.ALIASES)
    _add_bench_live(subparsers.add_parser(
        "bench-live", help="measure the live view offscreen: fps, GUI stalls, delays (also: bench live)",
        description=BENCH_LIVE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Also spelled `signdesk bench live`. Example: signdesk bench live --scenario tiny --seconds 10"))
