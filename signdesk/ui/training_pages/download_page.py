"""Step 3: download the glossary's clips: workers and folder, progress with ETA and per-host success,
pause and resume later, and the report of links that failed.

The job is ``signdesk data download``; it is resumable by design (every finished clip is in the
folder's ``manifest.jsonl`` at once), so "Pause" is a clean stop and "Resume" simply runs it again.
The status line and the report's line are computed (``status_lines``) from the followed run, the
folder's ``summary.json`` and the manifest, whenever any of them changes.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from signdesk.jobs.runner import STOPPED
from signdesk.training.wizard_state import display_command, download_argv, read_json
from signdesk.ui.disclosure_button import DisclosureButton
from signdesk.ui.rows_model import RowsModel
from signdesk.ui.training_pages.base import JobPage, WizardHost
from signdesk.ui.training_pages.common import (
    add_folder_row,
    group_box,
    named,
    rich_status,
    status_label,
    table_view,
    warn_html,
)
from signdesk.ui.training_pages.status_lines import (
    DOWNLOAD_NEEDS,
    FAILED_STATUSES,
    STATUS_NOTES,
    DownloadRun,
    download_line,
    download_report_line,
)
from signdesk.ui.widgets import double_spin_box, spin_box

INTRO = (
    "The clips are fetched from the sites listed in the index, a few at a time and politely per site. "
    "Expect many failures: about 40 % of WLASL's links are dead or serve something that is not a video. "
    "<b>Pause</b> any time: clips already downloaded are kept, and <b>Resume</b> continues where it "
    "stopped, even after SignDesk was closed."
)
REPORT_HEADERS = ("Video", "Gloss", "Host", "Status", "Reason")


def read_failures(folder: Path) -> list[tuple[str, str, str, str, str]]:
    """The failed rows of a download folder's manifest (runs on the task thread)."""
    from signdesk.data.manifest import read_download_manifest

    rows = read_download_manifest(folder)
    return sorted(((r.video_id, r.gloss, r.host, r.status, r.reason) for r in rows.values() if r.status != "ok"),
                  key=lambda r: (r[3], r[2], r[0]))


class DownloadPage(JobPage):
    """Runs ``signdesk data download`` and shows its progress, per-host success and failed links."""

    step = "download"
    report_loaded = Signal(int)
    """(count) the report of failed links was (re)read from the manifest."""

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.summary: dict[str, Any] | None = None
        self.failures: list[tuple[str, str, str, str, str]] | None = None  # None: the manifest is not read yet
        self._reset_run()
        self.body.addLayout(self._build_form())
        self._build_more_options()
        self._add_job_panel("download", 20_000, command=lambda: display_command(download_argv(self.state)))
        self.job_panel.set_stop_text("&Pause")
        self.job_panel.job_attached.connect(lambda _job: self._reset_run())
        self.body.addWidget(self.job_panel)
        self.warnings = rich_status(self.inner, "Download warnings")
        self.body.addWidget(self.warnings)
        self.body.addWidget(self._build_hosts())
        self.body.addWidget(self._build_report())
        self._load_fields()

    def _build_form(self) -> QFormLayout:
        """The download folder and the number of workers."""
        form = QFormLayout()
        self.folder_edit, self.browse_button = add_folder_row(
            form, self.inner, "&Folder:", "Download folder",
            "Clips and manifest.jsonl go here; it can be shared by glossaries", "Choose the download folder")
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.browse_button.clicked.connect(self.browse)
        self.workers = spin_box(self.inner, 1, 32, max_width=120, on_change=lambda v: self._set("workers", v))
        named(self.workers, "Workers", "Downloads at once (over all sites)")
        form.addRow("&Workers:", self.workers)
        return form

    def _build_more_options(self) -> None:
        """Politeness per site and retrying dead links, behind "More options"."""
        self.more_box = group_box(self.inner, "More download options")
        more_form = QFormLayout(self.more_box)
        self.per_host = spin_box(self.more_box, 1, 16, max_width=120, on_change=lambda v: self._set("per_host", v))
        named(self.per_host, "Downloads per site", "Downloads at once from one site")
        more_form.addRow("Downloads per &site:", self.per_host)
        self.host_delay = double_spin_box(self.more_box, 0.0, 30.0, 0.25, suffix=" s", max_width=120,
                                          on_change=lambda v: self._set("host_delay", v))
        named(self.host_delay, "Pause between requests to one site")
        more_form.addRow("&Pause per site:", self.host_delay)
        self.retry_failed = QCheckBox("Try &dead and invalid links again", self.more_box)
        named(self.retry_failed, "Try failed links again", "Normally links recorded as dead are not tried again")
        self.retry_failed.toggled.connect(lambda v: self._set("retry_failed", v))
        more_form.addRow(self.retry_failed)
        self.more = DisclosureButton("More &options", self.more_box, self.inner)
        self.body.addWidget(self.more)
        self.body.addWidget(self.more_box)

    def _build_hosts(self) -> QGroupBox:
        """The table of success per site."""
        self.hosts_model = RowsModel(("Site", "Tried", "Usable", "Failed", "Not yet", "Usable %"), self)
        hosts_box = group_box(self.inner, "Success per site", "Success per site")
        hosts_layout = QVBoxLayout(hosts_box)
        self.hosts_view = self._table(self.hosts_model, "Success per site", hosts_box, stretch_column=0)
        self.hosts_view.setMinimumHeight(110)
        self.hosts_view.setMaximumHeight(220)
        hosts_layout.addWidget(self.hosts_view)
        return hosts_box

    def _build_report(self) -> QGroupBox:
        """The links that failed: a summary, a filter by kind, Save report…, and the table."""
        report_box = group_box(self.inner, "Links that failed", "Links that failed")
        report_layout = QVBoxLayout(report_box)
        self.report_summary = status_label(report_box, "Failed links summary")
        report_layout.addWidget(self.report_summary)
        row = QHBoxLayout()
        self.report_filter = QComboBox(report_box)
        self.report_filter.addItem("All failures", "")
        for status in FAILED_STATUSES:
            self.report_filter.addItem(f"{status}: {STATUS_NOTES[status]}", status)
        named(self.report_filter, "Show failures of kind")
        self.report_filter.currentIndexChanged.connect(self._filter_report)
        self.save_report_button = QPushButton("Sa&ve report…", report_box)
        named(self.save_report_button, "Save the report of failed links as CSV")
        self.save_report_button.clicked.connect(self.save_report)
        row.addWidget(self.report_filter, 1)
        row.addWidget(self.save_report_button)
        report_layout.addLayout(row)
        self.report_model = RowsModel(REPORT_HEADERS, self)
        self.report_proxy = QSortFilterProxyModel(self)
        self.report_proxy.setSourceModel(self.report_model)
        self.report_proxy.setFilterKeyColumn(3)
        self.report_view = self._table(self.report_proxy, "Failed links", report_box)
        self.report_view.setMinimumHeight(160)
        report_layout.addWidget(self.report_view)
        return report_box

    def _table(self, model: Any, name: str, parent: QWidget, stretch_column: int | None = None) -> QTableView:
        if isinstance(model, QSortFilterProxyModel):
            model.setSortRole(Qt.ItemDataRole.UserRole)
        return table_view(model, name, parent, sortable=True, stretch_column=stretch_column)

    # ---------------------------------------------------------------- settings
    def _load_fields(self) -> None:
        s = self.state
        self.folder_edit.setText(str(s.videos))
        for widget, value in ((self.workers, s.workers), (self.per_host, s.per_host), (self.host_delay, s.host_delay),
                              (self.retry_failed, s.retry_failed)):
            widget.blockSignals(True)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)
            widget.blockSignals(False)

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text and text != str(self.state.videos):
            self.state.videos_dir = text
            self.host.save_soon()
            self.refresh()

    def browse(self) -> None:
        self._browse_folder("Download folder", self.state.videos)

    # ---------------------------------------------------------------- state from disk
    def refresh(self) -> None:
        self._load_fields()
        if not self.job_panel.running:
            self.summary = read_json(self.state.videos / "summary.json")
            self._show_summary()
            self._load_report()
        self._update_start_text()
        self._update_complete()
        self.update_status()

    def _ready(self) -> bool:
        return self.host.step_complete("index") and self.host.step_complete("glossary")

    def update_status(self) -> None:
        ready = self._ready()
        self.job_panel.set_can_start(ready, "" if ready else DOWNLOAD_NEEDS)
        self.job_panel.set_detail(download_line(ready=ready, job=self.job_panel.status, run=self._run_view(),
                                                summary=self.summary))
        self.report_summary.setText(download_report_line(
            summary=self.summary, failures=self.failures, manifest=(self.state.videos / "manifest.jsonl").is_file()))

    def _update_start_text(self) -> None:
        last = self.job_panel.last_state
        partial = (last is not None and last.status == STOPPED) or bool(self.summary and self.summary.get("not_done"))
        if partial:
            self.job_panel.set_start_text("&Resume download", "Continue where the download stopped")
        elif self.summary:
            self.job_panel.set_start_text("&Download again", "Fetch what is missing; temporary failures are retried")
        else:
            self.job_panel.set_start_text("&Start download")

    def _usable(self) -> int:
        if self.summary:
            return int(self.summary.get("counts", {}).get("ok", 0))
        return self._run_ok

    def _update_complete(self) -> None:
        self.set_complete(not self.job_panel.running and self._usable() > 0)
        self.host.refresh_steps()

    # ---------------------------------------------------------------- the job
    def start(self) -> None:
        if self.host.start_job("download", download_argv(self.state), self.job_panel):
            self.summary = None
            self.set_complete(False)

    def _reset_run(self) -> None:
        self.summary = None  # a (re-)attached run shows its own progress, not the last run's summary
        self._total = 0
        self._done = 0
        self._done0 = 0
        self._t0: float | None = None
        self._t_last: float | None = None
        self._run_ok = 0
        self._run_failed = 0
        self._hosts: dict[str, Counter[str]] = {}
        self._warnings: list[str] = []

    def _run_view(self) -> DownloadRun:
        rate = eta = None
        if self._t0 is not None and self._t_last is not None and self._t_last > self._t0:
            rate = (self._done - self._done0) / (self._t_last - self._t0)
            eta = (self._total - self._done) / rate if rate > 0 else None
        return DownloadRun(total=self._total, done=self._done, ok=self._run_ok, failed=self._run_failed,
                           rate=rate, eta_s=eta)

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "start":
                self._total = int(event.get("total", 0))
                self._done = self._done0 = int(event.get("done", 0))
                self._t0 = self._t_last = float(event.get("time", 0.0))
            elif kind == "progress":
                self._done = int(event.get("done", self._done))
                self._total = int(event.get("total", self._total))
                self._t_last = float(event.get("time", self._t_last or 0.0))
                counts = self._hosts.setdefault(str(event.get("host") or "(none)"), Counter())
                status = str(event.get("status"))
                counts["tried"] += 1
                counts["ok" if status == "ok" else "failed"] += 1
                self._run_ok += status == "ok"
                self._run_failed += status != "ok"
            elif kind == "warning":
                self._warnings.append(str(event.get("message", "")))
            elif kind == "summary":
                self.summary = {k: v for k, v in event.items() if k not in ("event", "time")}
        self._show_progress()

    def _show_progress(self) -> None:
        if self._total:
            fraction = self._done / self._total
            self.job_panel.set_progress(fraction, f"{self._done:,} of {self._total:,} clips ({100 * fraction:.0f} %)")
        self.update_status()
        if self.summary is not None:
            self._show_summary()
        else:
            self.hosts_model.set_rows([
                (host, c["tried"], c["ok"], c["failed"], None, c["ok"] / c["tried"] if c["tried"] else 0.0)
                for host, c in sorted(self._hosts.items(), key=lambda kv: -kv[1]["tried"])])
        self.warnings.setText("<br>".join(warn_html(w) for w in self._warnings[-3:]))

    def _show_summary(self) -> None:
        summary = self.summary
        if not summary:
            self.hosts_model.set_rows([])
            return
        rows = []
        for host, c in (summary.get("hosts") or {}).items():
            failed = sum(int(c.get(s, 0)) for s in FAILED_STATUSES)
            tried = int(c.get("ok", 0)) + failed
            rows.append((host, tried, int(c.get("ok", 0)), failed, int(c.get("not_done", 0)),
                         float(c.get("ok_rate", 0.0))))
        self.hosts_model.set_rows(rows)

    def _on_ended(self, state: Any) -> None:
        # Also after a failure: an offline run or one where every link failed exits 1, with its summary.
        self.summary = self.summary or read_json(self.state.videos / "summary.json")
        self._show_summary()
        self._load_report()
        self._update_start_text()
        self._update_complete()
        self.update_status()

    # ---------------------------------------------------------------- failed links
    def _load_report(self) -> None:
        folder = self.state.videos
        if not (folder / "manifest.jsonl").is_file():
            self._show_report([])
            return
        if self.host.runner is None:
            self._show_report(read_failures(folder))
            return
        self.host.runner.run("download-report", lambda: read_failures(folder), self._show_report,
                             lambda message: self.report_summary.setText(f"Report not read: {message}"))

    def _show_report(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        self.failures = rows
        self.report_model.set_rows(rows)
        self.update_status()
        self.save_report_button.setEnabled(bool(rows))
        self.report_loaded.emit(len(rows))

    def _filter_report(self) -> None:
        status = self.report_filter.currentData() or ""
        self.report_proxy.setFilterFixedString(status)

    def save_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the report of failed links",
                                              str(self.state.videos / "failed-links.csv"), "CSV (*.csv)")
        if not path:
            return
        rows = list(self.failures or [])

        def write() -> str:
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow([h.lower() for h in REPORT_HEADERS])
                writer.writerows(rows)
            return path

        if self.host.runner is not None:
            self.host.runner.run("download-report-save", write,
                                 lambda p: self.report_summary.setText(f"Report saved to {p}."),
                                 lambda message: self.report_summary.setText(f"Report not saved: {message}"))
