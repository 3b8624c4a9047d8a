"""The settings panel: model, adapter, device, quantization, frames, mode, glossary, threshold, segmentation.

Apply sends only the changed keys; the window decides what each needs (a model reload for model,
device and quantization; an adapter switch or a reconfigure for the rest; nothing at all for
threshold, segmentation and motion sensitivity, which the live segmenter takes at its next frame).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from signdesk import paths
from signdesk.engine.adapters import ADAPTER_CONFIG
from signdesk.hardware import DEVICE_CHOICES
from signdesk.ui.widgets import described, double_spin_box, spin_box

NO_ADAPTER = "(none: base model)"
RELOAD_KEYS = frozenset({"model.id", "model.revision", "device", "quantize", "cpu_arithmetic"})
MODE_LABELS = {"vocab": "Glossary (rank known words)", "free": "Free answer (generate)"}
SEGMENT_LABELS = {"motion": "Motion (one clip per sign)", "continuous": "Continuous (rolling window)"}


def catalog_models() -> list[str]:
    """Model ids from the packaged catalog (cheap YAML read)."""
    try:
        import yaml

        data = yaml.safe_load((paths.catalog_dir() / "catalog.yaml").read_text(encoding="utf-8")) or {}
        return [str(m["id"]) for m in data.get("models", []) if "id" in m]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []
    except Exception:  # a YAML error in a packaged file must not keep the panel from opening
        return []


def packaged_glossaries() -> list[str]:
    folder = paths.resources_dir() / "glossaries"
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in {".txt", ".yaml", ".json"}})


def local_adapters() -> list[str]:
    folder = paths.adapters_dir()
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if (p / ADAPTER_CONFIG).is_file())


class SettingsPanel(QWidget):
    """A form over the settings; ``sig_apply_requested`` carries the changed keys and their values."""

    sig_apply_requested = Signal(dict)
    """(changes) the user pressed Apply; {settings key: new value}, only keys that changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Settings")
        self._loaded: dict[str, Any] = {}
        form = QFormLayout()
        self._add_model_rows(form)
        self._add_interpreting_rows(form)
        self._add_live_rows(form)
        self.note = QLabel("Model, device and quantization reload the model; the rest applies at once.",
                           self)
        self.note.setWordWrap(True)
        self.note.setAccessibleName("Settings note")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addLayout(self._build_buttons())
        layout.addStretch(1)

    def _add_model_rows(self, form: QFormLayout) -> None:
        """What is loaded, and how: model, adapter, device, profile, quantization."""
        self.model = self._combo("Model", "A Hugging Face model id or a local model folder", editable=True)
        self.model_browse = self._browse_button("Choose a local model folder", self._browse_model)
        form.addRow("&Model:", self._with(self.model, self.model_browse))

        self.adapter = self._combo("Adapter", "A LoRA adapter folder, or none for the base model", editable=True)
        self.adapter_browse = self._browse_button("Choose an adapter folder", self._browse_adapter)
        form.addRow("&Adapter:", self._with(self.adapter, self.adapter_browse))

        self.device = self._combo("Device", "Where the model runs")
        self.device.addItems(list(DEVICE_CHOICES))
        form.addRow("&Device:", self.device)

        self.profile = self._combo("Profile", "Visual budget: quality (8 frames, full size), balanced (8 frames, "
                                              "half size), fast (4 frames, half size); auto is fast on the CPU, "
                                              "quality on a GPU")
        self.profile.addItems(["auto", "quality", "balanced", "fast"])
        form.addRow("&Profile:", self.profile)

        self.quantize = self._combo("Quantization", "Load the model in 4 or 8 bits (CUDA only)")
        self.quantize.addItems(["none", "4bit", "8bit"])
        form.addRow("&Quantization:", self.quantize)

    def _add_interpreting_rows(self, form: QFormLayout) -> None:
        """How signs are interpreted: frames, mode, glossary, alternatives, threshold."""
        self.frames = self._spin("Frames per sign", "Frames sampled from each sign", 1, 64)
        form.addRow("&Frames:", self.frames)

        self.mode = self._combo("Mode", "Rank the glossary's words, or let the model answer freely")
        for key, label in MODE_LABELS.items():
            self.mode.addItem(label, key)
        form.addRow("M&ode:", self.mode)

        self.glossary = self._combo("Glossary", "A packaged glossary name or a file with one word per line",
                                    editable=True)
        self.glossary_browse = self._browse_button("Choose a glossary file", self._browse_glossary)
        form.addRow("&Glossary:", self._with(self.glossary, self.glossary_browse))

        self.top_k = self._spin("Alternatives", "How many alternatives to keep for each word", 1, 50)
        form.addRow("Alternati&ves:", self.top_k)

        self.threshold = double_spin_box(self, 0.0, 1.0, 0.05, decimals=2)
        described(self.threshold, "Not-sure threshold", "Words below this confidence are marked not sure")
        form.addRow("&Threshold:", self.threshold)

    def _add_live_rows(self, form: QFormLayout) -> None:
        """How the live view cuts signing into signs."""
        self.segmentation = self._combo("Segmentation", "How the live view cuts signing into signs")
        for key, label in SEGMENT_LABELS.items():
            self.segmentation.addItem(label, key)
        form.addRow("&Segmentation:", self.segmentation)

        self.stride = self._spin("Window stride", "Frames between windows in continuous mode", 1, 64)
        form.addRow("St&ride:", self.stride)

        self.min_sign = self._seconds("Shortest sign", "Motions shorter than this are ignored", 0.05, 10.0)
        form.addRow("Shortest si&gn:", self.min_sign)
        self.max_sign = self._seconds("Longest sign", "Longer motions are cut into clips of this length", 0.1, 30.0)
        form.addRow("Longest sig&n:", self.max_sign)
        self.sensitivity = double_spin_box(self, 1.0, 10.0, 0.5, decimals=1)
        described(self.sensitivity, "Motion sensitivity",
                  "How little motion starts a sign, 1–10: higher, smaller movements count "
                  "(the Live tab's meter shows the threshold)")
        form.addRow("Sens&itivity:", self.sensitivity)

        self.sentences = QCheckBox("Write sentences", self)
        described(self.sentences, "Write sentences",
                  "Also turn the signs between pauses into one English sentence, with the model's own language "
                  "model (text only); speech then reads the sentences")
        self.sentences.toggled.connect(lambda on: self.pause.setEnabled(on))
        form.addRow("Se&ntences:", self.sentences)
        self.pause = self._seconds("Sentence pause", "A rest this long between two signs ends a sentence", 0.3, 10.0)
        self.pause.setEnabled(False)
        form.addRow("Sentence &pause:", self.pause)

    def _build_buttons(self) -> QHBoxLayout:
        self.apply_button = QPushButton("&Apply", self)
        described(self.apply_button, "Apply settings", "Apply and save the changed settings")
        self.apply_button.clicked.connect(self._apply)
        self.revert_button = QPushButton("&Revert", self)
        described(self.revert_button, "Revert settings", "Undo changes not yet applied")
        self.revert_button.clicked.connect(lambda: self.load(self._loaded))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        return buttons

    # ---------------------------------------------------------------- building blocks
    def _combo(self, name: str, description: str, *, editable: bool = False) -> QComboBox:
        combo = QComboBox(self)
        combo.setEditable(editable)
        combo.setMinimumContentsLength(18)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        described(combo, name, description)
        if editable:
            combo.lineEdit().setAccessibleName(name)
        return combo

    def _spin(self, name: str, description: str, lo: int, hi: int) -> QSpinBox:
        spin = spin_box(self, lo, hi)
        described(spin, name, description)
        return spin

    def _seconds(self, name: str, description: str, lo: float, hi: float) -> QDoubleSpinBox:
        spin = double_spin_box(self, lo, hi, 0.1, suffix=" s")
        described(spin, name, description)
        return spin

    def _browse_button(self, description: str, slot) -> QPushButton:
        button = QPushButton("…", self)
        button.setMaximumWidth(32)
        described(button, description, description)
        button.clicked.connect(slot)
        return button

    def _with(self, main: QWidget, extra: QWidget) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(main, 1)
        row.addWidget(extra)
        return box

    @staticmethod
    def _set_combo_text(combo: QComboBox, items: list[str], value: str) -> None:
        combo.clear()
        combo.addItems(items)
        if value and value not in items:
            combo.addItem(value)
        combo.setCurrentText(value)

    @staticmethod
    def _set_combo_data(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(0, index))

    # ---------------------------------------------------------------- values
    def load(self, values: Any) -> None:
        """Fill the form from settings (a Settings or a plain dict of keys)."""
        get = values.get if hasattr(values, "get") else values.__getitem__
        self._loaded = {key: get(key) for key in self.keys()}
        v = self._loaded
        self._set_combo_text(self.model, catalog_models(), str(v["model.id"]))
        adapter = v["model.adapter"] or NO_ADAPTER
        self._set_combo_text(self.adapter, [NO_ADAPTER, *local_adapters()], adapter)
        self.device.setCurrentText(str(v["device"]))
        self.profile.setCurrentText(str(v["profile"]))
        self.quantize.setCurrentText(str(v["quantize"]))
        self.frames.setValue(int(v["frames"]))
        self._set_combo_data(self.mode, str(v["mode"]))
        self._set_combo_text(self.glossary, packaged_glossaries(), str(v["glossary"] or ""))
        self.top_k.setValue(int(v["top_k"]))
        self.threshold.setValue(float(v["live.threshold"]))
        self._set_combo_data(self.segmentation, str(v["live.segmentation"]))
        self.stride.setValue(int(v["live.stride"]))
        self.min_sign.setValue(float(v["live.min_sign_s"]))
        self.max_sign.setValue(float(v["live.max_sign_s"]))
        self.sensitivity.setValue(float(v["live.sensitivity"]))
        self.sentences.setChecked(bool(v["sentences.enabled"]))
        self.pause.setValue(float(v["sentences.pause_seconds"]))
        self.pause.setEnabled(self.sentences.isChecked())

    @staticmethod
    def keys() -> tuple[str, ...]:
        return ("model.id", "model.adapter", "device", "profile", "quantize", "frames", "mode", "glossary", "top_k",
                "live.threshold", "live.segmentation", "live.stride", "live.min_sign_s", "live.max_sign_s",
                "live.sensitivity", "sentences.enabled", "sentences.pause_seconds")

    def values(self) -> dict[str, Any]:
        adapter = self.adapter.currentText().strip()
        glossary = self.glossary.currentText().strip()
        return {
            "model.id": self.model.currentText().strip(),
            "model.adapter": None if adapter in {"", NO_ADAPTER} else adapter,
            "device": self.device.currentText(),
            "profile": self.profile.currentText(),
            "quantize": self.quantize.currentText(),
            "frames": self.frames.value(),
            "mode": self.mode.currentData(),
            "glossary": glossary or None,
            "top_k": self.top_k.value(),
            "live.threshold": round(self.threshold.value(), 4),
            "live.segmentation": self.segmentation.currentData(),
            "live.stride": self.stride.value(),
            "live.min_sign_s": round(self.min_sign.value(), 3),
            "live.max_sign_s": round(self.max_sign.value(), 3),
            "live.sensitivity": round(self.sensitivity.value(), 1),
            "sentences.enabled": self.sentences.isChecked(),
            "sentences.pause_seconds": round(self.pause.value(), 2),
        }

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.values().items() if self._loaded.get(k) != v}

    def _apply(self) -> None:
        changes = self.changes()
        if changes:
            self.sig_apply_requested.emit(changes)

    def accept_applied(self, values: dict[str, Any]) -> None:
        """The window applied these values: they are the new baseline for ``changes``."""
        self._loaded.update(values)

    # ---------------------------------------------------------------- browsing
    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model.setCurrentText(folder)

    def _browse_adapter(self) -> None:
        start = str(paths.adapters_dir()) if paths.adapters_dir().is_dir() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a LoRA adapter folder", start)
        if folder:
            self.adapter.setCurrentText(folder)

    def _browse_glossary(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a glossary file", str(Path.home()),
                                              "Glossaries (*.txt *.yaml *.json);;All files (*)")
        if path:
            self.glossary.setCurrentText(path)
