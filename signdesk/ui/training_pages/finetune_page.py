"""Step 6: fine-tune a LoRA adapter: a preset or advanced settings, the device, "show command", a live
chart of loss and validation accuracy, clips/s and time left, stop and resume.

The settings are written to a config file and the job is ``signdesk train --config FILE`` (resumed
runs: ``--resume``, which keeps the run's saved settings), as LLaMA-Factory's web UI does it.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from signdesk import paths
from signdesk.errors import SignDeskError
from signdesk.jobs.runner import FAILED, FINISHED, LOST, STOPPED
from signdesk.training.wizard_state import (
    DEVICES,
    PRESET_NOTES,
    PRESETS,
    TrainSettings,
    adapter_has_run,
    adapter_ready,
    adapter_resumable,
    config_file_for,
    dataset_ready,
    display_command,
    my_signs_argv,
    my_signs_summary,
    read_json,
    suggest_adapter_dir,
    train_argv,
    train_history,
    write_train_config,
    write_training_set,
)
from signdesk.ui.disclosure_button import DisclosureButton
from signdesk.ui.training_chart import TrainingChart
from signdesk.ui.training_pages.base import JobPage, WizardHost
from signdesk.ui.training_pages.common import duration, group_box, named, pct, rich_status, warn_html
from signdesk.ui.training_pages.status_lines import TRAIN_NEEDS, finetune_line, train_note
from signdesk.ui.widgets import double_spin_box, spin_box

INTRO = (
    "A LoRA adapter is a small set of extra weights (a few MB) trained on top of the base model, which itself "
    "stays unchanged. Start with a preset; the advanced settings are there when you need them. Training "
    "runs in the background: you can keep using the Live tab, and even close SignDesk; it picks the run up "
    "again when it opens. <b>Stop</b> saves a checkpoint and a usable adapter; <b>Resume</b> goes on from it."
)
#: What to train on (WizardState.train_on), as the page names it.
TRAIN_ON = (("dataset", "The prepared dataset"), ("mine", "My signs"), ("mixed", "My signs + the prepared dataset"))
MY_SIGNS_NEEDED = ("Record takes on the My signs page first: at least 4 takes of a word (one in five is held out "
                   "for validation, one in five for the test).")
STAT_NAMES = (("step", "Step"), ("epoch", "Epoch"), ("loss", "Loss"), ("lr", "Learning rate"),
              ("rate", "Clips/s"), ("eta", "Time left"), ("best", "Best validation top-1"))


class FinetunePage(JobPage):
    """Runs ``signdesk train`` and charts its events."""

    step = "train"

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self._filling = False
        self.best_top1: float | None = None
        self._total_steps = 0
        self._dataset_ok = False  # a prepared dataset is on disk (read by refresh)
        self._note = ""  # what the followed job last said for the status line
        self._note_job: Any = None  # ... and which job said it: a newer job never shows an older note
        self.dataset_label = rich_status(self.inner, "Training data")
        self.body.addWidget(self.dataset_label)
        top = QHBoxLayout()
        top.addWidget(self._build_presets(), 1)
        top.addWidget(self._build_where(), 1)
        self.body.addLayout(top)
        self._build_advanced()
        self._build_job_panel()
        self.body.addLayout(self._build_stats())
        self.chart = TrainingChart(self.inner)
        self.chart.setMinimumHeight(270)
        self.body.addWidget(self.chart, 1)
        self._fill_fields()

    def _build_presets(self) -> QGroupBox:
        """A radio button per preset, and Custom."""
        presets = group_box(self.inner, "Training preset", "Preset")
        preset_layout = QVBoxLayout(presets)
        self.preset_group = QButtonGroup(self)
        self.preset_buttons: dict[str, QRadioButton] = {}
        for key in PRESETS:
            button = QRadioButton(f"&{key.capitalize()}", presets)
            named(button, f"{key.capitalize()} preset", PRESET_NOTES[key])
            self.preset_group.addButton(button)
            self.preset_buttons[key] = button
            preset_layout.addWidget(button)
            button.toggled.connect(lambda on, k=key: on and self._on_preset(k))
        self.custom_button = QRadioButton("C&ustom (advanced settings)", presets)
        named(self.custom_button, "Custom settings", "Your own advanced settings")
        self.preset_group.addButton(self.custom_button)
        self.custom_button.toggled.connect(lambda on: on and self._on_custom())
        preset_layout.addWidget(self.custom_button)
        self.preset_note = QLabel(presets)
        self.preset_note.setWordWrap(True)
        self.preset_note.setAccessibleName("Preset description")
        preset_layout.addWidget(self.preset_note)
        return presets

    def _build_where(self) -> QGroupBox:
        """The device, 4-bit loading, and the adapter's name and folder."""
        where = group_box(self.inner, "Where to train", "Where")
        where_form = QFormLayout(where)
        self.train_on = QComboBox(where)
        for key, text in TRAIN_ON:
            self.train_on.addItem(text, key)
        named(self.train_on, "Train on", "The prepared dataset, your own signs (My signs), or both: your takes "
                                         "join the dataset's glossary, repeated so that a few takes count")
        self.train_on.currentIndexChanged.connect(self._on_train_on)
        where_form.addRow("&What to train on:", self.train_on)
        self.device = QComboBox(where)
        self.device.addItems(list(DEVICES))
        named(self.device, "Training device", "auto: a CUDA or Apple GPU when there is one, else the CPU (slow)")
        self.device.currentTextChanged.connect(lambda v: self._set_state("device", v))
        where_form.addRow("De&vice:", self.device)
        self.quantize = QCheckBox("&4-bit base model (QLoRA; CUDA only, less memory)", where)
        named(self.quantize, "Four-bit QLoRA")
        self.quantize.toggled.connect(lambda on: self._set_state("quantize", "4bit" if on else "none"))
        where_form.addRow(self.quantize)
        self.name_edit = QLineEdit(where)
        named(self.name_edit, "Adapter name", "The adapter's folder name under SignDesk's adapters folder")
        self.name_edit.editingFinished.connect(self._on_name_edited)
        where_form.addRow("Adapter &name:", self.name_edit)
        self.folder_label = QLabel(where)
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setAccessibleName("Adapter folder")
        where_form.addRow("Folder:", self.folder_label)
        return where

    def _build_advanced(self) -> None:
        """The LoRA and optimiser settings, three to a row, behind "Advanced LoRA settings"."""
        self.advanced_form = group_box(self.inner, "Advanced LoRA settings")
        grid = QGridLayout(self.advanced_form)
        self.rank = self._spin("LoRA rank", "Capacity of the adapter: more learns more, and needs more data", 1, 256)
        self.alpha = self._spin("LoRA alpha", "Scale of the adapter's updates (often twice the rank)", 1, 512)
        self.dropout = self._dspin("LoRA dropout", "Regularisation of the adapter", 0.0, 0.9, 0.05, 2)
        self.targets = QComboBox(self.advanced_form)
        self.targets.addItem("attention and MLP", "attention+mlp")
        self.targets.addItem("attention only", "attention")
        named(self.targets, "Adapted layers", "Which layers of the language model get LoRA weights")
        self.targets.currentIndexChanged.connect(self._on_advanced)
        self.lr = self._dspin("Learning rate", "Step size of the optimiser", 1e-6, 0.01, 1e-5, 6)
        self.epochs = self._dspin("Epochs", "Passes over the training clips", 0.1, 100.0, 0.5, 1)
        self.max_steps = self._spin("Most steps", "Stop after this many optimiser steps (0: by epochs)", 0, 1_000_000)
        self.max_steps.setSpecialValueText("by epochs")
        self.batch = self._spin("Batch size", "Clips per forward pass", 1, 256)
        self.accum = self._spin("Gradient accumulation", "Batches per optimiser step", 1, 256)
        self.patience = self._spin("Early stopping", "Evaluations without improvement before stopping (0: never)",
                                   0, 50)
        self.patience.setSpecialValueText("never")
        self.frames = self._spin("Frames per clip", "Frames sampled from each clip; live use samples the same", 1, 64)
        cells = (("&Rank:", self.rank), ("&Alpha:", self.alpha), ("&Dropout:", self.dropout),
                 ("&Layers:", self.targets), ("Learning ra&te:", self.lr), ("&Epochs:", self.epochs),
                 ("Most ste&ps:", self.max_steps), ("&Batch size:", self.batch), ("Accum&ulation:", self.accum),
                 ("Early st&opping:", self.patience), ("&Frames per clip:", self.frames))
        for i, (text, widget) in enumerate(cells):
            label = QLabel(text, self.advanced_form)
            label.setBuddy(widget)
            grid.addWidget(label, i // 3, (i % 3) * 2, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(widget, i // 3, (i % 3) * 2 + 1)
        self.advanced = DisclosureButton("&Advanced LoRA settings", self.advanced_form, self.inner)
        self.body.addWidget(self.advanced)
        self.body.addWidget(self.advanced_form)

    def _build_job_panel(self) -> None:
        """Start, Resume, Stop and the log; a resumable run is retried by resuming it."""
        self._add_job_panel("training", 120_000, command=self.command_preview)
        self.job_panel.set_start_text("&Start training", "Train a new adapter with these settings")
        self.resume_button = QPushButton("Res&ume training", self.job_panel)
        named(self.resume_button, "Resume training", "Go on from the last checkpoint of the stopped run")
        self.resume_button.clicked.connect(self.resume)
        self.job_panel.add_button(self.resume_button)
        self.job_panel.job_attached.connect(self._on_attached)
        self.job_panel.status_changed.connect(lambda _s: self._update_resume())
        self.body.addWidget(self.job_panel)

    def _build_stats(self) -> QGridLayout:
        """Captions over bold values: step, epoch, loss, learning rate, clips/s, time left, best top-1."""
        stats = QGridLayout()
        self.stats: dict[str, QLabel] = {}
        for i, (key, text) in enumerate(STAT_NAMES):
            caption = QLabel(text, self.inner)
            caption.setStyleSheet("color: #555;")
            value = QLabel("—", self.inner)
            value.setAccessibleName(text)
            font = value.font()
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 1.15)
            value.setFont(font)
            stats.addWidget(caption, 0, i)
            stats.addWidget(value, 1, i)
            self.stats[key] = value
        return stats

    def _spin(self, name: str, tip: str, low: int, high: int) -> QSpinBox:
        spin = spin_box(self.advanced_form, low, high, on_change=lambda _v: self._on_advanced())
        named(spin, name, tip)
        return spin

    def _dspin(self, name: str, tip: str, low: float, high: float, step: float, decimals: int) -> QDoubleSpinBox:
        spin = double_spin_box(self.advanced_form, low, high, step, decimals=decimals,
                               on_change=lambda _v: self._on_advanced())
        named(spin, name, tip)
        return spin

    # ---------------------------------------------------------------- settings <-> widgets
    def _fill_fields(self) -> None:
        s = self.state
        t = s.train
        self._filling = True
        try:
            for widget, value in ((self.rank, t.rank), (self.alpha, t.alpha), (self.dropout, t.dropout),
                                  (self.lr, t.learning_rate), (self.epochs, t.epochs), (self.max_steps, t.max_steps),
                                  (self.batch, t.batch_size), (self.accum, t.grad_accum),
                                  (self.patience, t.early_stopping), (self.frames, t.frames)):
                widget.setValue(value)
            self.targets.setCurrentIndex(max(self.targets.findData(t.targets), 0))
            (self.preset_buttons.get(s.preset) or self.custom_button).setChecked(True)
            self.preset_note.setText(PRESET_NOTES.get(s.preset, "Your own settings (see the advanced settings)."))
            self.device.setCurrentText(s.device)
            self.train_on.setCurrentIndex(max(self.train_on.findData(s.train_on), 0))
            self.quantize.setChecked(s.quantize == "4bit")
            adapter = s.adapter
            self.name_edit.setText(adapter.name if adapter else "")
            self.folder_label.setText(str(adapter) if adapter else "")
        finally:
            self._filling = False

    def _widgets_settings(self) -> TrainSettings:
        return TrainSettings(epochs=self.epochs.value(), max_steps=self.max_steps.value(),
                             learning_rate=self.lr.value(),
                             batch_size=self.batch.value(), grad_accum=self.accum.value(), rank=self.rank.value(),
                             alpha=self.alpha.value(), dropout=round(self.dropout.value(), 4),
                             targets=self.targets.currentData(), early_stopping=self.patience.value(),
                             frames=self.frames.value())

    def _on_preset(self, key: str) -> None:
        if self._filling:
            return
        self.state.preset = key
        self.state.train = replace(PRESETS[key], frames=self.state.train.frames)
        self._fill_fields()
        self.host.save_soon()

    def _on_custom(self) -> None:
        if self._filling:
            return
        self.state.preset = "custom"
        self.preset_note.setText("Your own settings: change them below.")
        self.advanced.setChecked(True)
        self.host.save_soon()

    def _on_advanced(self) -> None:
        if self._filling:
            return
        settings = self._widgets_settings()
        self.state.train = settings
        match = [k for k, p in PRESETS.items() if replace(p, frames=settings.frames) == settings]
        self.state.preset = match[0] if match else "custom"
        self._filling = True
        (self.preset_buttons.get(self.state.preset) or self.custom_button).setChecked(True)
        self._filling = False
        self.preset_note.setText(PRESET_NOTES.get(self.state.preset, "Your own settings."))
        self.host.save_soon()

    def _on_train_on(self, _index: int) -> None:
        if not self._filling and self._set("train_on", self.train_on.currentData()):
            self.refresh()

    def _set_state(self, key: str, value: Any) -> None:
        if not self._filling:  # filling the fields from the state is not a change
            self._set(key, value)

    def _on_name_edited(self) -> None:
        name = self.name_edit.text().strip()
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            self._fill_fields()
            return
        folder = paths.adapters_dir() / name
        if str(folder) != self.state.adapter_dir:
            self.state.adapter_dir = str(folder)
            self.host.save_soon()
            self.refresh()

    # ---------------------------------------------------------------- state from disk
    def refresh(self) -> None:
        self._fill_fields()
        on = self.state.train_on
        meta = read_json(self.state.dataset / "dataset.json") if dataset_ready(self.state.dataset) else None
        mine = my_signs_summary(self.state) if on != "dataset" else None
        mine_ok = mine is not None and mine["train"] > 0 and mine["val"] > 0
        model = model_name(str(self.host.settings["model.id"]))
        if on == "dataset" and meta:
            c = meta.get("counts", {})
            self.dataset_label.setText(
                f"Training on <b>{self.state.dataset.name}</b>: {int(c.get('train', 0)):,} training and "
                f"{int(c.get('val', 0)):,} validation clips of {int(c.get('glosses', 0)):,} signs, with "
                f"<b>{model}</b>.")
        elif on != "dataset" and mine_ok and (on == "mine" or meta):
            mixed = (f", mixed with <b>{self.state.dataset.name}</b> ({int(meta['counts'].get('train', 0)):,} "
                     "training clips; your takes are repeated so that they count)") if on == "mixed" else ""
            self.dataset_label.setText(
                f"Training on <b>my signs</b>: {mine['train']} training and {mine['val']} validation takes of "
                f"{mine['glosses']} word{'s' if mine['glosses'] != 1 else ''}{mixed}, with <b>{model}</b>.")
        else:
            self.dataset_label.setText(warn_html(MY_SIGNS_NEEDED if on != "dataset" and not mine_ok else TRAIN_NEEDS))
        self._dataset_ok = (meta is not None) if on == "dataset" else (mine_ok and (on == "mine" or meta is not None))
        self._update_resume()
        self._show_done(adapter_ready(self.state.adapter))

    def update_status(self) -> None:
        ok = self._dataset_ok
        self.job_panel.set_can_start(ok, "" if ok else TRAIN_NEEDS)
        job = self.job_panel.job
        note = self._note if job is not None and self._note_job == str(job.folder) else ""
        self.job_panel.set_detail(finetune_line(dataset_ok=ok, job=self.job_panel.status, note=note))

    def _update_resume(self) -> None:
        last = self.job_panel.last_state
        stopped_run = last is None or last.status in (STOPPED, FAILED, LOST)
        self.resume_button.setEnabled(not self.job_panel.running and stopped_run
                                      and adapter_resumable(self.state.adapter))

    # ---------------------------------------------------------------- jobs
    def _model(self) -> tuple[str, str]:
        return str(self.host.settings["model.id"]), str(self.host.settings["model.revision"] or "main")

    def _fresh_adapter(self) -> None:
        """A new run needs an empty folder: keep the chosen one if it is empty, else take the next free name."""
        adapter = self.state.adapter
        if adapter is None:
            self.state.adapter_dir = str(suggest_adapter_dir(self.state.training_label, self.state.preset))
        elif adapter_has_run(adapter):
            self.state.adapter_dir = str(next_free_folder(adapter))
        self._fill_fields()

    def command_preview(self) -> str:
        state = self.state.copy()
        if state.adapter is None or adapter_has_run(state.adapter):
            state.adapter_dir = str(suggest_adapter_dir(state.training_label, state.preset))
        model, revision = self._model()
        config = json.dumps(state.train.to_config(state.quantize), indent=2)
        build = my_signs_argv(state)
        first = f"{display_command(build)}   # the training set of my signs\n" if build else ""
        return (f"{first}{display_command(train_argv(state, model, revision))}\n\n# {config_file_for(state.adapter)}:\n"
                f"{config}\n\n# to continue a stopped run:\n"
                f"{display_command(train_argv(state, model, revision, resume=True))}")

    def start(self) -> None:
        self._fresh_adapter()
        state = self.state.copy()
        model, revision = self._model()
        if self.host.start_job("train", train_argv(state, model, revision), self.job_panel,
                               before=lambda: (write_training_set(state), write_train_config(state))):
            self.set_complete(False)
            self.host.save_soon()

    def resume(self) -> None:
        model, revision = self._model()
        if self.host.start_job("train", train_argv(self.state, model, revision, resume=True), self.job_panel):
            self.set_complete(False)

    def retry(self) -> None:
        if adapter_resumable(self.state.adapter):
            self.resume()
        else:
            self.start()

    def _on_attached(self, job: Any) -> None:
        self._note, self._note_job = "", str(job.folder)  # the earlier job's last words go with it
        self.update_status()
        self.chart.clear()
        self.best_top1 = None
        self._total_steps = 0
        for value in self.stats.values():
            value.setText("—")
        self.resume_button.setEnabled(False)
        folder = str(job.folder)
        runs = self.state.train_runs
        if folder not in runs:  # a new job: a fresh run starts the list, a resumed one continues it
            try:
                resumed = "--resume" in job.spec().get("argv", [])
            except SignDeskError:
                resumed = False
            self.state.train_runs = [*runs, folder] if resumed else [folder]
            self.host.save_soon()
        earlier = self.state.train_runs[: self.state.train_runs.index(folder)]
        if earlier and self.host.runner is not None:  # the chart shows the whole run, not just since the resume
            self.host.runner.run("train-history", lambda: train_history(earlier),
                                 lambda points: self.chart.set_history(*points))

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        losses: list[tuple[float, float]] = []
        accs: list[tuple[float, float]] = []
        last_step: dict[str, Any] | None = None
        for event in events:
            kind = event.get("event")
            note = train_note(event)
            if note is not None and self.job_panel.job is not None:
                self._note, self._note_job = note, str(self.job_panel.job.folder)
            if kind == "phase":
                self.job_panel.set_progress(None, f"{str(event.get('phase', '')).capitalize()} on "
                                                  f"{event.get('device', '?')}…")
            elif kind == "train_start":
                self._total_steps = int(event.get("total_steps") or 0)
                self.chart.set_total_steps(self._total_steps)
                self.job_panel.set_progress(None, "Training…")
            elif kind == "step":
                if event.get("loss") is not None:
                    losses.append((float(event["step"]), float(event["loss"])))
                last_step = event
            elif kind == "eval":
                if event.get("top1") is not None:
                    accs.append((float(event["step"]), float(event["top1"])))
                    self.best_top1 = max(self.best_top1 or 0.0, float(event["top1"]))
                    self.stats["best"].setText(pct(self.best_top1))
            elif kind in ("finished", "stopped"):
                metrics = event.get("metrics") or {}
                if metrics.get("global_step") is not None:  # steps are logged every few; this is the last one
                    last_step = None
                    self._show_step({"step": metrics["global_step"], "total_steps": self._total_steps,
                                     "epoch": metrics.get("epochs"), "loss": metrics.get("train_loss")})
        self.chart.add_points(losses, accs)
        if last_step is not None:
            self._show_step(last_step)
        self.update_status()

    def _show_step(self, event: dict[str, Any]) -> None:
        step, total = int(event.get("step", 0)), int(event.get("total_steps") or 0)
        self.stats["step"].setText(f"{step:,} / {total:,}" if total else f"{step:,}")
        if event.get("epoch") is not None:
            self.stats["epoch"].setText(f"{float(event['epoch']):.2f}")
        if event.get("loss") is not None:
            self.stats["loss"].setText(f"{float(event['loss']):.4f}")
        if event.get("learning_rate") is not None:
            self.stats["lr"].setText(f"{float(event['learning_rate']):.2e}")
        if event.get("samples_per_s"):
            self.stats["rate"].setText(f"{float(event['samples_per_s']):.2f}")
        if "eta_s" in event:
            self.stats["eta"].setText(duration(event.get("eta_s")))
        if total:
            self.job_panel.set_progress(step / total, f"step {step:,} of {total:,}")
        self.chart.set_total_steps(total)

    def _on_ended(self, state: Any) -> None:
        if state.status in (FINISHED, STOPPED):
            self.stats["eta"].setText("—")
        self.refresh()


def model_name(model_id: str) -> str:
    """A hub id as it is; a local model folder by its name (the full path is in the tooltip elsewhere)."""
    path = Path(model_id).expanduser()
    return path.name if path.is_absolute() or model_id.startswith((".", "~")) else model_id


def next_free_folder(folder: Path) -> Path:
    """``name-2``, ``name-3``, … beside ``folder``: the first that holds no training run."""
    base = re.sub(r"-\d{1,3}$", "", folder.name)
    candidate, n = folder.with_name(base), 1
    while adapter_has_run(candidate):
        n += 1
        candidate = folder.with_name(f"{base}-{n}")
    return candidate
