"""A "working…" line that appears only when work takes longer than ~600 ms (anki's progress rule).

Quick answers never flash a progress bar; slow ones say what is happening.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from signdesk.ui.widgets import single_shot

SHOW_AFTER_MS = 600


class BusyIndicator(QWidget):
    """Hidden until ``start(text)`` has been running for ``SHOW_AFTER_MS``; ``stop()`` hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Working")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)  # indeterminate
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Working")
        self.label = QLabel(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        self._timer = single_shot(self, SHOW_AFTER_MS, self.show)
        self.hide()

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self.isVisible()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.setAccessibleDescription(text)
        if not self.isVisible():
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()
