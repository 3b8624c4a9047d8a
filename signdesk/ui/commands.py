"""Subcommands of the desktop app: ``gui``, ``transcribe`` and ``bench live``.

Handlers import Qt (and the engine) only when they run, so ``signdesk --help`` stays fast and every command
but the window ones works where PySide6 is not installed (those say so in one line).
"""

from __future__ import annotations

import argparse
from typing import Any

from signdesk.engine.options import add_model_options


def _gui(args: argparse.Namespace) -> int:
    from signdesk.ui.app import require_qt, run_gui

    require_qt()
    return run_gui(args)


def _transcribe(args: argparse.Namespace) -> int:
    from signdesk.transcribe import run_transcribe

    return run_transcribe(args)


def _bench_live(args: argparse.Namespace) -> int:
    from signdesk.ui.app import require_qt

    require_qt()  # before ui.bench, whose scenarios open the window
    from signdesk.ui.bench import run_bench_live

    return run_bench_live(args)


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
    from signdesk.sentence_line import add_sentence_options

    gui = subparsers.add_parser("gui", help="open the desktop app (the default with no command)",
                                description="Open the SignDesk window.")
    gui.add_argument("--camera-file", metavar="VIDEO",
                     help="play this video file, at its own frame rate and looped, as the camera")
    add_model_options(gui)
    gui.set_defaults(handler=_gui)

    tr = subparsers.add_parser(
        "transcribe", help="find and interpret the signs in a video file",
        description="Find each sign in VIDEO and print its start and end time, the word, its confidence and "
                    "the top-k alternatives.")
    tr.add_argument("video", metavar="VIDEO", help="the video file")
    tr.add_argument("--srt", metavar="FILE", help="also write SubRip subtitles to FILE")
    tr.add_argument("--json", action="store_true", help="print one JSON report instead of lines")
    tr.add_argument("--threshold", type=float, metavar="P", help="below this confidence a sign is 'not sure'")
    add_model_options(tr)
    add_sentence_options(tr)
    tr.set_defaults(handler=_transcribe)

    # `signdesk bench live` reaches this too (signdesk.cli.ALIASES)
    _add_bench_live(subparsers.add_parser(
        "bench-live", help="measure the live view offscreen: fps, GUI stalls, delays (also: bench live)",
        description=BENCH_LIVE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Also spelled `signdesk bench live`. Example: signdesk bench live --scenario tiny --seconds 10"))
