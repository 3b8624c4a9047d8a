"""Follow a background job from the GUI thread without ever blocking it.

A ``QTimer`` polls the job folder about five times a second. Each tick reads (through the Qt-free
``EventTail`` and ``LogTail`` of ``signdesk.jobs.events``) only the bytes added since the last one,
and at most a fixed amount of them (``EVENT_CHUNK``, ``LOG_CHUNK``), so even a long training run
replayed after a restart is taken in bounded steps; the process is never waited on (its state comes
from ``Job.state()``, which polls the pid or reads ``result.json``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from signdesk.errors import SignDeskError
from signdesk.jobs.events import EventTail, LogTail, file_size
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
        self._events = EventTail(job.events_file, 0 if replay_events else file_size(job.events_file),
                                 limit=EVENT_CHUNK)
        self._log = LogTail(job.log_file, limit=LOG_CHUNK, replay=LOG_REPLAY)
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
        events, text = self._events.read(), self._log.read()
        if events:
            self.events_read.emit(events)
        if text:
            self.log_read.emit(text)
        if state.status != RUNNING and not (self._events.more or self._log.more) and not self._done:
            self._done = True
            self._timer.stop()
            self.ended.emit(state)
        self.max_tick_ms = max(self.max_tick_ms, (time.perf_counter() - started) * 1000)
