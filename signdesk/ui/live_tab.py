"""The Live tab: camera picker and resolution, the live view with its motion meter, the transcript."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from signdesk.sentence_line import RestClock, pause_setting
from signdesk.ui.correction_takes import CorrectionTakes
from signdesk.ui.live_session import LiveSession
from signdesk.ui.live_view import LiveView
from signdesk.ui.motion_meter import percent
from signdesk.ui.transcript_model import TranscriptModel
from signdesk.ui.transcript_view import TranscriptView
from signdesk.ui.widgets import described, side_by_side, single_shot
from signdesk.video.camera import COMMON_RESOLUTIONS, OpenCVCamera, VideoFileSource, list_cameras
from signdesk.video.segment import SegmenterConfig

if TYPE_CHECKING:
    from signdesk.config import Settings
    from signdesk.ui.speech import Speaker
    from signdesk.ui.workers import ClipOutcome, TaskRunner
    from signdesk.video.camera import FrameSource
    from signdesk.video.segment import SignClip

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"
#: Clip timings kept for the status bar and the benchmark.
LATENCY_HISTORY = 512
#: How long a per-clip error stays on the live view.
ERROR_SHOW_MS = 4000
#: "Hold still for a second": the video taken as the scene at rest.
CALIBRATE_S = 1.0
#: How long the calibration result stays in the hint line.
NOTE_SHOW_MS = 6000
MODEL_NOT_READY = "Model not ready: signs are not interpreted yet"
#: Failed attempts to open a camera before the view says there is none (1 when the system lists no camera).
NO_CAMERA_AFTER = 3
NO_CAMERA_TEXT = ("No camera found ({reason}). Connect one, or use a video file as the camera "
                  "(Ctrl+Shift+O).")
NO_CAMERA_ACTION = "Use a video file as the camera…"
NO_CAMERA_HINT = "No camera found; still looking for one"
#: How often the sentence line checks whether the signer has rested long enough to end a sentence.
REST_CHECK_MS = 250

_STATE_TEXT = {
    "opening": ("Opening {name}…", "info"),
    "lost": ("{message}", "warning"),
    "retrying": ("{message}", "warning"),
    "failed": ("{message}", "error"),
    "ended": ("{message}", "info"),
}


class LiveTab(QWidget):
    """Turns signing at the camera into transcript entries (the engine does the interpreting)."""

    running_changed = Signal(bool)
    """(running) the camera started or stopped."""
    latency_measured = Signal(float, float)
    """(end of sign to entry in ms, model time in ms) for the status bar."""
    clip_error_shown = Signal(str)
    """(message) interpreting a clip failed; the message is on the view for a few seconds."""
    status_message = Signal(str, int)
    """(text, milliseconds) a short note for the window's status bar, e.g. the result of Hold still."""
    cameras_listed = Signal(list)
    """(CameraInfo list) the system's cameras were listed (empty: none, so a failing webcam is missing)."""

    def __init__(self, settings: Settings, clip_sink: Callable[[SignClip], bool], runner: TaskRunner,
                 speaker: Speaker | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._clip_sink = clip_sink
        self._runner = runner
        self._factory_override: tuple[Callable[[], FrameSource], str] | None = None
        self.camera_file: str | None = None
        self.latencies: deque[dict[str, float]] = deque(maxlen=LATENCY_HISTORY)
        self.clip_errors = 0
        self._model_ready = False
        self._cameras_listed: bool | None = None  # None until the system's camera list came back
        self._open_failures = 0  # retries since the camera last delivered frames
        self._no_camera_after = NO_CAMERA_AFTER
        self.no_camera_shown = False

        top = self._build_top()
        self._build_view(settings, speaker)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self._build_session()
        self._fill_cameras([])

    def _build_top(self) -> QHBoxLayout:
        """Camera and resolution pickers, Start and Hold still, and the hint line, in one row."""
        self.camera = QComboBox(self)
        self.camera.setAccessibleName("Camera")
        self.camera.setAccessibleDescription("The camera to read, or a video file played as a camera")
        self.camera.setMinimumContentsLength(22)
        self.camera.activated.connect(self._on_camera_activated)
        self.resolution = QComboBox(self)
        self.resolution.setAccessibleName("Resolution")
        self.resolution.setAccessibleDescription("The resolution asked of the camera")
        for w, h in COMMON_RESOLUTIONS:
            self.resolution.addItem(f"{w} × {h}", f"{w}x{h}")
        self.resolution.activated.connect(self._on_resolution_activated)
        self.start_button = QPushButton("Start", self)
        self.start_button.setAccessibleName("Start or stop the camera")
        self.start_button.setToolTip("Start or stop the camera (F5)")
        self.start_button.clicked.connect(self.toggle)
        self.hold_button = QPushButton("Hold still", self)
        described(self.hold_button, "Hold still to calibrate motion detection",
                  "Hold still for a second so SignDesk learns how much your scene moves at rest")
        self.hold_button.setEnabled(False)  # only while the camera runs
        self.hold_button.clicked.connect(self.calibrate)
        self.hint = QLabel("", self)
        self.hint.setAccessibleName("Live state")
        top = QHBoxLayout()
        top.addWidget(QLabel("&Camera:", self, buddy=self.camera))
        top.addWidget(self.camera, 1)
        top.addWidget(QLabel("&Resolution:", self, buddy=self.resolution))
        top.addWidget(self.resolution)
        top.addWidget(self.start_button)
        top.addWidget(self.hold_button)
        top.addWidget(self.hint, 1)
        return top

    def _build_view(self, settings: Settings, speaker: Speaker | None) -> None:
        """The live view beside the transcript."""
        self.view = LiveView(self, placeholder="Press Start (F5) to open the camera,\nor choose a video file.")
        self.view.action_requested.connect(self.choose_camera_file)
        self.model = TranscriptModel(float(settings["live.threshold"]), parent=self)
        self.transcript = TranscriptView(self.model, speaker, self, name="Live transcript")
        self.transcript.speak_check.setChecked(bool(settings["live.speak"]))
        self.transcript.set_sentences(pause_setting(settings))
        self.rest_clock = RestClock()  # how long the signer has rested: the sentence line's pause rule
        self.speaker = speaker
        # corrections kept as takes of my signs (asked once; setting my_signs.keep_corrections)
        self.correction_takes = CorrectionTakes(settings, self.model, self._runner, self)
        self.correction_takes.kept.connect(
            lambda take: self.status_message.emit(f"Kept as a take of “{take.gloss}” (Training → My signs)", 4000))
        self.splitter = side_by_side(self, self.view, self.transcript)
        self.splitter.setSizes([600, 400])  # the transcript gets room (a saved layout wins, see restore_state)

    def _build_session(self) -> None:
        """The camera session (capture and segmenting off the GUI thread) and the hint timers."""
        self.session = LiveSession(self._submit, self)
        self.session.frame_captured.connect(self._on_frame)
        self.session.capture_state_changed.connect(self._on_capture_state)
        self.session.segmenter_status_changed.connect(self._on_segmenter_status)
        self.session.motion_measured.connect(self.view.set_motion)  # stores and repaints later: never stalls
        self.session.calibration_finished.connect(self._on_calibrated)
        self._error_timer = single_shot(self, ERROR_SHOW_MS, self._clear_transient)
        self._note_timer = single_shot(self, NOTE_SHOW_MS, self._clear_note)
        self._note = ""
        self._rest_timer = QTimer(self, interval=REST_CHECK_MS)
        self._rest_timer.timeout.connect(self._check_rest)
        self._rest_timer.start()

    # ---------------------------------------------------------------- cameras
    def refresh_cameras(self) -> None:
        """List the cameras in the background (opening devices can take a moment)."""
        self._runner.run("cameras", list_cameras, self._on_cameras_listed, lambda msg: self._fill_cameras([]))

    def _on_cameras_listed(self, cameras: list) -> None:
        self._cameras_listed = bool(cameras)
        self._fill_cameras(cameras)
        self.cameras_listed.emit(list(cameras))

    def _fill_cameras(self, cameras: list) -> None:
        current = self.camera.currentData()
        self.camera.clear()
        if self._factory_override is not None:
            self.camera.addItem(self._factory_override[1], "factory:")
        if self.camera_file:
            self.camera.addItem(f"Video file: {Path(self.camera_file).name}", f"file:{self.camera_file}")
        for cam in cameras:
            self.camera.addItem(cam.label, f"camera:{cam.index}")
        if not cameras and self._factory_override is None and not self.camera_file:
            self.camera.addItem("Camera 0", "camera:0")
        self.camera.addItem("Video file as camera…", "browse:")
        index = self.camera.findData(current) if current is not None else -1
        self.camera.setCurrentIndex(index if index >= 0 else 0)

    def _on_camera_activated(self, index: int) -> None:
        kind, _ = _split(self.camera.itemData(index))
        if kind == "browse":
            self.choose_camera_file()
        elif self.running:
            self.start()  # switch cameras at once

    def _on_resolution_activated(self, index: int) -> None:
        if self.running and _split(self.camera.currentData())[0] == "camera":
            self.start()  # reopen the camera at the new resolution

    def choose_camera_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play a video file as the camera", str(Path.home()), VIDEO_FILTER)
        if path:
            self.set_camera_file(path, start=True)
        else:
            self._fill_cameras(self._camera_infos())

    def _camera_infos(self) -> list:
        from signdesk.video.camera import CameraInfo

        infos = []
        for i in range(self.camera.count()):
            kind, value = _split(self.camera.itemData(i))
            if kind == "camera":
                infos.append(CameraInfo(int(value), self.camera.itemText(i)))
        return infos

    def set_camera_file(self, path: str, *, start: bool = True) -> None:
        """Use a video file, played at its own rate and looped, as the camera."""
        self.camera_file = str(path)
        self._fill_cameras(self._camera_infos())
        self.camera.setCurrentIndex(self.camera.findData(f"file:{self.camera_file}"))
        if start:
            self.start()

    def set_source_factory(self, factory: Callable[[], FrameSource], name: str = "Test camera") -> None:
        """Use an injected source (tests, benchmark) as the selected camera."""
        self._factory_override = (factory, name)
        self._fill_cameras(self._camera_infos())
        self.camera.setCurrentIndex(self.camera.findData("factory:"))

    def _source_factory(self) -> tuple[Callable[[], FrameSource], str]:
        kind, value = _split(self.camera.currentData() or "camera:0")
        if kind == "factory" and self._factory_override is not None:
            return self._factory_override
        if kind == "file":
            return (lambda: VideoFileSource(value, loop=True)), f"video file {Path(value).name}"
        w, _, h = str(self.resolution.currentData() or "").partition("x")
        resolution = (int(w), int(h)) if w.isdigit() and h.isdigit() else None
        index = int(value or 0)
        return (lambda: OpenCVCamera(index, resolution)), f"camera {index}"

    # ---------------------------------------------------------------- start / stop
    @property
    def running(self) -> bool:
        return self.session.running

    def toggle(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        factory, name = self._source_factory()
        self._source_name = name
        self._open_failures = 0
        self.no_camera_shown = False
        # a webcam on a system that lists none is missing for sure: say so at the first failure
        listed_none = self._cameras_listed is False and _split(self.camera.currentData())[0] == "camera"
        self._no_camera_after = 1 if listed_none else NO_CAMERA_AFTER
        self.view.set_message(f"Opening {name}…")
        self.view.set_calibrating(False)  # a restart drops a calibration in progress
        self.hold_button.setEnabled(False)  # until frames arrive
        self.session.start(factory, SegmenterConfig.from_settings(self.settings))
        self.start_button.setText("Stop")
        self.running_changed.emit(True)

    def stop(self) -> bool:
        ok = self.session.stop()
        self.transcript.sentence_panel.finish()  # the signing ended with the camera: so does its sentence
        self.rest_clock.reset()
        self.view.clear()
        self.view.set_message("")
        self.start_button.setText("Start")
        self.hold_button.setEnabled(False)
        self.hint.setText("")
        self.running_changed.emit(False)
        return ok

    # ---------------------------------------------------------------- motion detection
    def calibrate(self, seconds: float = CALIBRATE_S) -> bool:
        """Learn how much the scene moves at rest from the next ``seconds`` of video (the user holds still).

        The view says "Hold still…" until the session's ``calibration_finished``; False when no camera runs.
        """
        if not self.session.calibrate(seconds):
            return False
        self.view.set_calibrating(True)
        self.hold_button.setEnabled(False)  # one calibration at a time
        return True

    @Slot(float)
    def _on_calibrated(self, floor: float) -> None:
        self.view.set_calibrating(False)
        self.hold_button.setEnabled(self.session.state == "running")
        self._note = f"Calibrated: rest moves {percent(floor)} % of the picture"
        self.hint.setText(self._note)
        self._note_timer.start()
        self.status_message.emit(self._note, NOTE_SHOW_MS)

    def _clear_note(self) -> None:
        if self.hint.text() == self._note:  # unless something more recent took the line
            self.hint.setText(MODEL_NOT_READY if self.running and not self._model_ready else "")
        self._note = ""

    def set_clip_size(self, size: tuple[int, int] | None) -> None:
        """The model's frame size (width, height), or None: camera frames then carry a copy at that size."""
        self.session.set_clip_size(size)

    def shutdown(self, timeout: float = 2.0) -> bool:
        return self.session.stop(timeout)

    # ---------------------------------------------------------------- settings
    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.model.set_threshold(float(settings["live.threshold"]))
        self.session.set_segmenter_config(SegmenterConfig.from_settings(settings))
        self.transcript.set_sentences(pause_setting(settings))

    def set_model_ready(self, ready: bool) -> None:
        self._model_ready = ready
        if not ready and self.running:
            self.hint.setText(MODEL_NOT_READY)
        elif ready:
            self.hint.setText("")

    # ---------------------------------------------------------------- pipeline events
    def _submit(self, clip: SignClip) -> None:
        """From the segmenter thread: hand the clip to the engine (never blocks)."""
        if self._clip_sink(clip):
            self.rest_clock.sent(clip.emitted_t)

    @Slot(object)
    def _on_frame(self, frame) -> None:
        self.view.set_frame(frame.image)

    def _show_no_camera(self, message: str) -> None:
        """One message that stays (no "retrying in 4 s" every few seconds) and offers a video file instead."""
        reason = message.split(" — retrying", 1)[0].strip()
        if "cannot be opened" in reason:  # "Camera 0 cannot be opened: is it connected...?"
            reason = reason.split(":", 1)[0]
        self.no_camera_shown = True
        self.view.set_message(NO_CAMERA_TEXT.format(reason=reason), "warning", action=NO_CAMERA_ACTION,
                              tip="Play a video file as the camera (Ctrl+Shift+O)")
        self.hint.setText(NO_CAMERA_HINT)

    @Slot(str, str)
    def _on_capture_state(self, state: str, message: str) -> None:
        # calibrating needs frames: possible while they come, and again once the calibration is over
        self.hold_button.setEnabled(state == "running" and not self.view.calibrating)
        if state == "retrying":
            # LiveSession passes no attempt number: one "retrying" per failed attempt, counted since frames came
            self._open_failures += 1
            if self._open_failures >= self._no_camera_after:
                if not self.no_camera_shown:
                    self._show_no_camera(message)
                return  # keep retrying quietly in the background: a camera plugged in later is picked up
        if state == "opening" and self.no_camera_shown:
            return
        if state == "running":
            self._open_failures = 0
            self.no_camera_shown = False
            self.view.set_message("")
            self.hint.setText("" if self._model_ready else MODEL_NOT_READY)
        elif state == "stopped":
            self.no_camera_shown = False
            self.view.set_calibrating(False)
            if self.start_button.text() == "Stop" and not self.session.running:
                self.start_button.setText("Start")
                self.running_changed.emit(False)
        elif state in _STATE_TEXT:
            template, level = _STATE_TEXT[state]
            text = template.format(name=getattr(self, "_source_name", "camera"), message=message)
            self.view.set_message(text, level)
            self.hint.setText(text if state != "opening" else "")
            if state in {"failed", "ended"}:
                self.no_camera_shown = False
                self.start_button.setText("Start")
                self.running_changed.emit(False)

    @Slot(bool, float)
    def _on_segmenter_status(self, signing: bool, collected_s: float) -> None:
        self.rest_clock.signing(signing)
        self.view.set_signing(signing, collected_s, float(self.settings["live.max_sign_s"]))

    def on_clip_interpreted(self, clip: SignClip, outcome: ClipOutcome) -> None:
        now = time.monotonic()
        self.view.set_busy(False)
        self.rest_clock.answered(clip.emitted_t, clip.last_frame_t or now)
        if not outcome.text:
            return
        row, merged = self.model.add(
            outcome.text, outcome.score, outcome.candidates, clip.start_s, clip.end_s, clip.motion_id,
            model_ms=outcome.model_ms,
        )
        self.correction_takes.remember(clip, self.session.capture_fps or 30.0)  # a correction may keep it
        figures = {
            "model_ms": outcome.model_ms,
            # from the last frame of the sign to the word on screen (includes the segmenter's hold time)
            "sign_end_to_entry_ms": (now - clip.last_frame_t) * 1000 if clip.last_frame_t else float("nan"),
            # from the clip leaving the segmenter to the word on screen, minus the model's own time
            "added_ms": (now - clip.emitted_t) * 1000 - outcome.model_ms if clip.emitted_t else float("nan"),
            "queued_ms": (outcome.started_t - clip.emitted_t) * 1000 if clip.emitted_t else float("nan"),
            # the segmenter's decision that the sign is over (its hold time), and the trip back to the GUI
            "detect_ms": (clip.emitted_t - clip.last_frame_t) * 1000 if clip.emitted_t else float("nan"),
            "post_ms": (now - outcome.finished_t) * 1000,
            "t": now,
        }
        self.latencies.append(figures)
        self.latency_measured.emit(figures["sign_end_to_entry_ms"], outcome.model_ms)
        entry = self.model.entry(row)
        # with sentences on, speech reads each sentence instead (TranscriptView._on_sentence_written)
        if (not merged and self.speaker is not None and self.transcript.speak_check.isChecked()
                and self.model.transcript.is_sure(entry) and not self.transcript.sentence_panel.enabled):
            self.speaker.say(entry.text)

    def on_clip_failed(self, clip: SignClip, message: str) -> None:
        self.rest_clock.answered(clip.emitted_t, clip.last_frame_t or time.monotonic())
        self.clip_errors += 1
        self.view.set_busy(False)
        self.view.set_message(f"This sign could not be interpreted: {message}", "warning")
        self._error_timer.start()
        self.clip_error_shown.emit(message)

    def on_clip_started(self) -> None:
        self.view.set_busy(True)

    def _check_rest(self) -> None:
        """The sentence line's pause rule: the open sentence is written once the signer has rested long enough."""
        if self.running and self.transcript.sentence_panel.enabled:
            self.transcript.sentence_panel.rest(self.rest_clock.resting_s(time.monotonic()))

    def _clear_transient(self) -> None:
        if self.session.state == "running":
            self.view.set_message("")

    # ---------------------------------------------------------------- state
    def save_state(self) -> dict[str, Any]:
        data = self.camera.currentData() or ""
        return {
            "camera": data if _split(data)[0] in {"camera", "file"} else None,
            "resolution": self.resolution.currentData(),
            "splitter": self.splitter.saveState().toBase64().data().decode("ascii"),
            "text_scale": self.transcript.text_scale,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        from PySide6.QtCore import QByteArray

        index = self.resolution.findData(str(state.get("resolution") or ""))
        if index >= 0:
            self.resolution.setCurrentIndex(index)
        if isinstance(state.get("splitter"), str):
            self.splitter.restoreState(QByteArray.fromBase64(state["splitter"].encode("ascii")))
        if isinstance(state.get("text_scale"), int | float):
            self.transcript.set_text_scale(float(state["text_scale"]))
        camera = state.get("camera")
        if isinstance(camera, str) and camera:
            kind, value = _split(camera)
            if kind == "file" and Path(value).is_file() and not self.camera_file:
                self.camera_file = value
                self._fill_cameras(self._camera_infos())
            index = self.camera.findData(camera)
            if index >= 0:
                self.camera.setCurrentIndex(index)


def _split(data: Any) -> tuple[str, str]:
    """Camera combo data is ``kind:value`` (camera:0, file:/path, factory:, browse:)."""
    kind, _, value = str(data or "").partition(":")
    return kind, value
