"""The Training tab: a wizard from the WLASL index to an adapter the Live tab uses.

Eight pages (``signdesk.ui.training_pages``; My signs is optional) on a step list. Each long step runs
as a background job: a child process of the app's own executable with a ``signdesk`` subcommand
(``signdesk.jobs``), which the page follows by polling its files; nothing here waits on a process. One
job runs at a time, and at most one training job on the machine. The wizard's choices and each step's
latest job are saved (``signdesk.training.wizard_state``), so after a restart the tab reopens on the
same page, shows how the last jobs ended, and re-attaches to a job that is still running.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from signdesk.atomicio import atomic_write_json
from signdesk.errors import SignDeskError
from signdesk.jobs.runner import FAILED, LOST, RUNNING, STOPPED, Job, list_jobs
from signdesk.training.wizard_state import JOB_STEPS, STEP_TITLES, STEPS, WizardState
from signdesk.ui.job_panel import STARTING, STOPPING
from signdesk.ui.training_pages.base import WizardPage
from signdesk.ui.training_pages.download_page import DownloadPage
from signdesk.ui.training_pages.evaluate_page import EvaluatePage
from signdesk.ui.training_pages.finetune_page import FinetunePage
from signdesk.ui.training_pages.glossary_page import GlossaryPage
from signdesk.ui.training_pages.index_page import IndexPage
from signdesk.ui.training_pages.mysigns_page import MySignsPage
from signdesk.ui.training_pages.prepare_page import PreparePage
from signdesk.ui.training_pages.use_page import UsePage
from signdesk.ui.widgets import single_shot

if TYPE_CHECKING:
    from collections.abc import Callable

    from signdesk.config import Settings
    from signdesk.ui.job_panel import JobPanel
    from signdesk.ui.workers import TaskRunner

log = logging.getLogger(__name__)

PAGES = (IndexPage, GlossaryPage, DownloadPage, PreparePage, MySignsPage, FinetunePage, EvaluatePage, UsePage)
SAVE_DELAY_MS = 300


def running_training_job() -> Job | None:
    """A training job still running on this machine (any SignDesk window), or None (task thread)."""
    for job in list_jobs():
        if "-train-" in job.folder.name and not job.result_file.exists():
            try:
                if job.state().status == RUNNING:
                    return job
            except SignDeskError:
                continue
    return None


def _page(step: str) -> Any:
    """A read-only attribute: the tab's page of ``step``."""
    return property(lambda tab: tab.pages[step], doc=f"The {step!r} step's page.")


class TrainingTab(QWidget):
    """The wizard: a step list, the current page, Back and Next."""

    sig_use_adapter_requested = Signal(dict)
    """(changes) the user asked the Live tab to use a trained adapter: settings keys and their new values."""
    job_started = Signal(str, object)
    """(step, Job) a step's background job was started."""

    def __init__(self, settings: Settings, runner: TaskRunner | None, parent: QWidget | None = None, *,
                 state_file: Path | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = runner
        self.setAccessibleName("Training")
        self._state_file = Path(state_file) if state_file else WizardState.default_file()
        first_time = not self._state_file.exists()
        self.state = WizardState.load(self._state_file)
        if first_time:  # train with the frame count live use samples
            self.state.train = replace(self.state.train, frames=int(settings["frames"]))
        self._shut = False

        self.nav = self._build_nav()
        self.stack = QStackedWidget(self)
        self.pages: dict[str, WizardPage] = {}
        for cls in PAGES:
            self._add_page(cls(self, self.stack))
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addLayout(self._build_buttons())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.nav)
        layout.addLayout(right, 1)

        self._save_timer = single_shot(self, SAVE_DELAY_MS, self._save_async)
        self.nav.currentRowChanged.connect(self._on_nav)
        self.go_to(self.state.page, save=False)
        QTimer.singleShot(0, self._restore)

    def _build_nav(self) -> QListWidget:
        """The list of steps, numbered, with an icon for each step's state."""
        nav = QListWidget(self)
        nav.setAccessibleName("Training steps")
        nav.setIconSize(QSize(16, 16))
        nav.setSpacing(2)
        nav.setFixedWidth(190)
        font = nav.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        nav.setFont(font)
        for i, step in enumerate(STEPS):
            item = QListWidgetItem(f"{i + 1}   {STEP_TITLES[step]}")
            item.setSizeHint(QSize(170, 30))
            nav.addItem(item)
        return nav

    def _add_page(self, page: WizardPage) -> None:
        self.pages[page.step] = page
        self.stack.addWidget(page)
        page.completion_changed.connect(lambda _on, step=page.step: self._on_completion(step))
        if page.panel is not None:
            page.panel.status_changed.connect(lambda _status: self.refresh_steps())

    def _build_buttons(self) -> QHBoxLayout:
        """Back and Next, also on Alt+Left and Alt+Right."""
        self.back_button = QPushButton("‹  Back", self)
        self.back_button.setAccessibleName("Previous step")
        self.back_button.setToolTip("Previous step (Alt+Left)")
        self.back_button.clicked.connect(lambda: self.go_to(self.stack.currentIndex() - 1))
        self.next_button = QPushButton("Next  ›", self)
        self.next_button.setAccessibleName("Next step")
        self.next_button.setToolTip("Next step (Alt+Right); available once this step is done")
        self.next_button.clicked.connect(lambda: self.go_to(self.stack.currentIndex() + 1))
        for keys, button in (("Alt+Left", self.back_button), ("Alt+Right", self.next_button)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda b=button: b.isEnabled() and b.click())
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        return buttons

    # ---------------------------------------------------------------- pages
    # Each page by its step, typed (the step list is the only order the tab knows).
    index_page: IndexPage = _page("index")
    glossary_page: GlossaryPage = _page("glossary")
    download_page: DownloadPage = _page("download")
    prepare_page: PreparePage = _page("prepare")
    mysigns_page: MySignsPage = _page("mysigns")
    finetune_page: FinetunePage = _page("train")
    evaluate_page: EvaluatePage = _page("evaluate")
    use_page: UsePage = _page("use")

    @property
    def current_step(self) -> str:
        return STEPS[self.stack.currentIndex()]

    def go_to(self, index: int | str, *, save: bool = True) -> None:
        """Show a page (by position or step name)."""
        position = STEPS.index(index) if isinstance(index, str) else index
        position = min(max(position, 0), len(STEPS) - 1)
        self.stack.setCurrentIndex(position)
        if self.nav.currentRow() != position:
            self.nav.blockSignals(True)
            self.nav.setCurrentRow(position)
            self.nav.blockSignals(False)
        if self.state.page != position:
            self.state.page = position
            if save:
                self.save_soon()
        self.stack.currentWidget().refresh()
        self.refresh_steps()

    def _on_nav(self, row: int) -> None:
        if row >= 0:
            self.go_to(row)

    def _restore(self) -> None:
        """After the window shows: learn what earlier steps left (index stats, glossary check), re-attach jobs."""
        if self._shut:
            return
        for page in self.pages.values():
            if page is not self.stack.currentWidget():
                page.refresh()
        for step in JOB_STEPS:
            folder = self.state.jobs.get(step)
            if not folder or not (Path(folder) / "job.json").is_file():
                continue
            job = Job(folder)
            try:
                status = job.state().status
            except SignDeskError:
                continue
            panel = self.pages[step].panel
            if panel is not None:
                panel.attach(job, replay=step == "train" or status == RUNNING)
        self.refresh_steps()

    def _on_completion(self, step: str) -> None:
        """An earlier step became (in)complete: later pages' preconditions changed."""
        current = self.current_step
        if STEPS.index(step) < STEPS.index(current):
            self.stack.currentWidget().refresh()
        self.refresh_steps()

    # ---------------------------------------------------------------- WizardHost
    def step_complete(self, step: str) -> bool:
        return self.pages[step].complete

    def refresh_steps(self) -> None:
        style = self.style()
        for i, step in enumerate(STEPS):
            page = self.pages[step]
            status = page.panel.status if page.panel is not None else ""
            if status in (RUNNING, STARTING, STOPPING):
                icon, what = style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "running"
            elif status in (FAILED, LOST):
                icon, what = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical), "failed"
            elif page.complete:
                icon, what = style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton), "done"
            elif status == STOPPED:
                icon, what = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "paused"
            else:
                icon, what = QIcon(), "to do"
            item = self.nav.item(i)
            item.setIcon(icon)
            item.setToolTip(f"{STEP_TITLES[step]}: {what}")
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, what)
        position = self.stack.currentIndex()
        self.back_button.setEnabled(position > 0)
        self.next_button.setEnabled(position < len(STEPS) - 1 and self.pages[STEPS[position]].complete)
        for page in self.pages.values():  # a step changed: every status line follows (they depend on each other)
            page.update_status()

    def running_step(self) -> str | None:
        for step in JOB_STEPS:
            panel = self.pages[step].panel
            if panel is not None and panel.running:
                return step
        return None

    def start_job(self, step: str, argv: list[str], panel: JobPanel,
                  before: Callable[[], object] | None = None) -> bool:
        busy = self.running_step()
        if busy is not None:
            panel.start_refused(f"{STEP_TITLES[busy]} is running: wait for it to end, or stop it first.")
            return False
        panel.set_starting()

        def create() -> Job:
            if step == "train":
                other = running_training_job()
                if other is not None:
                    raise SignDeskError(f"another training job is running ({other.folder.name}); one at a time")
            if before is not None:
                before()
            return Job.create(step, argv).start()

        def started(job: Job) -> None:
            self.state.jobs[step] = str(job.folder)
            self.save_soon()
            panel.attach(job)
            self.job_started.emit(step, job)

        if self.runner is None:
            try:
                started(create())
            except (SignDeskError, OSError) as exc:
                panel.start_refused(str(exc))
            return True
        self.runner.run(f"start-job:{step}", create, started, panel.start_refused)
        return True

    def request_use(self, changes: dict[str, Any]) -> None:
        self.sig_use_adapter_requested.emit(changes)

    def adapter_applied(self, adapter: str, ok: bool, message: str = "") -> None:
        """The window's answer to ``sig_use_adapter_requested``."""
        self.use_page.adapter_applied(adapter, ok, message)

    # ---------------------------------------------------------------- saving
    def save_soon(self) -> None:
        if not self._shut:
            self._save_timer.start()

    def _save_async(self) -> None:
        snapshot, path = self.state.to_json(), self._state_file
        if self.runner is None:
            self._write(path, snapshot)
        else:  # latest wins: a burst of changes is one write
            self.runner.run("training-wizard-state", lambda: self._write(path, snapshot))

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        try:
            atomic_write_json(path, data)
        except OSError as exc:
            log.warning("the training wizard's state was not saved: %s", exc)

    def shutdown(self) -> None:
        """The window closes: stop following jobs (they go on), end quick child processes, save the state."""
        if self._shut:
            return
        self._shut = True
        self._save_timer.stop()
        for page in self.pages.values():
            page.shutdown()
        self._write(self._state_file, self.state.to_json())
