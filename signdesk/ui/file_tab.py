"""The File tab: open or drop a video; its signs are found and interpreted with progress and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from signdesk.transcript import short_time
from signdesk.ui.live_view import LiveView
from signdesk.ui.transcript_model import TranscriptModel
from signdesk.ui.transcript_view import TranscriptView
from signdesk.ui.widgets import VideoDropTarget, side_by_side

if TYPE_CHECKING:
    from signdesk.transcribe import SignResult
    from signdesk.ui.speech import Speaker
    from signdesk.ui.workers import TaskRunner

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
#: Share of the progress bar for finding signs; the rest is interpreting them.
SEGMENT_SHARE = 0.3


class FileTab(VideoDropTarget, QWidget):
    """A video file's transcript, with times; click a word to see that moment."""

    sig_transcribe_requested = Signal(str)
    """(path) the user opened or dropped a video to interpret."""
    sig_cancel_requested = Signal()
    """The user pressed Cancel while a video is being interpreted."""

    def __init__(self, runner: TaskRunner, speaker: Speaker | None = None, threshold: float = 0.35,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._runner = runner
        self.path: str | None = None
        self.fps = 25.0
        self.running = False
        self.errors: list[str] = []
        self.open_dir = Path.home()
        top = self._build_top()
        self.status = QLabel("", self)
        self.status.setAccessibleName("File state")
        self.status.setWordWrap(True)
        self.preview = LiveView(self, name="Video preview", placeholder="Open or drop a video file here.")
        self.preview.show_fps = False
        self.model = TranscriptModel(threshold, show_times=True, parent=self)
        self.transcript = TranscriptView(self.model, speaker, self, name="File transcript")
        self.transcript.entry_clicked.connect(self.show_moment)
        self.splitter = side_by_side(self, self.preview, self.transcript)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.splitter, 1)

    def _build_top(self) -> QHBoxLayout:
        """Open…, the file's name, the progress bar and Cancel, in one row."""
        self.open_button = QPushButton("&Open video…", self)
        self.open_button.setAccessibleName("Open video")
        self.open_button.setAccessibleDescription("Choose a video file to interpret (Ctrl+O); or drop one here")
        self.open_button.clicked.connect(self.open_dialog)
        self.file_label = QLabel("Open or drop a video file.", self)
        self.file_label.setAccessibleName("Video file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Interpretation progress")
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel interpretation")
        self.cancel_button.setToolTip("Stop interpreting this video (Esc)")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.sig_cancel_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.file_label, 1)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        return top

    # ---------------------------------------------------------------- opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Interpret a video file", str(self.open_dir), VIDEO_FILTER)
        if path:
            self.sig_transcribe_requested.emit(path)

    def video_dropped(self, path: str) -> None:
        self.sig_transcribe_requested.emit(path)

    # ---------------------------------------------------------------- the job
    def begin(self, path: str) -> None:
        """The engine accepted the job: reset the transcript and show progress."""
        self.path = path
        self.open_dir = Path(path).parent
        self.running = True
        self.errors.clear()
        self.model.clear()
        self.file_label.setText(Path(path).name)
        self.file_label.setToolTip(path)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.open_button.setEnabled(False)
        self.status.setText("Finding signs…")
        self.preview.clear()
        self.preview.set_message("")
        self._probe(path)

    def _probe(self, path: str) -> None:
        def work():
            from signdesk.transcribe import read_frame
            from signdesk.video.decode import probe_video

            info = probe_video(path)
            return info.fps, read_frame(path, 0)

        def done(value) -> None:
            if path == self.path:
                self.fps = value[0] or 25.0
                self.preview.set_frame(value[1])
                self.preview.set_caption(short_time(0.0))

        self._runner.run("file-probe", work, done, lambda message: None)

    def refuse(self, message: str) -> None:
        self.status.setText(message)

    def on_progress(self, stage: str, done: int, total: int, message: str) -> None:
        fraction = done / total if total else 0.0
        value = SEGMENT_SHARE * fraction if stage == "segment" else SEGMENT_SHARE + (1 - SEGMENT_SHARE) * fraction
        self.progress.setValue(int(value * 1000))
        self.status.setText(message)

    def on_sign(self, result: SignResult) -> None:
        span = result.span
        if result.error:
            self.errors.append(f"{short_time(span.start_s)}: {result.error}")
            self.status.setText(f"Sign at {short_time(span.start_s)} could not be interpreted: {result.error}")
            return
        if not result.text:
            return
        self.model.add(result.text, result.score, result.candidates, span.start_s, span.end_s, span.motion_id,
                       start_frame=span.start_frame, end_frame=span.end_frame)

    def on_failed(self, path: str, message: str) -> None:
        self.preview.set_message(message, "error")
        self.status.setText(f"⚠ {message}")
        self.errors.append(message)

    def on_finished(self, path: str, cancelled: bool) -> None:
        self.running = False
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.open_button.setEnabled(True)
        count = len(self.model.transcript)
        if not cancelled:  # the file ended: so does its last sentence
            self.transcript.sentence_panel.finish()
        if cancelled:
            self.status.setText(f"Cancelled: {count} word{'s' if count != 1 else ''} so far.")
        elif not self.status.text().startswith("⚠"):
            failed = f"; {len(self.errors)} could not be interpreted" if self.errors else ""
            self.status.setText(f"Done: {count} word{'s' if count != 1 else ''}{failed}. Click a word to see it.")

    # ---------------------------------------------------------------- preview
    def show_moment(self, row: int) -> None:
        """Show the frame in the middle of the word's sign (read in the background)."""
        if self.path is None:
            return
        entry = self.model.entry(row)
        start = int(entry.meta.get("start_frame", round(entry.start_s * self.fps)))
        end = int(entry.meta.get("end_frame", round(entry.end_s * self.fps)))
        index = (start + end) // 2
        path = self.path

        def work():
            from signdesk.transcribe import read_frame

            return read_frame(path, index)

        def done(image) -> None:
            self.preview.set_frame(image)
            self.preview.set_caption(f"{entry.text} · {short_time(entry.start_s)}–{short_time(entry.end_s)}")
            self.shown_row = row

        self._runner.run("preview", work, done, lambda message: self.preview.set_message(message, "error"))

    def set_threshold(self, threshold: float) -> None:
        self.model.set_threshold(threshold)

    def set_sentences(self, pause_s: float | None) -> None:
        """The sentence line on (a rest of ``pause_s`` seconds between signs ends a sentence) or off (None)."""
        self.transcript.set_sentences(pause_s)
