"""Starting the desktop app: settings, the QApplication and the window, nothing heavy before it shows.

The window is shown first; the model (torch, transformers) is imported and loaded afterwards on the
engine thread, so the first window appears in about a second even on a slow machine.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from signdesk import paths
from signdesk.errors import ConfigError, SignDeskError

log = logging.getLogger(__name__)


def load_gui_settings(overrides: dict[str, Any] | None = None):
    """Settings for the window; a broken user file is reported in the window rather than stopping it."""
    from signdesk.config import load_settings

    try:
        return load_settings(overrides), None
    except ConfigError as exc:
        user_file = paths.settings_file()
        settings = load_settings(overrides, user_file=user_file.with_name(".signdesk-no-user-settings.yaml"))
        settings.user_file = user_file
        return settings, f"{exc}\n\nThe packaged defaults are used for now; applying a setting rewrites the file."


def gui_overrides(args: Any) -> dict[str, Any]:
    overrides = {"model.id": getattr(args, "model", None), "model.adapter": getattr(args, "adapter", None),
                 "device": getattr(args, "device", None), "profile": getattr(args, "profile", None)}
    from signdesk.engine.server_options import server_overrides

    overrides.update(server_overrides(args))  # --backend / --server: where the model runs
    return {k: v for k, v in overrides.items() if v is not None}


#: Qt platform plugins that need a display server, and the variable that names one.
_DISPLAY_PLATFORMS = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",), "wayland-egl": ("WAYLAND_DISPLAY",)}

NO_DISPLAY = (
    "no display found (DISPLAY and WAYLAND_DISPLAY are not set): run signdesk in a desktop session "
    "(or `ssh -X`), or set QT_QPA_PLATFORM=offscreen for tests; --camera-file does not help here, but "
    "`signdesk transcribe VIDEO` and `signdesk live --camera-file VIDEO` work without a display"
)


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the window cannot open here, or None.

    Without a display Qt's xcb plugin aborts the process (a core dump, exit 134) with a hint about
    libxcb-cursor0 that sends users the wrong way, so this is checked before the QApplication exists.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None  # Windows and macOS always have their own platform plugin
    requested = [p.split(":")[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if any(p not in _DISPLAY_PLATFORMS for p in requested):
        return None  # offscreen, vnc, eglfs...: the user chose a plugin that needs no display server
    variables = {v for p in requested for v in _DISPLAY_PLATFORMS[p]} or {"DISPLAY", "WAYLAND_DISPLAY"}
    if any(environ.get(v) for v in variables):
        return None
    return NO_DISPLAY


# Qt message types (QtMsgType values) and the log level each has when the user asked for details (-v).
_QT_LEVELS = {0: logging.DEBUG, 4: logging.INFO, 1: logging.WARNING, 2: logging.ERROR, 3: logging.CRITICAL}
_qt_log = logging.getLogger("qt")
_qt_verbose = False


def _qt_message(msg_type: Any, context: Any, message: str) -> None:
    """Qt's own messages go to the log instead of the terminal.

    Qt's plugins warn on every start about things SignDesk does without (pipewire, speech-dispatcher,
    size hints of the offscreen platform): noise for users, so these are debug records unless ``-v``.
    A fatal message is always shown: Qt aborts right after it.
    """
    level = _QT_LEVELS.get(int(getattr(msg_type, "value", msg_type)), logging.WARNING)
    if not _qt_verbose and level < logging.CRITICAL:
        level = logging.DEBUG
    category = getattr(context, "category", None) or ""
    _qt_log.log(level, "%s%s", f"{category}: " if category and category != "default" else "", message)


def install_qt_messages(verbose: bool | None = None) -> None:
    """Route Qt's messages through ``_qt_message`` (call before Qt loads plugins); ``verbose`` shows them."""
    global _qt_verbose
    from PySide6.QtCore import qInstallMessageHandler

    if verbose is not None:
        _qt_verbose = verbose
    qInstallMessageHandler(_qt_message)


def make_application(argv: list[str] | None = None):
    install_qt_messages()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("SignDesk")
    app.setOrganizationName("SignDesk")
    app.setApplicationDisplayName("SignDesk")
    app.setDesktopFileName("signdesk")
    return app


def qt_binding_problem(pyside_version: str, python_version: tuple[int, int]) -> str | None:
    """Why these Qt bindings cannot run the app, or None.

    PySide6 6.12.0 on CPython 3.11 drops a reference to None/True/False on every call that returns one
    (hundreds a second in the live view), and the interpreter aborts within minutes ("Fatal Python
    error: none_dealloc"); 6.11 and Python 3.12+ are fine.
    """
    if pyside_version == "6.12.0" and python_version < (3, 12):
        return (
            "PySide6 6.12.0 crashes on Python 3.11; install another version with "
            "`pip install \"PySide6-Essentials!=6.12.0\" \"PySide6-Addons!=6.12.0\"`, or use Python 3.12+"
        )
    return None


def build_window(args: Any = None, **kwargs: Any):
    """The application and its window, shown but not started (no model loading yet)."""
    import PySide6

    install_qt_messages()  # before the window's modules load Qt plugins
    from signdesk.ui.main_window import MainWindow

    problem = qt_binding_problem(PySide6.__version__, sys.version_info[:2])
    if problem:
        raise SignDeskError(problem)

    app = make_application()
    settings, error = load_gui_settings(gui_overrides(args) if args is not None else None)
    camera_file = getattr(args, "camera_file", None) if args is not None else None
    window = MainWindow(settings, camera_file=camera_file, settings_error=error, **kwargs)
    window.show()
    return app, window


def run_gui(args: Any) -> int:
    """``signdesk`` / ``signdesk gui [--camera-file VIDEO]`` (``cli.main`` ran the bootstrap already)."""
    problem = display_problem()
    if problem:
        raise SignDeskError(problem)
    install_qt_messages(bool(getattr(args, "verbose", False)))
    camera_file = getattr(args, "camera_file", None)
    if camera_file and not os.path.isfile(camera_file):
        raise SignDeskError(f"{camera_file}: no such video file (--camera-file wants a video to play as the camera)")
    from PySide6.QtCore import QTimer

    app, window = build_window(args)
    QTimer.singleShot(0, window.start)  # after the first paint: the engine thread imports torch
    # Ctrl+C in the terminal closes the window cleanly. Python runs signal handlers only between
    # bytecodes, so a slow timer gives it the chance while Qt's loop waits.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer(interval=250)
    wake.timeout.connect(lambda: None)
    wake.start()
    code = app.exec()
    wake.stop()
    clean = window.shutdown()
    if not clean:
        # An interpretation is still inside the model and cannot be interrupted; everything the user
        # cares about (settings, window state) is saved, so leave without waiting for it.
        log.warning("leaving with a model step still running")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
