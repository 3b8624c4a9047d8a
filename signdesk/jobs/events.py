"""JSON-lines progress events and the stop file: the contract between a job and whoever watches it.

Every event is one JSON object on one line with at least ``event`` (what happened) and ``time``
(UNIX seconds). Lines are flushed as written, so a reader tailing the file (the GUI) sees each event
at once, and a reader never needs more than the complete lines (a partial last line is skipped).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

EXIT_FINISHED, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3


class EventWriter:
    """Appends events to a file (``path``), or to stdout when ``path`` is ``-``; None writes nothing."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._lock = threading.Lock()
        self._handle: IO[str] | None
        if path is None:
            self._handle = None
        elif str(path) == "-":
            self._handle = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def emit(self, event: str, **fields: Any) -> None:
        if self._handle is None:
            return
        line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, ensure_ascii=False)
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None and self._handle is not sys.stdout:
            self._handle.close()
        self._handle = None

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete events after byte ``offset``, and the offset to continue from (for tailing)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    events = []
    end = data.rfind(b"\n") + 1  # only complete lines; the rest is read next time
    for raw in data[:end].splitlines():
        try:
            events.append(json.loads(raw))
        except ValueError:
            continue  # a line from a crashed writer: skip it rather than stop the reader
    return events, offset + end


class StopFlag:
    """A stop request: a file whose existence asks the job to stop cleanly at its next safe point."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._event = threading.Event()

    def set(self) -> None:
        """Request a stop from inside the process (e.g. on Ctrl-C)."""
        self._event.set()

    def requested(self) -> bool:
        if self._event.is_set():
            return True
        if self.path is not None and self.path.exists():
            self._event.set()
            return True
        return False
