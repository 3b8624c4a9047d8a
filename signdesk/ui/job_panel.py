"""The part of a wizard page that runs its background job: start, stop, progress, log, failure and retry.

A job is a child process (``signdesk.jobs.runner``); this panel follows it with a ``JobWatcher`` and
never waits on it. Stopping follows LLaMA-Factory's order: the stop file first (the job saves what it
has and exits with code 3), and only when the job has not stopped after a grace period, or the user
asks again, the process tree is killed, on the task thread. "Stopped by user" is shown as what it is,
never as a failure; a failure shows its exit code, the end of the log and a Retry button.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from signdesk.errors import SignDeskError
from signdesk.jobs.events import EXIT_USAGE
from signdesk.jobs.runner import FAILED, FINISHED, LOST, RUNNING, STOPPED, Job, JobState
from signdesk.training.wizard_state import display_command
from signdesk.ui.job_watcher import JobWatcher
from signdesk.ui.training_pages.common import named
from signdesk.ui.widgets import single_shot

if TYPE_CHECKING:
    from signdesk.ui.workers import TaskRunner

LOG_LINES = 2000  # the log view keeps this many lines (older ones scroll away)
TAIL_LINES = 15
STOP_GRACE_MS = 30_000  # after a stop request, the process tree is killed if still running after this

IDLE, STARTING, STOPPING = "idle", "starting", "stopping"


class JobPanel(QWidget):
    """Start/stop buttons, status, progress bar, "show command", the log, and a failure box with Retry."""

    sig_start_requested = Signal()
    """The user pressed the start (or resume) button; the page decides what to run."""
    sig_retry_requested = Signal()
    """The user pressed Retry after a failure."""
    job_attached = Signal(object)
    """(Job) the panel now follows this job (just started, or re-attached after a restart)."""
    events_received = Signal(list)
    """(events) new JSON-lines events of the followed job, in order."""
    job_ended = Signal(object)
    """(JobState) the followed job ended: finished, stopped, failed or lost."""
    status_changed = Signal(str)
    """(status) idle | starting | running | stopping | finished | stopped | failed | lost."""

    def __init__(self, runner: TaskRunner | None, parent: QWidget | None = None, *, noun: str = "job",
                 stop_grace_ms: int = STOP_GRACE_MS) -> None:
        super().__init__(parent)
        self.runner = runner
        self.noun = noun
        self.stop_grace_ms = stop_grace_ms
        self.job: Job | None = None
        self.watcher: JobWatcher | None = None
        self.last_state: JobState | None = None
        self.status = IDLE
        self._command_provider: Callable[[], str] | None = None
        self._stopping = False
        self._can_start = True
        self.setAccessibleName(f"{noun.capitalize()} job")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._build_buttons(noun))
        self._build_status(layout, noun)
        self.failure = self._build_failure(noun)
        layout.addWidget(self.failure)
        self.failure.hide()
        self.log = self._build_log(noun)
        layout.addWidget(self.log)
        self.log.hide()
        self._grace = single_shot(self, 0, self._kill)  # started with the page's grace period
        self._set_status(IDLE, "Not started yet.")

    def _build_buttons(self, noun: str) -> QHBoxLayout:
        """Start and Stop (a page's own buttons go after them), Show command and Show log."""
        buttons = QHBoxLayout()
        self.start_button = QPushButton(f"&Start {noun}", self)
        named(self.start_button, f"Start {noun}")
        self.start_button.clicked.connect(self.sig_start_requested)
        self.stop_button = QPushButton("S&top", self)
        named(self.stop_button, f"Stop {noun}", f"Ask the {noun} to stop cleanly; what is done is kept")
        self.stop_button.clicked.connect(self.request_stop)
        self.stop_button.setEnabled(False)
        self.command_button = QPushButton("Show co&mmand", self)
        named(self.command_button, "Show command", "The command line of this step, to run it from a terminal")
        self.command_button.clicked.connect(self.show_command)
        self.log_button = QPushButton("Show &log", self)
        self.log_button.setCheckable(True)
        named(self.log_button, "Show log", f"Show the {noun}'s output")
        self.log_button.toggled.connect(self._toggle_log)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        self._buttons = buttons
        buttons.addStretch(1)
        buttons.addWidget(self.command_button)
        buttons.addWidget(self.log_button)
        return buttons

    def _build_status(self, layout: QVBoxLayout, noun: str) -> None:
        """The status line, the progress bar and the details line."""
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName(f"{noun.capitalize()} status")
        layout.addWidget(self.status_label)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setAccessibleName(f"{noun.capitalize()} progress")
        layout.addWidget(self.progress)
        self.detail = QLabel(self)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAccessibleName(f"{noun.capitalize()} details")
        layout.addWidget(self.detail)

    def _build_failure(self, noun: str) -> QFrame:
        """The failure box: what went wrong, Retry, and the end of the log."""
        failure = QFrame(self)
        failure.setObjectName("failure")
        failure.setFrameShape(QFrame.Shape.StyledPanel)
        failure.setStyleSheet("#failure { background: #fdecea; border: 1px solid #e0a8a3; border-radius: 4px; }")
        failure.setAccessibleName(f"{noun.capitalize()} failure")
        failure_layout = QVBoxLayout(failure)
        row = QHBoxLayout()
        self.failure_label = QLabel(failure)
        self.failure_label.setWordWrap(True)
        self.failure_label.setAccessibleName("Failure")
        self.retry_button = QPushButton("&Retry", failure)
        named(self.retry_button, f"Retry the {noun}")
        self.retry_button.clicked.connect(self.sig_retry_requested)
        row.addWidget(self.failure_label, 1)
        row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        failure_layout.addLayout(row)
        self.tail = _log_view(failure, "End of the log")
        self.tail.setMaximumHeight(170)
        failure_layout.addWidget(self.tail)
        return failure

    def _build_log(self, noun: str) -> QPlainTextEdit:
        log = _log_view(self, f"{noun.capitalize()} log")
        log.setMaximumBlockCount(LOG_LINES)  # bounded: a long run cannot grow the view without end
        log.setMinimumHeight(120)
        return log

    # ---------------------------------------------------------------- what the page sets
    @property
    def running(self) -> bool:
        return self.status in (STARTING, RUNNING, STOPPING)

    def set_start_text(self, text: str, tip: str = "") -> None:
        self.start_button.setText(text)
        named(self.start_button, text.replace("&", ""), tip)

    def set_stop_text(self, text: str) -> None:
        self.stop_button.setText(text)
        self.stop_button.setAccessibleName(text.replace("&", ""))

    def add_button(self, button: QPushButton) -> None:
        """A page's own button beside Start and Stop (e.g. Resume)."""
        self._buttons.insertWidget(2, button)

    def set_can_start(self, allowed: bool, reason: str = "") -> None:
        self._can_start = allowed
        self.start_button.setEnabled(allowed and not self.running)
        self.start_button.setToolTip(reason)
        if not allowed and reason and self.status == IDLE:
            self.detail.setText(reason)

    def set_command_provider(self, provider: Callable[[], str]) -> None:
        """What "show command" shows before any job ran (a preview built from the page's settings)."""
        self._command_provider = provider

    def set_progress(self, fraction: float | None, text: str = "") -> None:
        if fraction is None:
            self.progress.setRange(0, 0)  # busy
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        self.progress.setFormat(text or ("" if fraction is None else f"{100 * fraction:.0f} %"))

    def set_detail(self, text: str) -> None:
        self.detail.setText(text)

    # ---------------------------------------------------------------- following a job
    def set_starting(self) -> None:
        self.failure.hide()
        self.log.clear()
        self.set_progress(None, "Starting…")
        self._set_status(STARTING, f"Starting the {self.noun}…")

    def start_refused(self, message: str) -> None:
        self.set_progress(0.0, "")
        self._set_status(IDLE, f"<b>Not started:</b> {message}")

    def attach(self, job: Job, *, replay: bool = True) -> None:
        """Follow ``job`` (started now or found again after a restart) until it ends."""
        self.detach()
        self.job = job
        self.last_state = None
        self._stopping = job.stop_file.exists()
        self.failure.hide()
        self.log.clear()
        self.watcher = JobWatcher(job, self, replay_events=replay)
        self.watcher.events_read.connect(self.events_received)
        self.watcher.log_read.connect(self._append_log)
        self.watcher.ended.connect(self._on_ended)
        self._set_status(STOPPING if self._stopping else RUNNING,
                         f"Stopping the {self.noun}…" if self._stopping else f"Running the {self.noun}…")
        if self.progress.maximum() != 0 and self.progress.value() == 0:
            self.set_progress(None, "Working…")
        self.job_attached.emit(job)
        self.watcher.start()

    def detach(self) -> None:
        """Stop following the current job (it goes on running)."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.deleteLater()
            self.watcher = None
        self._grace.stop()

    def shutdown(self) -> None:
        self.detach()

    def request_stop(self) -> None:
        """First press: ask the job to stop cleanly. Second press (or after the grace period): kill it."""
        if self.job is None or self.status not in (RUNNING, STOPPING):
            return
        if self._stopping:
            self._kill()
            return
        self._stopping = True
        self.job.request_stop()
        self._grace.start(self.stop_grace_ms)
        self.set_stop_text("&Force stop")
        self.stop_button.setToolTip(f"End the {self.noun} at once, without letting it save")
        self._set_status(STOPPING, f"Stopping the {self.noun}: it saves what it has done, then ends…")

    def _kill(self) -> None:
        job = self.job
        if job is None or self.status not in (RUNNING, STOPPING):
            return
        job.request_stop()  # so that its state reads "stopped by user", not "failed"
        if self.runner is not None:
            self.runner.run(f"kill:{job.folder}", job.kill)  # psutil waits for the tree: not in this thread
        self._set_status(STOPPING, f"Ending the {self.noun} forcefully…")

    def _append_log(self, text: str) -> None:
        self.log.appendPlainText(text.rstrip("\n"))

    def _on_ended(self, state: JobState) -> None:
        self._grace.stop()
        self.last_state = state
        job = self.job
        if state.status == FINISHED:
            self.set_progress(1.0, "Done")
            self._set_status(FINISHED, "<b>Finished.</b>")
        elif state.status == STOPPED:
            self._set_status(STOPPED, f"<b>Stopped by user.</b> {state.message.removeprefix('stopped by user')}"
                                      .strip())
        else:
            code = "" if state.exit_code is None else \
                f" (exit {state.exit_code}{', bad input' if state.exit_code == EXIT_USAGE else ''})"
            headline = "Ended without a result" if state.status == LOST else f"Failed{code}"
            self._set_status(state.status, f"<b>{headline}.</b>")
            tail = job.log_tail(TAIL_LINES) if job is not None else ""
            self.failure_label.setText(f"<b>The {self.noun} {'failed' if state.status == FAILED else 'ended'}"
                                       f"{code}:</b> {_escape(state.message)}")
            self.tail.setPlainText(tail or "(the job wrote no output)")
            self.failure.show()
        self.set_stop_text("S&top")
        self.job_ended.emit(state)

    # ---------------------------------------------------------------- view
    def _set_status(self, status: str, text: str) -> None:
        self.status = status
        self.status_label.setText(text)
        running = status in (STARTING, RUNNING, STOPPING)
        self.start_button.setEnabled(not running and self._can_start)
        self.stop_button.setEnabled(status in (RUNNING, STOPPING))
        if not running:
            self._stopping = False
        self.status_changed.emit(status)

    def _toggle_log(self, shown: bool) -> None:
        self.log.setVisible(shown)
        self.log_button.setText("Hide &log" if shown else "Show &log")

    def command_text(self) -> str:
        """The running job's command; otherwise what Start would run now (the page's preview)."""
        if self.job is not None and (self.running or self._command_provider is None):
            try:
                argv = list(self.job.spec().get("argv", []))
            except SignDeskError:
                argv = []
            return (f"{display_command(_without_job_flags(argv))}\n\n# as the app runs it (a background job):\n"
                    f"{shlex.join(self.job.command())}")
        if self._command_provider is not None:
            return self._command_provider()
        return "(nothing to run yet)"

    def show_command(self) -> None:
        from signdesk.ui.command_dialog import CommandDialog

        dialog = CommandDialog(f"Command: {self.noun}", self.command_text(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.command_dialog = dialog


def _log_view(parent: QWidget, name: str) -> QPlainTextEdit:
    """A read-only, unwrapped, fixed-width text view for a job's output."""
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setAccessibleName(name)
    return view


def _without_job_flags(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--events", "--stop-file"):
            skip = True
            continue
        out.append(arg)
    return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["FAILED", "FINISHED", "IDLE", "LOST", "RUNNING", "STARTING", "STOPPED", "STOPPING", "JobPanel"]
