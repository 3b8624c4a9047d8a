"""A "▸ More options" button that shows or hides a section (instead of an empty, collapsed group box)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget


class DisclosureButton(QToolButton):
    """Checkable; an arrow points right when ``section`` is hidden and down when it is shown."""

    def __init__(self, text: str, section: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.section = section
        self.setText(text)
        self.setAccessibleName(text.replace("&", ""))
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.toggled.connect(self._show)
        self._show(False)

    def _show(self, shown: bool) -> None:
        self.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.section.setVisible(shown)
        self.setAccessibleDescription("shown" if shown else "hidden")
