"""JSON-lines progress events and the stop file: the contract between a job and whoever watches it.

Every event is one JSON object on one line with at least ``event`` (what happened) and ``time``
(UNIX seconds). Lines are flushed as written, so a reader tailing the file (the GUI) sees each event
at once, and a reader never needs more than the complete lines (a partial last line is skipped).

Here too, for every job (data, training, evaluation, the probe): the readers that tail a job's files
(``EventTail``, ``LogTail``; the GUI's watcher only adds a Qt timer), the stop request (``StopFlag``)
and the exception work raises when it is stopped (``Stopped``).
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


def file_size(path: str | os.PathLike[str]) -> int:
    """The file's size in bytes; 0 when it does not exist (yet)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read(path: str | os.PathLike[str], offset: int, limit: int | None) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(-1 if limit is None else limit)
    except OSError:
        return b""


class EventTail:
    """Follows an ``events.jsonl`` file: each ``read`` returns the complete events added since the last one.

    ``limit`` caps the bytes taken per read (the GUI's bounded ticks); ``more`` then says the file holds
    more to read now. A partial last line is left for the next read; a line that is not a JSON object
    (a torn line from a killed writer) is skipped rather than stopping the reader.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int = 0, *, limit: int | None = None) -> None:
        self.path = Path(path)
        self.offset = offset
        self.limit = limit
        self.more = False

    def read(self) -> list[dict[str, Any]]:
        data = _read(self.path, self.offset, self.limit)
        self.more = self.limit is not None and len(data) == self.limit
        end = data.rfind(b"\n") + 1  # only complete lines; a partial last line is read next time
        if end == 0 and self.more:  # one absurdly long line: skip it rather than stall
            self.offset += len(data)
            return []
        events = []
        for raw in data[:end].splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        self.offset += end
        return events


class LogTail:
    """Follows a text log: each ``read`` returns what was appended since the last one, at most ``limit`` bytes.

    ``replay`` starts that many bytes before the current end (re-attaching shows the log's end, not all of
    it), skipping the partial first line there. A full read is cut at a line end so that no character is
    split between two reads; ``more`` then says there is more to read now.
    """

    def __init__(self, path: str | os.PathLike[str], *, limit: int, replay: int | None = None) -> None:
        self.path = Path(path)
        self.limit = limit
        self.offset = 0 if replay is None else max(0, file_size(path) - replay)
        self._skip_partial_line = self.offset > 0
        self.more = False

    def read(self) -> str:
        data = _read(self.path, self.offset, self.limit)
        self.more = len(data) == self.limit
        if self.more:
            cut = data.rfind(b"\n") + 1
            data = data[:cut] if cut else data
        self.offset += len(data)
        if self._skip_partial_line and data:
            self._skip_partial_line = False
            first = data.find(b"\n")
            data = data[first + 1 :] if first >= 0 else b""
        return data.decode("utf-8", "replace")


class Stopped(Exception):
    """A stop was requested while work was in progress; the interrupted item is not recorded."""


class StopFlag:
    """A request to stop cleanly at the next safe point: from code (e.g. Ctrl-C) or the stop file appearing.

    The stop file is how the GUI asks a child process to stop; ``wait`` is cut short by either.
    """

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
