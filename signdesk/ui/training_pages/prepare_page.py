"""Step 4: split the downloaded clips into train / validation / test; see the clips per gloss; thin glosses flagged.

The job is ``signdesk data prepare``; its ``dataset.json`` (per-gloss counts, glosses left out and why)
is what this page shows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from signdesk.training.wizard_state import dataset_ready, display_command, prepare_argv, read_json
from signdesk.ui.bar_chart import MAX_CATEGORIES, BarChart
from signdesk.ui.job_panel import JobPanel
from signdesk.ui.rows_model import RowsModel
from signdesk.ui.training_pages.base import WizardHost, WizardPage
from signdesk.ui.training_pages.common import (
    THIN_TRAIN_CLIPS,
    add_folder_row,
    named,
    ok_html,
    status_label,
    table_view,
    warn_html,
)
from signdesk.ui.training_pages.status_lines import PREPARE_NEEDS, prepare_line, prepare_summary

INTRO = (
    "The usable clips are split into <b>training</b> clips (the adapter learns from them), <b>validation</b> "
    "clips (checked after every pass, to keep the best checkpoint) and <b>test</b> clips (kept aside for the "
    "final, honest score). The official split matches the WLASL papers; a stratified split gives every sign "
    "its share; a signer-independent split tests on people the adapter never saw."
)
METHODS = (
    ("official", "Official WLASL split (comparable with papers)"),
    ("stratified", "Stratified by sign (seeded)"),
    ("signer", "Signer-independent (seeded; no signer in two splits)"),
)


class PreparePage(WizardPage):
    """Runs ``signdesk data prepare``: method, seed, and the per-gloss result."""

    step = "prepare"

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.meta: dict[str, Any] | None = None
        form = QFormLayout()
        self.method = QComboBox(self.inner)
        for key, text in METHODS:
            self.method.addItem(text, key)
        named(self.method, "Split method")
        self.method.currentIndexChanged.connect(self._on_method)
        form.addRow("Split &method:", self.method)
        self.seed = QSpinBox(self.inner)
        self.seed.setRange(0, 1_000_000)
        named(self.seed, "Seed", "The same seed gives the same split")
        self.seed.setMaximumWidth(140)
        self.seed.valueChanged.connect(lambda v: self._set("seed", v))
        form.addRow("S&eed:", self.seed)
        self.min_per_gloss = QSpinBox(self.inner)
        self.min_per_gloss.setRange(1, 100)
        named(self.min_per_gloss, "Fewest clips per sign", "Stratified: signs with fewer usable clips are left out")
        self.min_per_gloss.setMaximumWidth(140)
        self.min_per_gloss.valueChanged.connect(lambda v: self._set("min_per_gloss", v))
        form.addRow("Fewest clips &per sign:", self.min_per_gloss)
        self.folder_edit, self.browse_button = add_folder_row(
            form, self.inner, "&Dataset folder:", "Dataset folder",
            "Where the split manifests go (empty: chosen for you)", "Choose the dataset folder")
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.browse_button.clicked.connect(self.browse)
        self.body.addLayout(form)

        self.job_panel = JobPanel(host.runner, self.inner, noun="preparation", stop_grace_ms=10_000)
        self.job_panel.set_start_text("&Prepare dataset")
        self.job_panel.set_command_provider(lambda: display_command(prepare_argv(self.state)))
        self.job_panel.sig_start_requested.connect(self.start)
        self.job_panel.sig_retry_requested.connect(self.start)
        self.job_panel.events_received.connect(self._on_events)
        self.job_panel.job_ended.connect(self._on_ended)
        self.body.addWidget(self.job_panel)

        self.summary = status_label(self.inner, "Dataset summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.summary)
        self.warnings = status_label(self.inner, "Dataset warnings")
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.warnings)
        box = QGroupBox("Clips per sign", self.inner)
        box.setAccessibleName("Clips per sign")
        layout = QHBoxLayout(box)
        self.chart = BarChart("Clips per sign", "Chart of clips per sign", box)
        layout.addWidget(self.chart, 3)
        side = QVBoxLayout()
        self.table_model = RowsModel(("Sign", "Train", "Val", "Test", "Total"), self)
        self.table = table_view(self.table_model, "Table of clips per sign", box, sortable=True, stretch_column=0)
        side.addWidget(self.table)
        layout.addLayout(side, 2)
        self.body.addWidget(box)
        self._load_fields()

    @property
    def panel(self) -> JobPanel:
        return self.job_panel

    # ---------------------------------------------------------------- settings
    def _load_fields(self) -> None:
        s = self.state
        for widget, value in ((self.seed, s.seed), (self.min_per_gloss, s.min_per_gloss)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.method.blockSignals(True)
        self.method.setCurrentIndex(max(self.method.findData(s.split), 0))
        self.method.blockSignals(False)
        self.folder_edit.setText(s.dataset_dir)
        self.folder_edit.setPlaceholderText(str(s.dataset))
        self._enable_fields()

    def _enable_fields(self) -> None:
        self.seed.setEnabled(self.state.split != "official")
        self.min_per_gloss.setEnabled(self.state.split == "stratified")

    def _on_method(self) -> None:
        self._set("split", self.method.currentData())
        self._enable_fields()
        self.folder_edit.setPlaceholderText(str(self.state.dataset))
        self.refresh()

    def _set(self, key: str, value: Any) -> None:
        if getattr(self.state, key) != value:
            setattr(self.state, key, value)
            self.host.save_soon()
            self.folder_edit.setPlaceholderText(str(self.state.dataset))

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text != self.state.dataset_dir:
            self.state.dataset_dir = text
            self.host.save_soon()
            self.refresh()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", str(self.state.dataset.parent))
        if folder:
            self.folder_edit.setText(folder)
            self._on_folder_edited()

    # ---------------------------------------------------------------- state from disk
    def refresh(self) -> None:
        self._load_fields()
        if not self.job_panel.running:
            self.meta = read_json(self.state.dataset / "dataset.json") if dataset_ready(self.state.dataset) else None
            self._show_meta()
        self.set_complete(not self.job_panel.running and self.meta is not None)
        self.host.refresh_steps()
        self.update_status()

    def update_status(self) -> None:
        ready = self.host.step_complete("download")
        self.job_panel.set_can_start(ready, "" if ready else PREPARE_NEEDS)
        self.job_panel.set_detail(prepare_line(download_done=ready, job=self.job_panel.status,
                                               prepared=self.meta is not None, dataset=str(self.state.dataset)))
        text = prepare_summary(download_done=ready, prepared=self.meta is not None)
        if text is not None:
            self.summary.setText(text)

    def start(self) -> None:
        if self.host.start_job("prepare", prepare_argv(self.state), self.job_panel):
            self.set_complete(False)

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "start":
                self.job_panel.set_progress(None, f"Looking for the clips of {event.get('glosses', 0):,} signs…")
            elif kind == "phase":
                self.job_panel.set_progress(None, f"Checking {event.get('count', 0):,} clips…")

    def _on_ended(self, state: Any) -> None:
        self.refresh()  # reads the new dataset.json; the status line follows from it

    def _show_meta(self) -> None:
        meta = self.meta
        if not meta:
            self.summary.setText(prepare_summary(download_done=self.host.step_complete("download"), prepared=False)
                                 or "")
            self.warnings.setText("")
            self.chart.set_data([], [])
            self.table_model.set_rows([])
            return
        counts = meta.get("counts", {})
        per_gloss: dict[str, dict[str, int]] = meta.get("per_gloss") or {}
        dropped: dict[str, str] = meta.get("dropped_glosses") or {}
        split = (meta.get("split") or {}).get("method", "?")
        self.summary.setText(ok_html(
            f"{int(counts.get('clips', 0)):,} clips of {int(counts.get('glosses', 0)):,} signs "
            f"({split} split): train {int(counts.get('train', 0)):,} · validation {int(counts.get('val', 0)):,} · "
            f"test {int(counts.get('test', 0)):,}"))
        rows = [(g, c.get("train", 0), c.get("val", 0), c.get("test", 0), sum(c.values()))
                for g, c in per_gloss.items()]
        self.table_model.set_rows(rows)
        thin = sorted((r for r in rows if r[1] < THIN_TRAIN_CLIPS), key=lambda r: (r[1], r[0]))
        no_test = [r[0] for r in rows if r[3] == 0]
        notes = []
        if thin:
            names = ", ".join(f"{g} ({t})" for g, t, *_ in thin[:12]) + (" …" if len(thin) > 12 else "")
            notes.append(warn_html(f"{len(thin)} of {len(rows)} signs have fewer than {THIN_TRAIN_CLIPS} training "
                                   f"clips: {names}. Expect them to be recognised poorly; a smaller glossary or "
                                   "downloading again later may help."))
        if no_test:
            notes.append(warn_html(f"{len(no_test)} signs have no test clip, so the test score says nothing "
                                   f"about them: {', '.join(no_test[:10])}{' …' if len(no_test) > 10 else ''}."))
        if dropped:
            items = list(dropped.items())
            notes.append(warn_html(f"{len(items)} signs were left out: " + ", ".join(
                f"{g} ({why})" for g, why in items[:8]) + (" …" if len(items) > 8 else "")))
        self.warnings.setText("<br>".join(notes))
        shown = sorted(rows, key=lambda r: (r[4], r[1], r[0]))[:MAX_CATEGORIES]
        title = "Clips per sign" if len(rows) <= MAX_CATEGORIES else \
            f"Clips per sign: the {MAX_CATEGORIES} signs with the fewest, of {len(rows):,}"
        self.chart.set_title(title)
        self.chart.set_data([r[0] for r in shown], [("train", [r[1] for r in shown]), ("validation",
                            [r[2] for r in shown]), ("test", [r[3] for r in shown])], stacked=True, value_title="clips")

    def shutdown(self) -> None:
        self.job_panel.shutdown()
