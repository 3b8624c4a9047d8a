"""Step 4: split the downloaded clips into train / validation / test; see the clips per gloss; thin glosses flagged.

The job is ``signdesk data prepare``; its ``dataset.json`` (per-gloss counts, glosses left out and why)
is what this page shows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from signdesk.training.wizard_state import dataset_ready, display_command, prepare_argv, read_json
from signdesk.ui.bar_chart import MAX_CATEGORIES, BarChart
from signdesk.ui.rows_model import RowsModel
from signdesk.ui.training_pages.base import JobPage, WizardHost
from signdesk.ui.training_pages.common import (
    THIN_TRAIN_CLIPS,
    add_folder_row,
    group_box,
    named,
    ok_html,
    rich_status,
    table_view,
    warn_html,
)
from signdesk.ui.training_pages.status_lines import PREPARE_NEEDS, prepare_line, prepare_summary
from signdesk.ui.widgets import spin_box

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


class PreparePage(JobPage):
    """Runs ``signdesk data prepare``: method, seed, and the per-gloss result."""

    step = "prepare"

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.meta: dict[str, Any] | None = None
        self.body.addLayout(self._build_form())
        self._add_job_panel("preparation", 10_000, start_text="&Prepare dataset",
                            command=lambda: display_command(prepare_argv(self.state)))
        self.body.addWidget(self.job_panel)
        self.summary = rich_status(self.inner, "Dataset summary")
        self.body.addWidget(self.summary)
        self.warnings = rich_status(self.inner, "Dataset warnings")
        self.body.addWidget(self.warnings)
        self.body.addWidget(self._build_counts())
        self._load_fields()

    def _build_form(self) -> QFormLayout:
        """Split method, seed, fewest clips per sign and the dataset folder."""
        form = QFormLayout()
        self.method = QComboBox(self.inner)
        for key, text in METHODS:
            self.method.addItem(text, key)
        named(self.method, "Split method")
        self.method.currentIndexChanged.connect(self._on_method)
        form.addRow("Split &method:", self.method)
        self.seed = spin_box(self.inner, 0, 1_000_000, max_width=140, on_change=lambda v: self._set("seed", v))
        named(self.seed, "Seed", "The same seed gives the same split")
        form.addRow("S&eed:", self.seed)
        self.min_per_gloss = spin_box(self.inner, 1, 100, max_width=140,
                                      on_change=lambda v: self._set("min_per_gloss", v))
        named(self.min_per_gloss, "Fewest clips per sign", "Stratified: signs with fewer usable clips are left out")
        form.addRow("Fewest clips &per sign:", self.min_per_gloss)
        self.folder_edit, self.browse_button = add_folder_row(
            form, self.inner, "&Dataset folder:", "Dataset folder",
            "Where the split manifests go (empty: chosen for you)", "Choose the dataset folder")
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.browse_button.clicked.connect(self.browse)
        return form

    def _build_counts(self) -> QGroupBox:
        """The clips per sign, as a chart beside a table."""
        box = group_box(self.inner, "Clips per sign", "Clips per sign")
        layout = QHBoxLayout(box)
        self.chart = BarChart("Clips per sign", "Chart of clips per sign", box)
        layout.addWidget(self.chart, 3)
        side = QVBoxLayout()
        self.table_model = RowsModel(("Sign", "Train", "Val", "Test", "Total"), self)
        self.table = table_view(self.table_model, "Table of clips per sign", box, sortable=True, stretch_column=0)
        side.addWidget(self.table)
        layout.addLayout(side, 2)
        return box

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

    def _set(self, key: str, value: Any) -> bool:
        changed = super()._set(key, value)
        if changed:  # the default dataset folder's name follows the split settings
            self.folder_edit.setPlaceholderText(str(self.state.dataset))
        return changed

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text != self.state.dataset_dir:
            self.state.dataset_dir = text
            self.host.save_soon()
            self.refresh()

    def browse(self) -> None:
        self._browse_folder("Dataset folder", self.state.dataset.parent)

    # ---------------------------------------------------------------- state from disk
    def refresh(self) -> None:
        self._load_fields()
        if not self.job_panel.running:
            self.meta = read_json(self.state.dataset / "dataset.json") if dataset_ready(self.state.dataset) else None
            self._show_meta()
        self._show_done(self.meta is not None)

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
