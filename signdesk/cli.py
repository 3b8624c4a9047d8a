"""The ``signdesk`` command. With no arguments it opens the app; everything the GUI does is a subcommand.

Each command family lives in its own module with a ``register(subparsers)`` function, and imports its
heavy libraries inside the handler, so ``signdesk --help`` and the GUI's first window stay fast.
A ``SignDeskError`` (bad input the user can fix) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from signdesk import __version__
from signdesk.errors import SignDeskError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Modules that add subcommands; each defines register(subparsers) -> None.
COMMAND_MODULES = (
    "signdesk.engine.commands",
    "signdesk.selftest",  # self-test opens the window: registered above the GUI, not by the engine
    "signdesk.data.commands",
    "signdesk.training.commands",
    "signdesk.ui.commands",
    "signdesk.jobs.commands",
    "signdesk.segment_commands",
    "signdesk.live",
    "signdesk.engine.server_commands",
    "signdesk.engine.sentence_bench",
    "signdesk.mysigns.commands",
)

# Two-word spellings of commands that stand alone: `signdesk bench segment` is `signdesk bench-segment`.
ALIASES = {("bench", "segment"): "bench-segment", ("bench", "live"): "bench-live", ("bench", "server"): "bench-server",
           ("bench", "sentences"): "bench-sentences"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signdesk",
        description="Interpret sign language from a webcam or video files with InternVL3 (+ LoRA).",
        epilog="Run without a command to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"signdesk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details to stderr")
    # `signdesk job run FOLDER` (the child side of a background job) runs the job's command line through
    # main(); signdesk.jobs sits below the CLI and must not import it, so the CLI hands main down.
    parser.set_defaults(run_argv=main)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command family is not part of this build
                continue
            raise
        module.register(subparsers)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (tests and the bootstrap replace it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_console: _StderrHandler | None = None


def _console_logging(verbose: bool) -> None:
    """One stderr handler per process (main may run several times in one process: tests, jobs)."""
    global _console
    if _console is None:
        _console = _StderrHandler()
        _console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(_console)
    _console.setLevel(logging.INFO if verbose else logging.WARNING)


def _resolve_alias(argv: list[str]) -> list[str]:
    words = [i for i, word in enumerate(argv) if not word.startswith("-")][:2]  # the command, after -v etc.
    if len(words) == 2 and words[1] == words[0] + 1:
        name = ALIASES.get((argv[words[0]], argv[words[1]]))
        if name:
            return [*argv[:words[0]], name, *argv[words[1] + 1:]]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    from signdesk import bootstrap

    bootstrap.prepare()
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = _resolve_alias(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `signdesk` (maybe with -v) opens the app
        args = parser.parse_args([*argv, "gui"])
    _console_logging(args.verbose)
    try:
        return int(args.handler(args) or EXIT_OK)
    except SignDeskError as exc:
        print(f"signdesk: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("signdesk: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter flushes stdout at exit
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
