"""Follow a background job from the GUI thread without ever blocking it.

A ``QTimer`` polls the job folder about five times a second. Each tick reads only the bytes added
since the last one, and at most a fixed amount of them (``EVENT_CHUNK``, ``LOG_CHUNK``), so even a
long training run replayed after a restart is taken in bounded steps; the process is never waited
on (its state comes from ``Job.state()``, which polls the pid or reads ``result.json``).
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from signdesk.errors import SignDeskError
from signdesk.jobs.runner import LOST, RUNNING, JobState

if TYPE_CHECKING:
    from signdesk.jobs.runner import Job

POLL_MS = 200  # ~5 Hz
EVENT_CHUNK = 128 * 1024  # bytes of events parsed per tick at most (~700 events: < 25 ms with the page update)
LOG_CHUNK = 64 * 1024  # bytes of log read per tick at most
LOG_REPLAY = 32 * 1024  # re-attaching shows this much of the log's end, not all of it


class JobWatcher(QObject):
    """Tails one job's ``events.jsonl`` and ``log.txt`` and reports when it is no longer running."""

    events_read = Signal(list)
    """(events) new complete JSON-lines events (dicts with ``event`` and ``time``), in file order."""
    log_read = Signal(str)
    """(text) output the job wrote to its log since the last report."""
    ended = Signal(object)
    """(JobState) the job finished, stopped, failed or was lost, and everything it wrote was reported; once."""

    def __init__(self, job: Job, parent: QObject | None = None, *, replay_events: bool = True,
                 interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.job = job
        self._event_offset = 0 if replay_events else _size(job.events_file)
        self._log_offset = max(0, _size(job.log_file) - LOG_REPLAY)
        self._skip_partial_line = self._log_offset > 0
        self._done = False
        self.max_tick_ms = 0.0  # the slowest tick so far (for measurements)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._poll)

    @property
    def active(self) -> bool:
        return not self._done

    def start(self) -> None:
        self._timer.start()
        QTimer.singleShot(0, self._poll)

    def stop(self) -> None:
        """Stop following (the job itself goes on)."""
        self._done = True
        self._timer.stop()

    def _poll(self) -> None:
        if self._done:
            return
        started = time.perf_counter()
        try:
            state = self.job.state()  # first: once it says "ended", everything the job wrote is on disk
        except SignDeskError as exc:  # the job folder was removed or damaged meanwhile
            self.stop()
            self.ended.emit(JobState(LOST, None, str(exc)))
            return
        events, more_events = self._read_events()
        text, more_log = self._read_log()
        if events:
            self.events_read.emit(events)
        if text:
            self.log_read.emit(text)
        if state.status != RUNNING and not (more_events or more_log) and not self._done:
            self._done = True
            self._timer.stop()
            self.ended.emit(state)
        self.max_tick_ms = max(self.max_tick_ms, (time.perf_counter() - started) * 1000)

    def _read_events(self) -> tuple[list[dict[str, Any]], bool]:
        data = _read(self.job.events_file, self._event_offset, EVENT_CHUNK)
        end = data.rfind(b"\n") + 1  # only complete lines; a partial last line is read next time
        if end == 0 and len(data) == EVENT_CHUNK:  # one absurdly long line: skip it rather than stall
            self._event_offset += len(data)
            return [], True
        events = []
        for raw in data[:end].splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # a torn line from a killed writer
            if isinstance(event, dict):
                events.append(event)
        self._event_offset += end
        return events, len(data) == EVENT_CHUNK

    def _read_log(self) -> tuple[str, bool]:
        data = _read(self.job.log_file, self._log_offset, LOG_CHUNK)
        full = len(data) == LOG_CHUNK
        if full:  # cut at a line end so that no character is split between two reads
            cut = data.rfind(b"\n") + 1
            data = data[:cut] if cut else data
        self._log_offset += len(data)
        if self._skip_partial_line and data:
            self._skip_partial_line = False
            first = data.find(b"\n")
            data = data[first + 1 :] if first >= 0 else b""
        return data.decode("utf-8", "replace"), full


def _size(path: os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read(path: os.PathLike[str], offset: int, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(limit)
    except OSError:
        return b""
