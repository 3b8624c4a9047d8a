"""The main window: model state line, Live and File tabs, settings panel, status bar, menus and shortcuts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from signdesk import __version__
from signdesk.errors import ConfigError, SignDeskError
from signdesk.sentence_line import pause_setting
from signdesk.ui import window_state
from signdesk.ui.file_tab import FileTab
from signdesk.ui.live_tab import LiveTab
from signdesk.ui.model_banner import ModelBanner
from signdesk.ui.settings_panel import RELOAD_KEYS, SettingsPanel
from signdesk.ui.speech import Speaker
from signdesk.ui.status_bar import StatusBar
from signdesk.ui.training_tab import TrainingTab
from signdesk.ui.widgets import VideoDropTarget
from signdesk.ui.workers import EngineInfo, EngineWorker, Loader, TaskRunner

if TYPE_CHECKING:
    from signdesk.config import Settings
    from signdesk.ui.transcript_view import TranscriptView
    from signdesk.video.camera import FrameSource
    from signdesk.video.segment import SignClip

log = logging.getLogger(__name__)

#: Seconds closing the window waits for all threads together.
CLOSE_TIMEOUT_S = 3.0

SHORTCUTS = (
    ("F5", "Start or stop the camera"),
    ("Ctrl+O", "Open a video file to interpret"),
    ("Ctrl+Shift+O", "Play a video file as the camera"),
    ("Ctrl+S", "Save the transcript (.txt, .srt, .json)"),
    ("Ctrl+Shift+C", "Copy the transcript"),
    ("Ctrl+L", "Clear the transcript"),
    ("Ctrl+K", "Speak the transcript"),
    ("Ctrl+Return", "End the sentence now (sentences on)"),
    ("Ctrl++ / Ctrl+-", "Larger / smaller transcript text"),
    ("Ctrl+,", "Show or hide the settings"),
    ("Esc", "Cancel interpreting a video file"),
    ("Ctrl+1 / Ctrl+2 / Ctrl+3", "Live tab / File tab / Training tab"),
    ("Alt+Left / Alt+Right", "Training: previous / next step"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
)


class MainWindow(VideoDropTarget, QMainWindow):
    """SignDesk's window. ``start()`` (after ``show()``) begins loading the model in the background."""

    shut_down = Signal(bool)
    """(clean) the window closed; ``clean`` is False when a thread did not stop in time."""

    def __init__(
        self,
        settings: Settings,
        *,
        loader: Loader | None = None,
        camera_file: str | None = None,
        source_factory: Callable[[], FrameSource] | None = None,
        state_file: Path | None = None,
        settings_error: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("SignDesk")
        self.setAccessibleName("SignDesk")
        self.setAcceptDrops(True)
        self._state_file = state_file
        self._camera_file = camera_file
        self._source_factory = source_factory
        self._settings_error = settings_error
        self._pending_file: str | None = None
        self._loaded_model_id: str | None = None  # what the engine holds (an adapter may bring its own)
        self._shutdown_done = False
        self.threads_stuck = False

        self.runner = TaskRunner(self)
        self.engine = EngineWorker(loader, self)
        self.speaker = Speaker(self)

        self._build_central(settings)
        self._build_settings_dock(settings)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._build_actions()
        self._connect()

        self._status_timer = QTimer(self, interval=500)
        self._status_timer.timeout.connect(self._update_rates)
        self._status_timer.start()
        self._restore_state()

    # ---------------------------------------------------------------- construction
    def _build_central(self, settings: Settings) -> None:
        """The model banner above the Live, File and Training tabs."""
        self.banner = ModelBanner(self)
        self.live = LiveTab(settings, self._submit_clip, self.runner, self.speaker, self)
        self.files = FileTab(self.runner, self.speaker, float(settings["live.threshold"]), self)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Modes")
        self.tabs.addTab(self.live, "&Live")
        self.tabs.addTab(self.files, "&File")
        self.training = TrainingTab(settings, self.runner, self)
        self.tabs.addTab(self.training, "&Training")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _build_settings_dock(self, settings: Settings) -> None:
        """The settings panel, docked on the right and hidden until asked for (Ctrl+,)."""
        self.settings_panel = SettingsPanel(self)
        self.settings_panel.load(settings)
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settings-dock")
        self.settings_dock.setAccessibleName("Settings panel")
        self.settings_dock.setWidget(self.settings_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.settings_dock)
        self.settings_dock.hide()

    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | QKeySequence | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text.replace("&", "").rstrip("…"))
        action.setStatusTip(action.toolTip())
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_open = self._action("&Open video…", self.open_video_dialog, QKeySequence.StandardKey.Open)
        self.act_camera_file = self._action("Use video file as &camera…", self.choose_camera_file, "Ctrl+Shift+O")
        self.act_save = self._action("&Save transcript…", lambda: self.current_transcript().save_dialog(),
                                     QKeySequence.StandardKey.Save)
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_copy = self._action("&Copy transcript", lambda: self.current_transcript().copy_to_clipboard(),
                                     "Ctrl+Shift+C")
        self.act_clear = self._action("C&lear transcript", lambda: self.current_transcript().clear(), "Ctrl+L")
        self.act_start = self._action("&Start/stop camera", self.toggle_camera, "F5")
        self.act_speak = self._action("S&peak transcript", lambda: self.current_transcript().speak_all(), "Ctrl+K")
        self.act_speak.setEnabled(False)
        self.act_cancel = self._action("Cancel &video", self.engine.cancel_file_job, "Esc")
        self.act_end_sentence = self._action("&End sentence", lambda: self.current_transcript().sentence_panel.finish(),
                                             "Ctrl+Return", "Write the signs since the last sentence as a sentence now")
        self.act_bigger = self._action("&Larger text", lambda: self._zoom(1.15), QKeySequence.StandardKey.ZoomIn)
        self.act_bigger.setShortcuts([QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")])
        self.act_smaller = self._action("S&maller text", lambda: self._zoom(1 / 1.15), QKeySequence.StandardKey.ZoomOut)
        self.act_settings = self.settings_dock.toggleViewAction()
        self.act_settings.setText("&Settings")
        self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_live_tab = self._action("&Live tab", lambda: self.tabs.setCurrentWidget(self.live), "Ctrl+1")
        self.act_file_tab = self._action("&File tab", lambda: self.tabs.setCurrentWidget(self.files), "Ctrl+2")
        self.act_training_tab = self._action("&Training tab", lambda: self.tabs.setCurrentWidget(self.training),
                                             "Ctrl+3")
        self.act_reload = self._action("&Reload model", self.reload_model)
        self.act_download = self._action("&Download model", self.download_model)
        self.act_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts,
                                          QKeySequence.StandardKey.HelpContents)
        self.act_about = self._action("&About SignDesk", self.show_about)

        bar = self.menuBar()
        menu = bar.addMenu("&File")
        menu.addActions([self.act_open, self.act_camera_file, self.act_save])
        menu.addSeparator()
        menu.addAction(self.act_quit)
        menu = bar.addMenu("&Edit")
        menu.addActions([self.act_copy, self.act_clear])
        menu = bar.addMenu("&Live")
        menu.addActions([self.act_start, self.act_speak, self.act_end_sentence, self.act_cancel])
        menu = bar.addMenu("&View")
        menu.addActions([self.act_live_tab, self.act_file_tab, self.act_training_tab, self.act_bigger, self.act_smaller,
                         self.act_settings])
        menu = bar.addMenu("&Model")
        menu.addActions([self.act_reload, self.act_download])
        menu = bar.addMenu("&Help")
        menu.addActions([self.act_shortcuts, self.act_about])

    def _connect(self) -> None:
        e = self.engine
        e.load_progressed.connect(self._on_load_progress)
        e.loaded.connect(self._on_loaded)
        e.load_failed.connect(self._on_load_failed)
        e.reconfigured.connect(self._on_reconfigured)
        e.reconfigure_failed.connect(self._on_reconfigure_failed)
        e.clip_started.connect(lambda clip: self.live.on_clip_started())
        e.clip_interpreted.connect(self.live.on_clip_interpreted)
        e.clip_failed.connect(self.live.on_clip_failed)
        e.file_progressed.connect(self.files.on_progress)
        e.file_sign_interpreted.connect(self.files.on_sign)
        e.file_failed.connect(self.files.on_failed)
        e.file_finished.connect(self._on_file_finished)
        # the sentence line: both transcripts ask the engine; answers go back by key (the transcript's name)
        for view in self._sentence_views():
            view.sentence_panel.set_sink(self.engine.request_sentence)
            e.sentence_written.connect(view.sentence_panel.on_written)
            e.sentence_failed.connect(view.sentence_panel.on_failed)
        self.files.transcript.set_sentences(pause_setting(self.settings))
        self.banner.download_requested.connect(self.download_model)
        self.banner.retry_requested.connect(self.reload_model)
        self.banner.settings_requested.connect(self.show_settings)
        self.files.sig_transcribe_requested.connect(self.open_video)
        self.files.sig_cancel_requested.connect(self.engine.cancel_file_job)
        self.live.latency_measured.connect(lambda total, model: self.status.set_latency(total, model))
        self.live.clip_error_shown.connect(lambda msg: self.status.showMessage(f"Sign not interpreted: {msg}", 6000))
        self.live.status_message.connect(self.status.showMessage)
        self.live.running_changed.connect(self._on_running_changed)
        self.live.transcript.speak_check.toggled.connect(self._on_speak_toggled)
        self.settings_panel.sig_apply_requested.connect(self.apply_settings)
        self.training.sig_use_adapter_requested.connect(self.use_adapter)
        self.speaker.availability_changed.connect(self.act_speak.setEnabled)

    # ---------------------------------------------------------------- start and stop
    def start(self) -> None:
        """Begin the background work: model load, speech probe, camera list, the camera file if given."""
        self.engine.start()
        self.banner.set_loading("load", -1.0, f"Loading {self.settings['model.id']}…")
        self.status.clear_engine("loading…")
        self.engine.load(self.settings)
        self.live.set_model_ready(False)
        QTimer.singleShot(0, self.speaker.probe)
        self.live.refresh_cameras()
        if self._source_factory is not None:
            self.live.set_source_factory(self._source_factory)
            self.live.start()
        elif self._camera_file:
            self.live.set_camera_file(self._camera_file, start=True)
        if self._settings_error:
            box = QMessageBox(QMessageBox.Icon.Warning, "Settings", self._settings_error, parent=self)
            box.setModal(False)
            box.open()

    def shutdown(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Stop and join every thread; True when all ended within ``timeout`` seconds."""
        if self._shutdown_done:
            return not self.threads_stuck
        self._shutdown_done = True
        deadline = time.monotonic() + timeout
        self._status_timer.stop()
        self.speaker.stop()
        self.training.shutdown()  # before the task thread stops: it saves the wizard; its jobs go on
        self.engine.stop()
        self.runner.stop()
        ok = self.live.shutdown(min(2.0, timeout / 2))
        ok &= self.engine.join(max(0.1, deadline - time.monotonic()))
        ok &= self.runner.join(max(0.1, deadline - time.monotonic()))
        self.threads_stuck = not ok
        if not ok:
            log.warning("a background thread did not stop within %.1f s (a model step still running?)", timeout)
        self.shut_down.emit(ok)
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._shutdown_done:
            self._save_state()
            self.shutdown()
        event.accept()

    # ---------------------------------------------------------------- engine events
    @Slot(str, float, str)
    def _on_load_progress(self, stage: str, fraction: float, message: str) -> None:
        self.banner.set_loading(stage, fraction, message)

    @Slot(object)
    def _on_loaded(self, info: EngineInfo) -> None:
        self._loaded_model_id = info.model_id
        self.banner.set_ready(self._ready_text(info))
        self.status.set_engine(info.device, info.model_id, info.adapter, info.dtype)
        self.live.set_clip_size(info.frame_size)  # live signs reach the model resized once, as files do
        self.live.set_model_ready(True)
        for view in self._sentence_views():  # requests made before (or dropped by a reload) go out again
            view.sentence_panel.resend()
        if self._pending_file:
            path, self._pending_file = self._pending_file, None
            self.open_video(path)

    def _ready_text(self, info: EngineInfo) -> str:
        adapter = f" + adapter {Path(info.adapter).name}" if info.adapter else ""
        mode = "glossary" if info.mode == "vocab" else "free answers"
        return (f"Ready: {Path(info.model_id).name}{adapter} on {info.device} ({mode}, {info.num_frames} frames"
                f"{self._profile_text(info)}). Sign at the camera (F5 starts it) or open a video (Ctrl+O).")

    @staticmethod
    def _profile_text(info: EngineInfo) -> str:
        """Which visual budget runs, and on the CPU how to get the best accuracy instead."""
        if not info.profile:
            return ""
        if info.device == "cpu" and info.profile != "quality":
            return f", {info.profile} profile on the CPU; Settings → Profile: quality for best accuracy"
        return f", {info.profile} profile"

    @Slot(str, bool)
    def _on_load_failed(self, message: str, missing: bool) -> None:
        self.banner.set_failed(message, missing=missing)
        self.status.clear_engine("not loaded")
        self.live.set_model_ready(False)
        if self._pending_file:
            self.files.refuse("The model is not loaded, so the video cannot be interpreted.")
            self._pending_file = None

    @Slot(object)
    def _on_reconfigured(self, info: EngineInfo) -> None:
        self.banner.set_ready(self._ready_text(info))
        self.live.set_clip_size(info.frame_size)  # a profile or adapter change may change the frame size
        self.status.set_engine(info.device, info.model_id, info.adapter, info.dtype)

    @Slot(str)
    def _on_reconfigure_failed(self, message: str) -> None:
        self.status.showMessage(f"Setting not applied: {message}", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Settings", f"That change could not be applied:\n{message}",
                          parent=self)
        box.setModal(False)
        box.open()

    @Slot(str, bool)
    def _on_file_finished(self, path: str, cancelled: bool) -> None:
        self.files.on_finished(path, cancelled)

    def _on_running_changed(self, running: bool) -> None:
        if not running:
            self.status.set_fps(None, None)

    def _update_rates(self) -> None:
        capture = self.live.session.capture_fps if self.live.running else 0.0
        display = self.live.view.display_fps if self.live.running else 0.0
        self.live.view.set_capture_fps(capture)
        self.status.set_fps(capture, display)

    # ---------------------------------------------------------------- commands
    def _submit_clip(self, clip: SignClip) -> bool:
        """Called on the segmenter thread: hand the clip over (latest wins), never block."""
        return self.engine.submit_clip(clip)

    def toggle_camera(self) -> None:
        self.tabs.setCurrentWidget(self.live)
        self.live.toggle()

    def choose_camera_file(self) -> None:
        self.tabs.setCurrentWidget(self.live)
        self.live.choose_camera_file()

    def open_video_dialog(self) -> None:
        self.tabs.setCurrentWidget(self.files)
        self.files.open_dialog()

    def open_video(self, path: str) -> bool:
        """Interpret a video file in the File tab (queued until the model is ready)."""
        from signdesk.transcribe import transcribe_steps
        from signdesk.video.segment import SegmenterConfig

        self.tabs.setCurrentWidget(self.files)
        if not Path(path).is_file():
            self.files.on_failed(path, f"{path}: no such video file")
            return False
        if not self.engine.ready:
            if self.banner.state in {"failed", "missing"}:
                self.files.refuse("The model is not loaded, so the video cannot be interpreted (see the line above).")
                return False
            self._pending_file = path
            self.files.refuse(f"{Path(path).name} will be interpreted as soon as the model is ready…")
            return False
        config = SegmenterConfig.from_settings(self.settings)
        if not self.engine.start_file_job(path, lambda interp: transcribe_steps(path, interp, config)):
            self.files.refuse("A video is being interpreted: wait for it or cancel it (Esc) first.")
            return False
        self.files.begin(path)
        return True

    def reload_model(self) -> None:
        self.live.set_model_ready(False)
        self.banner.set_loading("load", -1.0, f"Loading {self.settings['model.id']}…")
        self.engine.load(self.settings)

    def download_model(self) -> None:
        self.live.set_model_ready(False)
        self.banner.set_loading("download", -1.0, f"Downloading {self.settings['model.id']}…")
        self.engine.load(self.settings, allow_download=True)

    def show_settings(self) -> None:
        self.settings_dock.show()
        self.settings_dock.raise_()
        self.settings_panel.model.setFocus()

    def apply_settings(self, changes: dict[str, Any]) -> bool:
        """Validate, save and apply changed settings; the model reloads only when it must."""
        lo = changes.get("live.min_sign_s", self.settings["live.min_sign_s"])
        hi = changes.get("live.max_sign_s", self.settings["live.max_sign_s"])
        try:
            if hi <= lo:
                raise ConfigError("the longest sign must be longer than the shortest sign")
            self.settings.with_overrides(changes, source="settings panel")  # check all before changing any
            for key, value in changes.items():
                self.settings.set_user(key, value)
        except ConfigError as exc:
            QMessageBox.warning(self, "Settings", str(exc))
            return False
        self._save_settings()
        self.settings_panel.accept_applied(changes)
        adapter_signs = None
        if changes.get("model.adapter"):
            try:  # an adapter brings its base model and signs (a small JSON read)
                from signdesk.engine.adapters import adapter_defaults

                completed, adapter_signs = adapter_defaults(self.settings)
            except SignDeskError as exc:
                QMessageBox.warning(self, "Settings", str(exc))
                return False
            if completed["model.id"] != self._loaded_model_id:
                changes = {**changes, "model.id": completed["model.id"]}  # another base model: reload
        if RELOAD_KEYS & changes.keys():
            self.reload_model()
        else:
            if "model.adapter" in changes:
                self.engine.set_adapter(changes["model.adapter"])
            options = {key: changes[key] for key in ("mode", "glossary", "top_k") if key in changes}
            if adapter_signs and "glossary" not in changes:
                options["glossary"] = adapter_signs
            if "frames" in changes:
                options["num_frames"] = changes["frames"]
            if "profile" in changes:
                options["profile"] = changes["profile"]
            if options:
                self.engine.configure(**options)
        self.live.apply_settings(self.settings)
        self.files.set_threshold(float(self.settings["live.threshold"]))
        self.files.set_sentences(pause_setting(self.settings))
        if "sentences.max_new_tokens" in changes:
            self.engine.sentence_settings_changed()
        self.status.showMessage("Settings applied and saved.", 4000)
        return True

    def use_adapter(self, changes: dict[str, Any]) -> None:
        """The Training tab's "use": apply the adapter (and its glossary, frames) as the settings panel would."""
        adapter = str(changes.get("model.adapter") or "")
        ok = self.apply_settings(changes)
        self.training.adapter_applied(adapter, ok)
        if ok:
            self.tabs.setCurrentWidget(self.live)

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            self.status.showMessage(f"Settings could not be saved: {exc}", 10000)

    def _on_speak_toggled(self, on: bool) -> None:
        if bool(self.settings["live.speak"]) != on:
            self.settings.set_user("live.speak", on)
            self._save_settings()

    def _sentence_views(self) -> tuple[TranscriptView, TranscriptView]:
        return self.live.transcript, self.files.transcript

    def current_transcript(self) -> TranscriptView:
        return self.files.transcript if self.tabs.currentWidget() is self.files else self.live.transcript

    def _zoom(self, factor: float) -> None:
        for view in (self.live.transcript, self.files.transcript):
            view.set_text_scale(view.text_scale * factor)

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for key, what in SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table>{rows}</table>", parent=self)
        box.setModal(False)
        box.open()

    def show_about(self) -> None:
        QMessageBox.about(self, "About SignDesk",
                          f"SignDesk {__version__}<br>Sign language to text with InternVL3 and LoRA adapters.")

    # ---------------------------------------------------------------- drag and drop anywhere
    def video_dropped(self, path: str) -> None:
        self.open_video(path)

    # ---------------------------------------------------------------- window state
    def _restore_state(self) -> None:
        state = window_state.load_state(self._state_file)
        window_state.restore_geometry(self, state.get("geometry"))
        saved = window_state.decode(state.get("dock_state"))
        if saved is not None:
            self.restoreState(saved)
        if isinstance(state.get("live"), dict):
            self.live.restore_state(state["live"])
        if isinstance(state.get("tab"), int) and 0 <= state["tab"] < self.tabs.count():
            self.tabs.setCurrentIndex(state["tab"])

    def _save_state(self) -> None:
        window_state.save_state({
            "geometry": window_state.encode(self.saveGeometry()),
            "dock_state": window_state.encode(self.saveState()),
            "tab": self.tabs.currentIndex(),
            "live": self.live.save_state(),
        }, self._state_file)
