"""The live view: paints the newest frame, scaled to fit, with overlays.

Frames are painted by hand from a QImage (no QLabel/QPixmap round trip). ``set_frame`` only stores
the image and calls ``update()``; Qt merges update requests into one paint per screen refresh, so
when frames come faster than the GUI can paint, the extra ones are simply never drawn. The motion
meter in the bottom-right corner is a small child widget that follows the same rule.

A message (camera lost, no camera...) is a box across the middle; it replaces the placeholder
rather than being drawn over it, and may carry a button just below it (e.g. "use a video file").
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from signdesk.ui.images import rgb_to_qimage
from signdesk.ui.motion_meter import MotionMeter

#: What the view says while the segmenter learns the scene at rest.
HOLD_STILL_TEXT = "Hold still…"
#: Room left at the bottom edge for the bar that fills while a sign is collected.
_BOTTOM_BAR = 6
#: Space between the message box and its button.
_BUTTON_GAP = 10

_LEVEL_COLORS = {"info": QColor(30, 30, 30, 200), "warning": QColor(150, 95, 0, 220), "error": QColor(160, 20, 20, 230)}


class LiveView(QWidget):
    """A video surface with overlays: signing detected, clip being collected, interpreting, fps, motion."""

    action_requested = Signal()
    """The button under the message was pressed (see ``set_message(..., action=...)``)."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "Live camera view",
                 placeholder: str = "No camera running") -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.setAccessibleName(name)
        self.setAccessibleDescription(placeholder)
        self._placeholder = placeholder
        self._image: QImage | None = None
        self._fresh = False
        self._signing = False
        self._collected_s = 0.0
        self._max_s = 3.0
        self._busy = False
        self._message = ""
        self._level = "info"
        self._caption = ""
        self._capture_fps = 0.0
        self._calibrating = False
        self.show_fps = True
        self.meter = MotionMeter(self)
        self.meter.hide()  # until a camera reports motion
        self.action_button = QPushButton(self)
        self.action_button.setAccessibleName("Action for the message on the view")
        self.action_button.hide()  # only with a message that offers a way out
        self.action_button.clicked.connect(self.action_requested)
        self._shown: deque[float] = deque(maxlen=61)  # times of paints that showed a new frame
        self.frames_set = 0
        self.frames_painted = 0

    # ---------------------------------------------------------------- state
    def sizeHint(self) -> QSize:
        return QSize(560, 420)

    def set_frame(self, image: np.ndarray | QImage) -> None:
        """Show this frame next (RGB uint8 array or QImage); cheap: the paint happens later, once."""
        self._image = image if isinstance(image, QImage) else rgb_to_qimage(image)
        self._fresh = True
        self.frames_set += 1
        self.update()

    def clear(self) -> None:
        self._image = None
        self._signing = False
        self._busy = False
        self._caption = ""
        self._shown.clear()
        self.meter.hide()
        self.meter.reset()
        self.set_calibrating(False)
        self.update()

    def set_motion(self, energy: float, threshold: float) -> None:
        """The motion meter's level and threshold (% of the picture); cheap: stores them and repaints later."""
        self.meter.set_level(energy, threshold)
        if self.meter.isHidden():
            self._place_meter()
            self.meter.show()

    def set_calibrating(self, calibrating: bool) -> None:
        """Ask the user to hold still while the segmenter learns the scene at rest."""
        if calibrating != self._calibrating:
            self._calibrating = calibrating
            self.setAccessibleDescription(self._message or (HOLD_STILL_TEXT if calibrating else self._placeholder))
            self.update()

    @property
    def calibrating(self) -> bool:
        return self._calibrating

    def set_signing(self, signing: bool, collected_s: float = 0.0, max_s: float | None = None) -> None:
        self._signing = signing
        self._collected_s = collected_s
        if max_s:
            self._max_s = max_s
        self.update()

    def set_busy(self, busy: bool) -> None:
        """Show that a clip is being interpreted."""
        if busy != self._busy:
            self._busy = busy
            self.update()

    def set_message(self, text: str, level: str = "info", *, action: str = "", tip: str = "") -> None:
        """A line across the view (camera lost, no camera...); empty to remove it.

        ``action`` puts a button with that text below the message (``action_requested`` when pressed).
        """
        self._message, self._level = text, level
        self.setAccessibleDescription(text or (HOLD_STILL_TEXT if self._calibrating else self._placeholder))
        if text and action:
            self.action_button.setText(action)
            self.action_button.setToolTip(tip)
            self.action_button.setAccessibleName(action.rstrip("…"))
            self.action_button.adjustSize()
            self.action_button.show()
        else:
            self.action_button.hide()
        self._place_action()
        self.update()

    @property
    def message(self) -> str:
        return self._message

    @property
    def placeholder_shown(self) -> bool:
        """The placeholder is drawn only on an empty view with nothing else in its middle."""
        return self._image is None and not self._message and not self._calibrating

    def set_caption(self, text: str) -> None:
        self._caption = text
        self.update()

    def set_capture_fps(self, fps: float) -> None:
        self._capture_fps = fps

    @property
    def display_fps(self) -> float:
        """New frames painted per second, over the last second or so."""
        shown = list(self._shown)
        if len(shown) < 2 or time.monotonic() - shown[-1] > 1.0:
            return 0.0
        return (len(shown) - 1) / (shown[-1] - shown[0])

    def image_rect(self) -> QRectF:
        """Where the frame is drawn: scaled to fit, aspect kept, centred."""
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_meter()
        self._place_action()

    def _overlay_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF() * 1.1))
        font.setBold(True)
        return font

    def message_box_rect(self, text: str | None = None) -> QRectF:
        """Where the message box is drawn; it moves up to leave room for a button below it."""
        text = self._message if text is None else text
        if not text:
            return QRectF()
        metrics = QFontMetrics(self._overlay_font())
        bounds = metrics.boundingRect(QRectF(20, 0, self.width() - 40, 0).toRect(),
                                      Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter, text)
        h = bounds.height() + 20
        below = self.action_button.sizeHint().height() + _BUTTON_GAP if self.action_button.isVisibleTo(self) else 0
        return QRectF(10, max(0.0, (self.height() - h - below) / 2), self.width() - 20, h)

    def _place_action(self) -> None:
        if self.action_button.isHidden():
            return
        box = self.message_box_rect()
        size = self.action_button.sizeHint()
        self.action_button.resize(size)
        self.action_button.move(int((self.width() - size.width()) / 2), int(box.bottom() + _BUTTON_GAP))

    def _place_meter(self) -> None:
        """Bottom-right, above the bar that fills while a sign is collected."""
        self.meter.move(self.width() - self.meter.width() - 10, self.height() - self.meter.height() - _BOTTOM_BAR - 8)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 16))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.image_rect(), self._image)
            if self._fresh:
                self._fresh = False
                self.frames_painted += 1
                self._shown.append(time.monotonic())
        elif self.placeholder_shown:  # a message takes the placeholder's place, never on top of it
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
        self._paint_overlays(painter)
        painter.end()

    def _badge(self, painter: QPainter, x: float, y: float, text: str, color: QColor,
               dot: QColor | None = None) -> float:
        metrics = painter.fontMetrics()
        pad = 6
        dot_w = metrics.height() * 0.6 + pad if dot is not None else 0
        w = metrics.horizontalAdvance(text) + 2 * pad + dot_w
        h = metrics.height() + pad
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(QRectF(x, y, w, h), 5, 5)
        if dot is not None:
            d = metrics.height() * 0.6
            painter.setBrush(dot)
            painter.drawEllipse(QRectF(x + pad, y + (h - d) / 2, d, d))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(QRectF(x + pad + dot_w, y, w - 2 * pad - dot_w, h), Qt.AlignmentFlag.AlignVCenter, text)
        return w

    def _paint_overlays(self, painter: QPainter) -> None:
        painter.setFont(self._overlay_font())
        dark = QColor(0, 0, 0, 160)
        x, y = 10.0, 10.0
        if self._signing:
            x += self._badge(painter, x, y, f"Signing · collecting {self._collected_s:.1f} s", QColor(0, 0, 0, 170),
                             dot=QColor(230, 40, 40)) + 8
        if self._busy:
            self._badge(painter, x, y, "Interpreting…", dark, dot=QColor(60, 150, 255))
        if self.show_fps and self._image is not None:
            text = f"{self.display_fps:4.1f} fps"
            if self._capture_fps:
                text += f" · camera {self._capture_fps:4.1f}"
            w = painter.fontMetrics().horizontalAdvance(text) + 12
            self._badge(painter, self.width() - w - 10, y, text, dark)
        if self._signing and self._max_s > 0:  # a bar along the bottom: how much of max_sign_s is used
            frac = min(1.0, self._collected_s / self._max_s)
            bar = QRectF(0, self.height() - _BOTTOM_BAR, self.width() * frac, _BOTTOM_BAR)
            painter.fillRect(bar, QColor(230, 40, 40, 200))
        if self._caption:
            metrics = painter.fontMetrics()
            self._badge(painter, 10, self.height() - metrics.height() - 20, self._caption, dark)
        if self._message:  # a camera problem outranks the request to hold still
            self._paint_box(painter, self._message, _LEVEL_COLORS.get(self._level, _LEVEL_COLORS["info"]))
        elif self._calibrating:
            self._paint_box(painter, HOLD_STILL_TEXT, _LEVEL_COLORS["info"])

    def _paint_box(self, painter: QPainter, text: str, color: QColor) -> None:
        """A message across the middle of the view."""
        box = self.message_box_rect(text)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(box, 8, 8)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box.adjusted(10, 0, -10, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
