"""What every wizard page has: a heading and explanation, a scrolling body, and a "complete" flag.

Pages talk to the tab through ``WizardHost`` (the state, the app's settings, the task thread, starting
jobs), never through each other's widgets, so each page can be built and tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from signdesk.training.wizard_state import STEP_TITLES, STEPS
from signdesk.ui.training_pages.common import heading, hint

if TYPE_CHECKING:
    from signdesk.training.wizard_state import WizardState
    from signdesk.ui.job_panel import JobPanel
    from signdesk.ui.workers import TaskRunner


class WizardHost(Protocol):
    """The Training tab, as its pages see it."""

    state: WizardState
    settings: Any
    runner: TaskRunner | None

    def save_soon(self) -> None:
        """The state changed: save it shortly (debounced, off the GUI thread)."""

    def start_job(self, step: str, argv: list[str], panel: JobPanel,
                  before: Callable[[], object] | None = None) -> bool:
        """Start ``signdesk ARGV`` as ``step``'s job, followed by ``panel``; False when refused at once.

        ``before`` runs on the task thread just before the job starts (to write its config file).
        """
        ...

    def request_use(self, changes: dict[str, Any]) -> None:
        """Ask the window to switch the Live tab to these settings (an adapter and its glossary)."""

    def refresh_steps(self) -> None:
        """Some page's completeness or job status changed: update the step list and buttons."""

    def step_complete(self, step: str) -> bool:
        """Whether an earlier step is done (its page is complete)."""
        ...


class WizardPage(QWidget):
    """A page of the wizard. Subclasses fill ``self.body`` and keep ``complete`` up to date."""

    step = ""
    completion_changed = Signal(bool)
    """(complete) whether this step is done, so the user can go on to the next one."""

    def __init__(self, host: WizardHost, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self._complete = False
        self.folder_edit: QLineEdit | None = None  # pages with a folder field set it
        title = f"{STEPS.index(self.step) + 1} · {STEP_TITLES[self.step]}"
        self.setAccessibleName(f"Step {title}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Pages are laid out to fit the narrowest window (Settings panel open); should one still be
        # wider, it scrolls rather than silently cutting off the right edge of its text.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        inner = QWidget(scroll)
        self.body = QVBoxLayout(inner)
        self.body.setContentsMargins(12, 8, 12, 8)
        self.body.setSpacing(8)
        self.title = heading(title, inner)
        self.body.addWidget(self.title)
        self.intro = hint(intro, inner)
        self.body.addWidget(self.intro)
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        self.scroll = scroll
        self.inner = inner

    @property
    def state(self) -> WizardState:
        return self.host.state

    @property
    def complete(self) -> bool:
        return self._complete

    def set_complete(self, value: bool) -> None:
        if value != self._complete:
            self._complete = value
            self.completion_changed.emit(value)

    @property
    def panel(self) -> JobPanel | None:
        """The page's job panel, for pages that run a job."""
        return None

    def refresh(self) -> None:
        """Re-read what the state and the disk say (the page became current, or an earlier step changed)."""

    def update_status(self) -> None:
        """Recompute the page's status line from the current state (cheap: no disk, no processes).

        The tab calls it on every change of any step (completion, job status), so a line never
        describes an earlier state."""

    def shutdown(self) -> None:
        """The window closes: stop timers and child processes of this page (jobs go on)."""

    def _browse_folder(self, title: str, start: Path) -> None:
        """Browse… beside the page's ``folder_edit``: the chosen folder is used as if typed there."""
        folder = QFileDialog.getExistingDirectory(self, title, str(start))
        if folder:
            self.folder_edit.setText(folder)
            self._on_folder_edited()

    def _on_folder_edited(self) -> None:
        """The page's folder field changed (pages with one use the new folder)."""

    def _set(self, key: str, value: Any) -> bool:
        """Set a state field from a widget; saved soon. False when it already had that value."""
        if getattr(self.state, key) == value:
            return False
        setattr(self.state, key, value)
        self.host.save_soon()
        return True


class JobPage(WizardPage):
    """A page that runs one background job (``start``), followed by its ``job_panel``."""

    def _add_job_panel(self, noun: str, stop_grace_ms: int, *, start_text: str = "",
                       command: Callable[[], str] | None = None) -> JobPanel:
        """The page's job panel, wired to ``start``, ``_on_events`` and ``_on_ended``; Retry starts again."""
        from signdesk.ui.job_panel import JobPanel

        panel = JobPanel(self.host.runner, self.inner, noun=noun, stop_grace_ms=stop_grace_ms)
        if start_text:
            panel.set_start_text(start_text)
        if command is not None:
            panel.set_command_provider(command)
        panel.sig_start_requested.connect(self.start)
        panel.sig_retry_requested.connect(self.retry)
        panel.events_received.connect(self._on_events)
        panel.job_ended.connect(self._on_ended)
        self.job_panel = panel
        return panel

    @property
    def panel(self) -> JobPanel:
        return self.job_panel

    def start(self) -> None:
        """Start the page's job (the Start button)."""

    def retry(self) -> None:
        """The Retry button after a failure: start again."""
        self.start()

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        """New events of the followed job."""

    def _on_ended(self, state: Any) -> None:
        """The followed job ended: read what it left on disk."""
        self.refresh()

    def _show_done(self, done: bool) -> None:
        """The step is complete when ``done`` and no job runs; the step list and status line follow."""
        self.set_complete(not self.job_panel.running and done)
        self.host.refresh_steps()
        self.update_status()

    def shutdown(self) -> None:
        self.job_panel.shutdown()
