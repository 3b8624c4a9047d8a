"""Small widget helpers shared by the window, its tabs and the training pages.

One place for what several widgets build the same way (described buttons, quiet timers, the
picture-beside-transcript splitter, dropping a video file), so that a change is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDoubleSpinBox, QPushButton, QSpinBox, QSplitter, QWidget

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def described(widget: QWidget, name: str, description: str) -> QWidget:
    """Give ``widget`` an accessible name, and a description that is also its tooltip."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    widget.setToolTip(description)
    return widget


def push_button(parent: QWidget, text: str, description: str, slot: Callable[..., Any]) -> QPushButton:
    """A push button named after its text (without a trailing "…"), described, and connected to ``slot``."""
    widget = QPushButton(text, parent)
    described(widget, text.rstrip("…"), description)
    widget.clicked.connect(slot)
    return widget


def spin_box(parent: QWidget, low: int, high: int, *, max_width: int | None = None,
             on_change: Callable[[int], Any] | None = None) -> QSpinBox:
    """An integer spin box over ``low``..``high``."""
    spin = QSpinBox(parent)
    spin.setRange(low, high)
    if max_width is not None:
        spin.setMaximumWidth(max_width)
    if on_change is not None:
        spin.valueChanged.connect(on_change)
    return spin


def double_spin_box(parent: QWidget, low: float, high: float, step: float, *, decimals: int | None = None,
                    suffix: str = "", max_width: int | None = None,
                    on_change: Callable[[float], Any] | None = None) -> QDoubleSpinBox:
    """A decimal spin box over ``low``..``high`` in steps of ``step``."""
    spin = QDoubleSpinBox(parent)
    if decimals is not None:
        spin.setDecimals(decimals)  # before the range, which is rounded to the decimals
    spin.setRange(low, high)
    spin.setSingleStep(step)
    if suffix:
        spin.setSuffix(suffix)
    if max_width is not None:
        spin.setMaximumWidth(max_width)
    if on_change is not None:
        spin.valueChanged.connect(on_change)
    return spin


def single_shot(parent: QWidget, interval_ms: int, slot: Callable[[], Any]) -> QTimer:
    """A stopped single-shot timer that calls ``slot``; ``start()`` (re)arms it."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


def side_by_side(parent: QWidget, left: QWidget, right: QWidget) -> QSplitter:
    """A picture (``left``, 3 parts) beside a transcript (``right``, 2 parts); neither can be collapsed."""
    splitter = QSplitter(Qt.Orientation.Horizontal, parent)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setChildrenCollapsible(False)
    return splitter


def dropped_video(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The local file a drag carries, if it looks like a video."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in VIDEO_SUFFIXES:
            return url.toLocalFile()
    return None


class VideoDropTarget:
    """Mixin for a QWidget that takes a dropped video file: it calls ``video_dropped(path)``.

    List it before the Qt class (``class Tab(VideoDropTarget, QWidget)``) and call
    ``setAcceptDrops(True)``; other drags are ignored.
    """

    def video_dropped(self, path: str) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_video(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_video(event)
        if path:
            event.acceptProposedAction()
            self.video_dropped(path)
