"""Step 7: score the adapter on held-out clips: metrics table, accuracy per gloss, confusions, base vs adapter.

The job is ``signdesk evaluate``; it writes ``metrics.json`` (shown here), ``per_gloss.csv``,
``predictions.csv`` and ``chart.png`` into the report folder.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from signdesk.training.wizard_state import adapter_ready, dataset_ready, display_command, evaluate_argv, read_json
from signdesk.ui.bar_chart import MAX_CATEGORIES, BarChart
from signdesk.ui.rows_model import RowsModel
from signdesk.ui.training_pages.base import JobPage, WizardHost
from signdesk.ui.training_pages.common import group_box, named, pct, status_label, table_view
from signdesk.ui.training_pages.status_lines import EVALUATE_NEEDS, evaluate_line

INTRO = (
    "Every clip of the test split, which training never saw, is scored over the glossary, once with the base "
    "model and once with your adapter, exactly as the Live tab does it. <b>Top-1</b> is how often the right "
    "sign comes first; <b>top-5</b>, how often it is among the first five; the <i>class</i> numbers weigh every "
    "sign the same."
)
METRICS = (("top1", "Top-1"), ("top5", "Top-5"), ("class_top1", "Class top-1"), ("class_top5", "Class top-5"))


class EvaluatePage(JobPage):
    """Runs ``signdesk evaluate`` and shows its report."""

    step = "evaluate"
    report_shown = Signal(dict)
    """(report) a metrics.json report is shown."""

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self._ready = False  # an adapter and its dataset are on disk (read by refresh)
        self.report: dict[str, Any] | None = None
        self.body.addLayout(self._build_form())
        self._add_job_panel("evaluation", 20_000, start_text="&Evaluate", command=self._preview)
        self.open_button = QPushButton("Open report &folder", self.job_panel)
        named(self.open_button, "Open the report folder", "metrics.json, per_gloss.csv, predictions.csv, chart.png")
        self.open_button.clicked.connect(self.open_folder)
        self.job_panel.add_button(self.open_button)
        self.body.addWidget(self.job_panel)
        self.body.addLayout(self._build_results(), 1)
        self.notes = status_label(self.inner, "Evaluation notes")
        self.body.addWidget(self.notes)

    def _build_form(self) -> QFormLayout:
        """Which clips to score, and whether to score the base model too."""
        form = QFormLayout()
        self.split = QComboBox(self.inner)
        self.split.addItem("test: held out (the honest score)", "test")
        self.split.addItem("validation: used to pick the best checkpoint", "val")
        named(self.split, "Clips to score")
        self.split.currentIndexChanged.connect(self._on_split)
        form.addRow("&Clips:", self.split)
        self.compare = QCheckBox("Compare with the &base model (takes twice as long)", self.inner)
        named(self.compare, "Compare with the base model")
        self.compare.toggled.connect(self._on_compare)
        form.addRow(self.compare)
        return form

    def _build_results(self) -> QHBoxLayout:
        """The metrics table and the most confused signs beside the chart of top-1 per sign."""
        results = QHBoxLayout()
        left = QVBoxLayout()
        self.metrics_model = RowsModel(("Metric", "Base model", "Adapter", "Change"), self)
        self.metrics_view = self._table(self.metrics_model, "Metrics")
        self.metrics_view.setMaximumHeight(170)
        left.addWidget(self.metrics_view)
        self.literature = status_label(self.inner, "Comparison with published results")
        left.addWidget(self.literature)
        confusions = group_box(self.inner, "Most confused signs", "Most confused signs (adapter)")
        c_layout = QVBoxLayout(confusions)
        self.confusions_model = RowsModel(("Sign", "Taken for", "Clips"), self)
        self.confusions_view = self._table(self.confusions_model, "Most confused signs")
        c_layout.addWidget(self.confusions_view)
        left.addWidget(confusions, 1)
        results.addLayout(left, 2)
        self.chart = BarChart("Top-1 per sign", "Chart of top-1 accuracy per sign", self.inner)
        results.addWidget(self.chart, 3)
        return results

    def _table(self, model: RowsModel, name: str) -> QTableView:
        return table_view(model, name, self.inner, stretch=True)

    # ---------------------------------------------------------------- settings
    def _on_split(self) -> None:
        if self.split.currentData() != self.state.eval_split:
            self.state.eval_split = self.split.currentData()
            self.host.save_soon()
            self.refresh()

    def _on_compare(self, on: bool) -> None:
        if on != self.state.compare_base:
            self.state.compare_base = on
            self.host.save_soon()

    def _preview(self) -> str:
        try:
            return display_command(evaluate_argv(self.state))
        except ValueError as exc:
            return f"({exc})"

    # ---------------------------------------------------------------- state from disk
    def refresh(self) -> None:
        for widget, setter in ((self.split, lambda: self.split.setCurrentIndex(
                max(self.split.findData(self.state.eval_split), 0))),
                               (self.compare, lambda: self.compare.setChecked(self.state.compare_base))):
            widget.blockSignals(True)
            setter()
            widget.blockSignals(False)
        self._ready = adapter_ready(self.state.adapter) and dataset_ready(self.state.training_dataset)
        out = self.state.eval_dir()
        if not self.job_panel.running:
            self.report = read_json(out / "metrics.json") if out is not None else None
            self._show_report()
        self.open_button.setEnabled(out is not None and out.is_dir())
        self._show_done(self.report is not None)

    def update_status(self) -> None:
        ready = self._ready  # what refresh last read from the disk
        self.job_panel.set_can_start(ready, "" if ready else EVALUATE_NEEDS)
        self.job_panel.set_detail(evaluate_line(ready=ready, job=self.job_panel.status,
                                                report=str(self.state.eval_dir() or "")))

    def start(self) -> None:
        try:
            argv = evaluate_argv(self.state)
        except ValueError as exc:
            self.job_panel.start_refused(str(exc))
            return
        if self.host.start_job("evaluate", argv, self.job_panel):
            self.set_complete(False)

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "start":
                self.job_panel.set_progress(None, "Loading the model…")
            elif kind == "progress":
                done, total = int(event.get("done", 0)), int(event.get("total", 0))
                model = event.get("model", "")
                runs = 2 if self.state.compare_base else 1
                before = 1 if (model == "adapter" and runs == 2) else 0
                fraction = (before + done / max(total, 1)) / runs
                self.job_panel.set_progress(fraction, f"{model}: clip {done:,} of {total:,}")

    def _show_report(self) -> None:
        report = self.report
        if not report:
            self.metrics_model.set_rows([])
            self.confusions_model.set_rows([])
            self.chart.set_data([], [])
            self.literature.setText("")
            self.notes.setText("")
            return
        results = report.get("results") or {}
        base, adapter = results.get("base"), results.get("adapter")
        rows = []
        # the overall metrics, then the parts reported apart where the report has them: my signs on their
        # held-out takes (training.mysigns_eval), direction twins against the rest (training.twins)
        parts = [(None, key, label) for key, label in METRICS] + [
            ("my_signs", "top1", "My signs top-1 (held-out takes)"),
            ("direction_twins", "twin_top1", "Direction twins top-1"),
            ("direction_twins", "other_top1", "Other signs top-1"),
        ]
        for part, key, label in parts:
            b, a = ((r or {}).get(part) or {} if part else (r or {}) for r in (base, adapter))
            if part and not (b or a):
                continue
            b, a = b.get(key), a.get(key)
            change = f"{100 * (a - b):+.1f} points" if a is not None and b is not None else ""
            rows.append((label, pct(b), pct(a), change))
        clips = (adapter or base or {}).get("clips", 0)
        rows.append(("Clips scored", f"{base['clips']:,}" if base else "—", f"{adapter['clips']:,}" if adapter else "—",
                     ""))
        self.metrics_model.set_rows(rows)
        last = adapter or base or {}
        self.confusions_model.set_rows([(c["true"], c["predicted"], int(c["count"])) for c in last.get("confused", [])])
        lit = report.get("literature")
        if lit:
            refs = "; ".join(f"{name} {v['top1']:.1f} %" for name, v in lit.get("published", {}).items())
            self.literature.setText(f"{str(lit.get('subset', '')).upper()} on the official split: comparable with "
                                    f"published top-1 results ({refs}).")
        else:
            self.literature.setText(f"{clips:,} {report.get('split', 'test')} clips of "
                                    f"{report.get('glossary_size', '?')} signs, "
                                    f"{report.get('frames', '?')} frames each.")
        self.notes.setText("\n".join(f"Note: {n}" for n in report.get("notes", [])))
        self._show_chart(base, adapter)
        self.report_shown.emit(report)

    def _show_chart(self, base: dict[str, Any] | None, adapter: dict[str, Any] | None) -> None:
        """Top-1 per sign, base model and adapter side by side; many signs: the worst and the best."""
        per_adapter = {g["gloss"]: g["top1"] for g in (adapter or {}).get("per_gloss", [])}
        per_base = {g["gloss"]: g["top1"] for g in (base or {}).get("per_gloss", [])}
        ranked = sorted((per_adapter or per_base).items(), key=lambda kv: (kv[1], kv[0]))
        if len(ranked) > MAX_CATEGORIES:
            half = MAX_CATEGORIES // 2
            ranked = ranked[:half] + ranked[-half:]
            self.chart.set_title(f"Top-1 per sign: the {half} worst and {half} best")
        else:
            self.chart.set_title("Top-1 per sign")
        names = [g for g, _ in ranked]
        sets = []
        if per_base:
            sets.append(("base model", [100 * per_base.get(g, 0.0) for g in names]))
        if per_adapter:
            sets.append(("adapter", [100 * per_adapter.get(g, 0.0) for g in names]))
        self.chart.set_data(names, sets, maximum=100, value_title="top-1 %")

    def open_folder(self) -> None:
        out = self.state.eval_dir()
        if out is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(out)))

