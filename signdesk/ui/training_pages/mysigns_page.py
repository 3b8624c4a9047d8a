"""Step 5 (optional), My signs: record takes of your own signs at the camera (or import files), keep or
redo each, delete them.

Recording runs the live path on its own threads (``signdesk.mysigns.recorder.TakeRecorder``: capture →
ring → segmenter); this page only polls it with a timer (the newest frame for the preview, the next
checked sign without waiting), so the GUI thread never waits on a camera or a segmenter. Every disk
operation (keeping, listing, deleting, importing) runs on the task thread.

The step is optional: the page is always complete. The fine-tune step trains on the takes when asked to.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from signdesk.ui.training_pages.base import WizardHost, WizardPage
from signdesk.ui.training_pages.common import error_html, hint, named, ok_html, status_label, warn_html

INTRO = (
    "Teach SignDesk the signs you need: a name sign, a word from your work, your own way of signing a word. "
    "Pick or type the word, press Record and sign it once, then rest your hands: SignDesk cuts the sign out "
    "and plays it back for you to keep or redo. About ten takes per word is a good start."
)
PRIVACY = (
    "Your takes stay in {folder} on this computer. They are never uploaded, and an adapter trained on them "
    "never contains them (only “signdesk my-signs export” copies them anywhere)."
)
POLL_MS = 66  # preview and new signs, about 15 times a second
CAMERAS = 4
VIDEO_FILE = "file"
_keys = itertools.count(1)


class MySignsPage(WizardPage):
    """Record, review, list and delete the takes of my signs."""

    step = "mysigns"
    candidate_shown = Signal(object)
    """(Candidate) a sign was cut out and waits for Keep or Redo."""
    take_kept = Signal(object)
    """(Take) a take was stored."""
    take_refused = Signal(str)
    """(reason) a sign was refused (too short, too long, motionless), or a file could not be imported."""
    takes_listed = Signal(int)
    """(takes) the list of takes was read again."""
    recording_changed = Signal(bool)

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self._recorder: Any = None
        self._pending: Any = None
        self._video_file: str | None = None
        self._review_index = 0
        self.counts: dict[str, tuple[int, int]] = {}  # word: (takes, target)
        self._build_recording()
        self._build_review()
        self._build_takes()
        self.body.addStretch(1)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._tick)
        self._review_timer = QTimer(self)
        self._review_timer.timeout.connect(self._play_review)
        self.set_complete(True)

    # ---------------------------------------------------------------- building
    def _build_recording(self) -> None:
        box = QGroupBox("Record", self.inner)
        named(box, "Record a take")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.word = QComboBox(box)
        self.word.setEditable(True)
        self.word.setMinimumWidth(180)
        self.word.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        named(self.word, "Word", "The word the sign means: pick one you have takes of, or type a new one")
        self.word.currentTextChanged.connect(lambda _text: self._show_count())
        self.source = QComboBox(box)
        named(self.source, "Camera", "The camera to record from, or a video file played as the camera")
        for index in range(CAMERAS):
            self.source.addItem(f"Camera {index}", index)
        self.source.addItem("Video file…", VIDEO_FILE)
        self.source.activated.connect(self._on_source)
        self.record_button = QPushButton("&Record", box)
        named(self.record_button, "Record", "Start watching the camera for the next sign (again: stop)")
        self.record_button.clicked.connect(self.toggle_recording)
        row.addWidget(QLabel("&Word:", box))
        row.itemAt(0).widget().setBuddy(self.word)
        row.addWidget(self.word, 1)
        row.addWidget(self.source)
        row.addWidget(self.record_button)
        layout.addLayout(row)
        self.preview = QLabel(box)
        self.preview.setMinimumSize(320, 180)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #202020; color: #dddddd;")
        self.preview.setText("The camera shows here while recording")
        named(self.preview, "Camera preview")
        layout.addWidget(self.preview)
        self.count_label = status_label(box, "Takes of this word")
        layout.addWidget(self.count_label)
        self.body.addWidget(box)

    def _build_review(self) -> None:
        box = QGroupBox("Review the take", self.inner)
        named(box, "Review the take")
        layout = QHBoxLayout(box)
        self.review = QLabel(box)
        self.review.setMinimumSize(240, 160)
        self.review.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.review.setText("Each sign found plays here")
        named(self.review, "Take playback")
        buttons = QVBoxLayout()
        self.keep_button = QPushButton("&Keep", box)
        named(self.keep_button, "Keep", "Keep this take of the word")
        self.keep_button.clicked.connect(self.keep)
        self.redo_button = QPushButton("Re&do", box)
        named(self.redo_button, "Redo", "Throw this take away and sign the word again")
        self.redo_button.clicked.connect(self.redo)
        for button in (self.keep_button, self.redo_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.review, 1)
        layout.addLayout(buttons)
        self.message = status_label(self.inner, "Recording status")
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(box)
        self.body.addWidget(self.message)

    def _build_takes(self) -> None:
        box = QGroupBox("Your takes", self.inner)
        named(box, "Your takes")
        layout = QVBoxLayout(box)
        self.tree = QTreeWidget(box)
        self.tree.setHeaderLabels(["Word / take", "Takes", "Split", "Length", "From"])
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setMinimumHeight(160)
        named(self.tree, "Takes per word", "Each word with its takes against the target; select takes to delete")
        named(self.tree.header(), "Take columns")  # screen readers announce the header as a control of its own
        self.tree.itemSelectionChanged.connect(self._on_selection)
        layout.addWidget(self.tree)
        row = QHBoxLayout()
        self.import_button = QPushButton("&Import files…", box)
        named(self.import_button, "Import files", "Add video files as takes of the word (the sign is cut out)")
        self.import_button.clicked.connect(self._browse_import)
        self.delete_button = QPushButton("&Delete", box)
        named(self.delete_button, "Delete", "Delete the selected takes (a word: all its takes), files and all")
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)
        self.delete_all_button = QPushButton("Delete &all…", box)
        named(self.delete_all_button, "Delete all takes", "Delete every take of every word")
        self.delete_all_button.clicked.connect(self.delete_all)
        self.open_button = QPushButton("Open &folder", box)
        named(self.open_button, "Open the takes folder")
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder))))
        for button in (self.import_button, self.delete_button, self.delete_all_button, self.open_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.keep_corrections = QCheckBox("Keep the signs I &correct in the Live transcript as takes", box)
        named(self.keep_corrections, "Keep corrected signs as takes",
              "A word you correct in the Live transcript is kept, with its clip, as a take of the right word "
              "(setting my_signs.keep_corrections)")
        self.keep_corrections.toggled.connect(self._on_keep_corrections)
        layout.addWidget(self.keep_corrections)
        self.privacy = hint("", box)
        layout.addWidget(self.privacy)
        self.body.addWidget(box)

    # ---------------------------------------------------------------- where, and the task thread
    @property
    def folder(self) -> Path:
        """The takes folder: the setting ``my_signs.folder``, else the user data folder's my-signs."""
        configured = self.host.settings.get("my_signs.folder") if self.host.settings is not None else None
        if configured and self.state.my_signs_dir != str(configured):  # fine-tune builds its sets from the same
            self.state.my_signs_dir = str(configured)
            self.host.save_soon()
        return self.state.my_signs

    @property
    def target(self) -> int:
        value = self.host.settings.get("my_signs.target") if self.host.settings is not None else None
        return int(value or 10)

    def _store(self):
        from signdesk.mysigns.store import TakeStore

        return TakeStore(self.folder, target=self.target)

    def _work(self, name: str, fn, done=None, failed=None) -> None:
        """Run ``fn`` on the task thread (each call its own, so none replaces another); results come back here."""
        failed = failed or (lambda message: self._say(error_html(message)))
        runner = self.host.runner
        if runner is None:
            try:
                value = fn()
            except Exception as exc:
                failed(str(exc))
                return
            if done is not None:
                done(value)
            return
        runner.run(f"mysigns-{name}-{next(_keys)}", fn, done, failed)

    def _say(self, html: str) -> None:
        self.message.setText(html)

    # ---------------------------------------------------------------- the page
    def refresh(self) -> None:
        self.privacy.setText(PRIVACY.format(folder=self.folder))
        settings = self.host.settings
        self.keep_corrections.blockSignals(True)
        self.keep_corrections.setChecked(bool(settings is not None and settings.get("my_signs.keep_corrections")))
        self.keep_corrections.blockSignals(False)
        self.reload()

    def _on_keep_corrections(self, on: bool) -> None:
        """The setting the Live tab asks about once; changed here, it is saved like any setting."""
        settings = self.host.settings
        if settings is None:
            return
        settings.set_user("my_signs.keep_corrections", bool(on))
        try:
            settings.save()
        except OSError as exc:
            self._say(warn_html(f"The setting could not be saved: {exc}"))

    def reload(self) -> None:
        def read():
            store = self._store()
            return store.counts(), store.takes()

        self._work("list", read, self._show_takes)

    def _show_takes(self, result) -> None:
        counts, takes = result
        typed = self.word.currentText()
        self.tree.clear()
        self.counts = {c.word: (c.takes, c.target) for c in counts}
        for count in counts:
            item = QTreeWidgetItem([count.word, f"{count.takes} / {count.target}", "", "", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, ("word", count.word))
            for n, take in enumerate((t for t in takes if t.gloss == count.word), start=1):
                when = take.created.replace("T", " ")[:16]
                child = QTreeWidgetItem([f"take {n} · {when}", "", take.split, f"{take.duration_s:.1f} s",
                                         take.origin])
                child.setToolTip(0, take.video_id)
                child.setData(0, Qt.ItemDataRole.UserRole, ("take", take.video_id))
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self.word.blockSignals(True)
        self.word.clear()
        self.word.addItems(list(self.counts))
        self.word.setEditText(typed)
        self.word.blockSignals(False)
        self._show_count()
        self.delete_all_button.setEnabled(bool(takes))
        self.takes_listed.emit(len(takes))

    def _show_count(self) -> None:
        from signdesk.errors import SignDeskError
        from signdesk.mysigns.store import normalize_word

        try:
            word = normalize_word(self.word.currentText())
        except SignDeskError:
            self.count_label.setText("Type or pick the word you will sign.")
            return
        takes, target = self.counts.get(word, (0, self.target))
        more = f"; {target - takes} more to reach {target}" if takes < target else " (target reached)"
        self.count_label.setText(f"{word}: {takes} take{'s' if takes != 1 else ''}{more}")

    # ---------------------------------------------------------------- the camera
    def _on_source(self, _index: int) -> None:
        if self.source.currentData() == VIDEO_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "A video file to record from", "",
                                                  "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)")
            if path:
                self.use_video_file(path)
            else:
                self.source.setCurrentIndex(0)

    def use_video_file(self, path: str) -> None:
        """Record from a video file (played once, at its own pace), as from a camera."""
        self._video_file = path
        index = self.source.findData(VIDEO_FILE)
        self.source.setItemText(index, f"Video file: {Path(path).name}")
        self.source.setCurrentIndex(index)

    def _factory(self):
        from signdesk.video.camera import OpenCVCamera, VideoFileSource

        if self.source.currentData() == VIDEO_FILE and self._video_file:
            path = self._video_file
            return lambda: VideoFileSource(path, loop=False)
        index = int(self.source.currentData() or 0)
        return lambda: OpenCVCamera(index)

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def toggle_recording(self) -> None:
        if self.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> bool:
        from signdesk.errors import SignDeskError
        from signdesk.mysigns.recorder import TakeRecorder
        from signdesk.mysigns.store import normalize_word

        try:
            normalize_word(self.word.currentText())
        except SignDeskError as exc:
            self._say(warn_html(str(exc)))
            return False
        if self.source.currentData() == VIDEO_FILE and not self._video_file:
            self._say(warn_html("Choose the video file to record from first."))
            return False
        sensitivity = float(self.host.settings.get("live.sensitivity") or 5.0) if self.host.settings else 5.0
        self._recorder = TakeRecorder(self._factory(), sensitivity=sensitivity).start()
        self.record_button.setText("&Stop")
        self.source.setEnabled(False)
        self._say("Sign the word once, then rest your hands.")
        self._poll.start()
        self.recording_changed.emit(True)
        return True

    def stop_recording(self, message: str = "") -> None:
        recorder, self._recorder = self._recorder, None
        self._poll.stop()
        if recorder is not None:
            recorder.capture.stop()  # both only set flags: the threads end by themselves; joined off this thread
            recorder.segment.stop()
            self._work("stop", recorder.stop)
        self.record_button.setText("&Record")
        self.source.setEnabled(True)
        if message:
            self._say(message)
        self.recording_changed.emit(False)

    def _tick(self) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        frame = recorder.latest_frame()
        if frame is not None:
            self._show_frame(self.preview, frame)
        if recorder.failure:
            self.stop_recording(error_html(recorder.failure))
            return
        if self._pending is None:
            candidate = recorder.get(0.0)
            if candidate is not None and not candidate.repeat:
                if candidate.reason:
                    self._say(warn_html(f"Not kept: {candidate.reason}"))
                    self.take_refused.emit(candidate.reason)
                else:
                    self._show_candidate(candidate)
            if recorder.done and self._pending is None:
                self.stop_recording("The video file ended." if self._video_file else "The camera stopped.")

    @staticmethod
    def _show_frame(label: QLabel, frame) -> None:
        from signdesk.ui.images import rgb_to_qimage

        pixmap = QPixmap.fromImage(rgb_to_qimage(frame))
        label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))

    # ---------------------------------------------------------------- keep / redo
    def _show_candidate(self, candidate) -> None:
        self._pending = candidate
        self._review_index = 0
        self._review_timer.start(max(15, round(1000 / max(candidate.fps, 1.0))))
        self.keep_button.setEnabled(True)
        self.redo_button.setEnabled(True)
        self.keep_button.setFocus()
        self._say(f"A sign of {candidate.duration_s:.1f} s: keep it, or redo it.")
        self.candidate_shown.emit(candidate)

    def _play_review(self) -> None:
        if self._pending is None or not self._pending.frames:
            self._review_timer.stop()
            return
        frames = self._pending.frames
        self._show_frame(self.review, frames[self._review_index % len(frames)])
        self._review_index += 1

    def _end_review(self):
        candidate, self._pending = self._pending, None
        self._review_timer.stop()
        self.keep_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.review.clear()
        self.review.setText("Each sign found plays here")
        return candidate

    def keep(self) -> None:
        from signdesk.mysigns.recorder import keep_candidate

        candidate = self._end_review()
        if candidate is None:
            return
        word = self.word.currentText()

        def kept(take) -> None:
            takes = self.counts.get(take.gloss, (0, self.target))[0] + 1
            self._say(ok_html(f"Kept take {takes} of {take.gloss}."))
            self.take_kept.emit(take)
            self.reload()

        self._work("keep", lambda: keep_candidate(self._store(), word, candidate), kept,
                   lambda message: (self._say(warn_html(f"Not kept: {message}")), self.take_refused.emit(message)))

    def redo(self) -> None:
        if self._end_review() is not None:
            self._say("Sign the word again." if self.recording else "Take thrown away.")

    # ---------------------------------------------------------------- import, delete
    def _browse_import(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Video files to import as takes", "",
                                                "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)")
        if paths:
            self.import_files(paths)

    def import_files(self, paths: list[str]) -> None:
        from signdesk.mysigns.checks import TakeRefused
        from signdesk.mysigns.recorder import import_video

        word = self.word.currentText()
        sensitivity = float(self.host.settings.get("live.sensitivity") or 5.0) if self.host.settings else 5.0

        def work():
            store, kept, refused = self._store(), [], []
            for path in paths:
                try:
                    kept.append(import_video(store, word, path, sensitivity=sensitivity))
                except TakeRefused as exc:
                    refused.append(f"{Path(path).name}: {exc.reason}")
            return kept, refused

        def done(result) -> None:
            kept, refused = result
            self._say((ok_html(f"Imported {len(kept)} take(s).") if kept else "")
                      + (warn_html(" Not imported: " + "; ".join(refused)) if refused else ""))
            for reason in refused:
                self.take_refused.emit(reason)
            self.reload()

        self._work("import", work, done)

    def _selection(self) -> tuple[list[str], list[str]]:
        words, takes = [], []
        for item in self.tree.selectedItems():
            kind, value = item.data(0, Qt.ItemDataRole.UserRole)
            (words if kind == "word" else takes).append(value)
        return words, takes

    def _on_selection(self) -> None:
        words, takes = self._selection()
        self.delete_button.setEnabled(bool(words or takes))

    def confirm(self, text: str) -> bool:
        """Ask before deleting many takes (tests replace it)."""
        answer = QMessageBox.question(self, "Delete takes", text)
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        words, takes = self._selection()
        if not words and not takes:
            return
        if words and not self.confirm(f"Delete every take of {', '.join(words)}? Their clips are deleted too."):
            return

        def work():
            store = self._store()
            gone = [t for w in words for t in store.delete_word(w)]
            remaining = {t.video_id for t in store.takes()}
            return gone + store.delete([t for t in takes if t in remaining])

        self._work("delete", work, self._deleted)

    def delete_all(self) -> None:
        if self.confirm("Delete every take of every word? Their clips are deleted too."):
            self._work("delete-all", lambda: self._store().delete_all(), self._deleted)

    def _deleted(self, gone) -> None:
        self._say(ok_html(f"Deleted {len(gone)} take(s) and their clips."))
        self.reload()

    def shutdown(self) -> None:
        self._review_timer.stop()
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            self._poll.stop()
            recorder.stop(1.0)  # the window closes: the threads end now
