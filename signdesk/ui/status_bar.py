"""The status bar: device, model and adapter, last clip latency, capture and display fps."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StatusBar(QStatusBar):
    """Permanent fields on the right; transient messages (``showMessage``) on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Status bar")
        self.device = self._field("Device", "Device: –")
        self.model = self._field("Model", "Model: –")
        self.latency = self._field("Last clip latency", "Latency: –")
        self.capture = self._field("Capture frame rate", "Camera: – fps")
        self.display = self._field("Display frame rate", "Display: – fps")

    def _field(self, name: str, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setAccessibleName(name)
        self.addPermanentWidget(label)
        return label

    def set_engine(self, device: str, model_id: str, adapter: str | None, dtype: str = "") -> None:
        self.device.setText(f"Device: {device}" + (f" ({dtype})" if dtype else ""))
        model = Path(model_id).name if Path(model_id).is_absolute() else model_id
        text = f"Model: {model}" + (f" + {Path(adapter).name}" if adapter else " (no adapter)")
        self.model.setText(text)
        self.model.setToolTip(f"{model_id}\nadapter: {adapter or 'none'}")

    def clear_engine(self, state: str) -> None:
        self.device.setText("Device: –")
        self.model.setText(f"Model: {state}")

    def set_latency(self, total_ms: float, model_ms: float) -> None:
        self.latency.setText(f"Latency: {total_ms / 1000:.2f} s")
        self.latency.setToolTip(f"End of sign to word: {total_ms:.0f} ms, of which the model: {model_ms:.0f} ms")

    def set_fps(self, capture: float | None, display: float | None) -> None:
        self.capture.setText("Camera: – fps" if not capture else f"Camera: {capture:4.1f} fps")
        self.display.setText("Display: – fps" if not display else f"Display: {display:4.1f} fps")
