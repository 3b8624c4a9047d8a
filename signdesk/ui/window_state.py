"""Window state between runs (geometry, splitters, tab, camera): a small JSON file beside the settings.

This is layout, not configuration, so it does not go through the typed settings; a damaged file is
ignored. Geometry is restored only where it lands on a screen that exists now (a laptop undocked from
its second monitor must not open the window off-screen).
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from signdesk import paths
from signdesk.atomicio import atomic_write_json

log = logging.getLogger(__name__)

#: The part of the window that must be on a screen for a saved geometry to be used (pixels).
MIN_VISIBLE = (160, 80)


def state_file() -> Path:
    return paths.config_dir() / "window.json"


def load_state(path: Path | None = None) -> dict[str, Any]:
    path = path or state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def save_state(state: dict[str, Any], path: Path | None = None) -> None:
    try:
        atomic_write_json(path or state_file(), state)
    except OSError as exc:
        log.warning("cannot save the window state: %s", exc)


def encode(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def decode(text: Any) -> QByteArray | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
    except ValueError:
        return None


def on_some_screen(rect: QRect) -> bool:
    """Whether at least MIN_VISIBLE of ``rect`` lies on one of the screens there are now."""
    for screen in QGuiApplication.screens():
        overlap = screen.availableGeometry().intersected(rect)
        if overlap.width() >= MIN_VISIBLE[0] and overlap.height() >= MIN_VISIBLE[1]:
            return True
    return False


def restore_geometry(window: QWidget, saved: Any, default_size: tuple[int, int] = (1200, 760)) -> bool:
    """Restore ``saved`` (from ``encode(window.saveGeometry())``) if it is visible; else centre a default."""
    data = decode(saved)
    if data is not None and window.restoreGeometry(data) and on_some_screen(window.frameGeometry()):
        return True
    screen = QGuiApplication.primaryScreen()
    area = screen.availableGeometry() if screen is not None else QRect(0, 0, *default_size)
    width, height = min(default_size[0], area.width()), min(default_size[1], area.height())
    window.resize(width, height)
    window.move(area.left() + (area.width() - width) // 2, area.top() + (area.height() - height) // 2)
    return False
