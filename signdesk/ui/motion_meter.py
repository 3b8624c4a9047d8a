"""A small motion meter for the live view: how much of the picture moves, and where a sign starts.

The segmenter measures motion as the % of the picture's pixels that changed since the previous
frame; a sign starts above its on-threshold. The bar spans 0 to ``SCALE`` × that threshold (clamped),
so the tick sits at a fixed place and the user sees how far below or above it their movements are.
``set_level`` only stores the values and schedules a paint: it is called about ten times a second.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

#: The bar's full length, in multiples of the threshold (the tick is at 1 / SCALE of the bar).
SCALE = 3.0
#: A screen reader hears the description change at most this often (it changes ten times a second).
DESCRIPTION_PERIOD_S = 1.0

_BACKGROUND = QColor(20, 20, 20)
_TRACK = QColor(60, 60, 60)
_QUIET = QColor(80, 190, 110)
_MOVING = QColor(235, 70, 50)
_TICK = QColor(255, 255, 255)
_LABEL = "Motion"


def percent(value: float) -> str:
    """A share of the picture for people: two significant digits (0.05, 0.6, 1.2), whole above 10."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


class MotionMeter(QWidget):
    """A bar showing the motion level, with a tick at the threshold above which a sign starts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # it paints every pixel itself, so a new level does not repaint the video beneath it
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(self.sizeHint())
        self.setAccessibleName("Motion meter")
        self.energy = 0.0
        self.threshold = 0.0
        self.levels = 0  # how many levels it was given (tests, benchmark)
        self._described_t = -1e9
        self.setAccessibleDescription(self.text())

    def sizeHint(self) -> QSize:
        return QSize(170, 16)

    def set_level(self, energy: float, threshold: float) -> None:
        """The last frame's motion and the on-threshold, both in % of the picture; cheap."""
        self.energy, self.threshold = float(energy), float(threshold)
        self.levels += 1
        now = time.monotonic()
        if now - self._described_t >= DESCRIPTION_PERIOD_S:
            self._described_t = now
            self.setAccessibleDescription(self.text())
        self.update()

    def reset(self) -> None:
        self.energy = self.threshold = 0.0
        self.setAccessibleDescription(self.text())
        self.update()

    def text(self) -> str:
        if self.threshold <= 0:
            return "Motion: not measured yet"
        return (f"Motion: {percent(self.energy)} % of the picture; "
                f"a sign starts above {percent(self.threshold)} %")

    def fraction(self, value: float) -> float:
        """Where ``value`` lies along the bar, 0–1."""
        if self.threshold <= 0:
            return 0.0
        return max(0.0, min(1.0, value / (SCALE * self.threshold)))

    @property
    def above(self) -> bool:
        return self.threshold > 0 and self.energy > self.threshold

    # ---------------------------------------------------------------- Qt
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            QToolTip.showText(event.globalPos(), self.text(), self)  # the current level, not a stale one
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(self.height() - 4)
        painter.setFont(font)
        painter.setPen(_TICK)
        label_w = painter.fontMetrics().horizontalAdvance(_LABEL) + 8  # says what the bar is without a hover
        painter.drawText(QRectF(4, 0, label_w, self.height()), Qt.AlignmentFlag.AlignVCenter, _LABEL)
        track = QRectF(self.rect()).adjusted(label_w + 4, 4, -4, -4)
        painter.fillRect(track, _TRACK)
        if self.threshold > 0:
            level = QRectF(track.left(), track.top(), track.width() * self.fraction(self.energy), track.height())
            painter.fillRect(level, _MOVING if self.above else _QUIET)
            x = track.left() + track.width() * self.fraction(self.threshold)
            painter.fillRect(QRectF(x - 1, 1, 2, self.height() - 2), _TICK)
        painter.end()
