"""Progress and stopping for long data jobs, shared by the CLI, the GUI's job runner and tests.

A data job reports through one callable ``emit(event: dict)`` whose dicts carry an ``event`` name;
the CLI writes them with ``signdesk.jobs.events.EventWriter`` (the JSON-lines contract the GUI
reads) and drives a tqdm bar on stderr. A job stops cleanly when its ``StopToken`` is set: by
Ctrl-C (the CLI sets it) or by the stop file appearing (how the GUI asks a child process to stop).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Emit = Callable[[dict[str, Any]], None]


class Stopped(Exception):
    """A stop was requested while work was in progress; the interrupted item is not recorded."""


def no_events(event: dict[str, Any]) -> None:
    """The default sink: drop events."""


class StopToken:
    """A stop request from Ctrl-C, the GUI's stop file, or code; waits are cut short by it."""

    def __init__(self, stop_file: str | os.PathLike[str] | None = None) -> None:
        self._event = threading.Event()
        self.stop_file = Path(stop_file) if stop_file else None
        self.reason = ""

    def set(self, reason: str = "stopped") -> None:
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        if not self._event.is_set() and self.stop_file is not None and self.stop_file.exists():
            self.set(f"stop file {self.stop_file} appeared")
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True once a stop is requested (a stop file is checked twice a second)."""
        deadline = time.monotonic() + max(seconds, 0.0)
        while not self.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._event.wait(min(remaining, 0.5) if self.stop_file else remaining)
        return True


def progress_bar(total: int, desc: str, enabled: bool | None = None):
    """A tqdm bar on stderr; ``enabled=None`` shows it only on a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, dynamic_ncols=True,
                disable=(not enabled) if enabled is not None else None, leave=True)
