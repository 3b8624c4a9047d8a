"""Progress for long data jobs, shared by the CLI, the GUI's job runner and tests.

A data job reports through one callable ``emit(event: dict)`` whose dicts carry an ``event`` name;
the CLI writes them with ``signdesk.jobs.events.EventWriter`` (the JSON-lines contract the GUI
reads) and drives a tqdm bar on stderr. A job stops cleanly when its ``signdesk.jobs.events.StopFlag``
is set: by Ctrl-C (the CLI sets it) or by the stop file appearing (how the GUI asks a child process
to stop); the work in progress then raises ``signdesk.jobs.events.Stopped``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Emit = Callable[[dict[str, Any]], None]


def no_events(event: dict[str, Any]) -> None:
    """The default sink: drop events."""


def progress_bar(total: int, desc: str, enabled: bool | None = None):
    """A tqdm bar on stderr; ``enabled=None`` shows it only on a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, dynamic_ncols=True,
                disable=(not enabled) if enabled is not None else None, leave=True)
