"""The state line at the top of the window: model loading, ready, or what went wrong and what to do."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QWidget

from signdesk.ui.widgets import push_button


class ModelBanner(QFrame):
    """Says loading / downloading (with progress) / ready / failed, with the action that helps."""

    download_requested = Signal()
    """The user asked to download the missing model."""
    retry_requested = Signal()
    """The user asked to try loading the model again."""
    settings_requested = Signal()
    """The user asked to open the settings (to pick another model)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Model state")
        self.state = "idle"
        self.label = QLabel("Starting…", self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Model state message")
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.download_button = push_button(self, "Download model", "Download the model from Hugging Face",
                                            self.download_requested.emit)
        self.retry_button = push_button(self, "Retry", "Try loading the model again", self.retry_requested.emit)
        self.settings_button = push_button(self, "Settings…", "Choose another model or device",
                                            self.settings_requested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.progress)
        for button in (self.download_button, self.retry_button, self.settings_button):
            layout.addWidget(button)
        self._show(progress=False, download=False, retry=False, settings=False)

    def _show(self, *, progress: bool, download: bool, retry: bool, settings: bool) -> None:
        self.progress.setVisible(progress)
        self.download_button.setVisible(download)
        self.retry_button.setVisible(retry)
        self.settings_button.setVisible(settings)

    def set_loading(self, stage: str, fraction: float, message: str) -> None:
        self.state = "loading"
        self.label.setText(message or f"{stage.capitalize()}…")
        if fraction < 0:
            self.progress.setRange(0, 0)  # busy indicator
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self._show(progress=True, download=False, retry=False, settings=False)
        self.setVisible(True)

    def set_ready(self, text: str) -> None:
        self.state = "ready"
        self.label.setText(text)
        self._show(progress=False, download=False, retry=False, settings=False)

    def set_failed(self, message: str, *, missing: bool) -> None:
        self.state = "missing" if missing else "failed"
        hint = " Download it now, or choose another model in Settings." if missing else ""
        ending = "" if message.rstrip().endswith((".", "!", "?")) else "."
        self.label.setText(f"⚠ The model could not be loaded: {message.rstrip()}{ending}{hint}")
        self._show(progress=False, download=missing, retry=not missing, settings=True)
        self.setVisible(True)

    def set_message(self, text: str) -> None:
        self.label.setText(text)
