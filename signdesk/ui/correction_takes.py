"""Corrections in the Live transcript kept as takes of my signs (the Qt side of ``signdesk.mysigns.corrections``).

The Live tab hands every interpreted clip to :meth:`CorrectionTakes.remember`; when the user corrects a
word (an alternative or a typed word), the clip of that entry is kept as a take of the right word on
the task thread. The setting ``my_signs.keep_corrections`` decides: ``null`` (never asked) makes the
first correction ask, once, with a dialog that does not block the window; the answer is saved.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from signdesk.mysigns.corrections import ASK, KEEP, SETTING, RecentClips, correction_policy, store_from_settings

QUESTION = ("Keep the signs you correct as takes of the right word, to teach SignDesk your signing?\n\n"
            "The clips stay on this computer (Training → My signs lists them; you can delete them there). "
            "They are never uploaded. You can change this in the settings (my_signs.keep_corrections).")
_keys = itertools.count(1)


class CorrectionTakes(QObject):
    """Remembers the latest live clips and keeps a corrected one as a take, if the user wants that."""

    kept = Signal(object)
    """(Take) a corrected sign was kept as a take."""
    refused = Signal(str)
    """(reason) the corrected sign could not be a take (e.g. too short)."""
    asked = Signal(object)
    """(QMessageBox) the one-time question is shown (not modal)."""

    def __init__(self, settings: Any, model: Any, runner: Any, parent: QWidget,
                 save_settings: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.model = model
        self.runner = runner
        self._parent = parent
        self._save_settings = save_settings or self._save
        self.recent = RecentClips()
        self.question: QMessageBox | None = None
        self._waiting: list[tuple[Any, float, str]] = []  # corrections made while the question is open
        model.entry_corrected.connect(self._on_corrected)

    def remember(self, clip: Any, source_fps: float) -> None:
        if correction_policy(self.settings) != "off":
            self.recent.put(clip, source_fps)

    def _on_corrected(self, row: int, text: str) -> None:
        policy = correction_policy(self.settings)
        if policy == "off":
            return
        entry = self.model.entry(row)
        found = self.recent.find(float(entry.start_s), float(entry.end_s))
        if found is None:
            return
        clip, fps = found
        if policy == KEEP:
            self._keep(clip, fps, text)
        elif policy == ASK:
            self._waiting.append((clip, fps, text))
            self._ask()

    def _ask(self) -> None:
        if self.question is not None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Keep corrected signs?", QUESTION,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self._parent)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAccessibleName("Keep corrected signs as takes?")
        box.finished.connect(lambda result: self.answer(result == QMessageBox.StandardButton.Yes))
        self.question = box
        box.open()  # window-modal and asynchronous: the event loop goes on
        self.asked.emit(box)

    def answer(self, keep: bool) -> None:
        """The user's answer to the one-time question (saved as ``my_signs.keep_corrections``)."""
        box, self.question = self.question, None
        if box is not None:
            box.deleteLater()
        self.settings.set_user(SETTING, bool(keep))
        self._save_settings()
        waiting, self._waiting = self._waiting, []
        if keep:
            for clip, fps, text in waiting:
                self._keep(clip, fps, text)
        else:
            self.recent.clear()

    def _save(self) -> None:
        with contextlib.suppress(OSError):  # the choice holds for this session; the window reports failed saves
            self.settings.save()

    def _keep(self, clip: Any, fps: float, text: str) -> None:
        from signdesk.mysigns.corrections import keep_correction

        settings = self.settings

        def work():
            return keep_correction(store_from_settings(settings), clip, text, fps)

        if self.runner is None:
            try:
                self.kept.emit(work())
            except Exception as exc:
                self.refused.emit(str(exc))
            return
        self.runner.run(f"correction-take-{next(_keys)}", work, self.kept.emit, self.refused.emit)
