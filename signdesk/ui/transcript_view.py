"""The transcript widget: large words with their confidence, alternatives on click, clear/copy/save/speak."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QListView,
    QMenu,
    QMessageBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from signdesk.transcript import NOT_SURE, short_time
from signdesk.ui.sentence_view import SentencePanel
from signdesk.ui.speech import Speaker
from signdesk.ui.transcript_model import TranscriptModel
from signdesk.ui.widgets import push_button

SAVE_FILTERS = "Text (*.txt);;Subtitles (*.srt);;JSON (*.json)"
#: With sentences on, plain text can hold the glosses, the sentences or both (``Transcript.to_text``).
SENTENCE_TEXT_FILTERS = {"Text: sentences (*.txt)": "sentences", "Text: sentences over their signs (*.txt)": "both",
                         "Text: signs only (*.txt)": "glosses"}
SENTENCE_SAVE_FILTERS = ";;".join([*SENTENCE_TEXT_FILTERS, "Subtitles: one per sentence (*.srt)",
                                   "JSON: signs and sentences (*.json)"])


class WordDelegate(QStyledItemDelegate):
    """Paints one entry as a chip: the word large, its confidence (or time) small below it."""

    def __init__(self, view: TranscriptView) -> None:
        super().__init__(view)
        self._view = view

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        big = QFont(option.font)
        big.setPointSizeF(option.font.pointSizeF() * self._view.text_scale)
        small = QFont(option.font)
        small.setPointSizeF(max(8.0, option.font.pointSizeF() * 0.9))
        return big, small

    def _lines(self, index: QModelIndex) -> tuple[str, str, bool]:
        """The word, the small line under it, and whether we are sure of it.

        Read from the model's entries directly, not through ``index.data()``: besides being faster, a
        PySide6 6.12 bug loses a reference to None on every ``data()`` call that yields no value.
        """
        model = self._view.model_
        if not 0 <= index.row() < model.rowCount():
            return "", "", True
        transcript = model.transcript
        entry = transcript[index.row()]
        sure = transcript.is_sure(entry)
        sub = []
        if model.show_times:
            sub.append(short_time(entry.start_s))
        if entry.score is not None:
            sub.append(f"{entry.score:.0%}")
        if not sure:
            sub.append(NOT_SURE)
        elif entry.corrected:
            sub.append("corrected")
        return transcript.label(entry), " · ".join(sub), sure

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        big, small = self._fonts(option)
        word, sub, _ = self._lines(index)
        fm_big, fm_small = QFontMetrics(big), QFontMetrics(small)
        width = max(fm_big.horizontalAdvance(word), fm_small.horizontalAdvance(sub)) + 20
        return QSize(max(width, 48), fm_big.height() + fm_small.height() + 14)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        big, small = self._fonts(option)
        word, sub, sure = self._lines(index)
        palette = option.palette
        rect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(rect, 6, 6)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        color = palette.color(text_role)
        if not sure and not selected:
            color = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            big.setItalic(True)
        painter.setPen(color)
        painter.setFont(big)
        fm_big = QFontMetrics(big)
        top = QRect(rect.left(), rect.top() + 4, rect.width(), fm_big.height())
        painter.drawText(top, Qt.AlignmentFlag.AlignCenter, word)
        painter.setFont(small)
        bottom = QRect(rect.left(), top.bottom() + 1, rect.width(), rect.bottom() - top.bottom() - 2)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignCenter, sub)
        painter.restore()


class TranscriptView(QWidget):
    """Words as they are interpreted; click one to see its alternatives and correct it."""

    entry_clicked = Signal(int)
    """(row) the user clicked a word (file mode shows that moment of the video)."""
    cleared = Signal()
    """The user cleared the transcript."""

    def __init__(self, model: TranscriptModel, speaker: Speaker | None = None, parent: QWidget | None = None,
                 *, name: str = "Transcript", can_clear: bool = True) -> None:
        super().__init__(parent)
        self.model_ = model
        self.speaker = speaker
        self.text_scale = 2.0
        self.save_dir = Path.home()

        self.list = self._build_list(model, name)
        # the sentence line, above the words (hidden while sentences are off: the view is as it was)
        self.sentence_panel = SentencePanel(model, self, tag=name)
        self.sentence_panel.sentence_written.connect(self._on_sentence_written)

        self.clear_button = push_button(self, "Clear", "Clear the transcript", self.clear)
        self.clear_button.setVisible(can_clear)
        self.copy_button = push_button(self, "Copy", "Copy the transcript as text", self.copy_to_clipboard)
        self.save_button = push_button(self, "Save…", "Save the transcript as .txt, .srt or .json", self.save_dialog)
        self.speak_button = push_button(self, "Speak", "Speak the transcript aloud", self.speak_all)
        self.speak_check = QCheckBox("Speak each word", self)
        self.speak_check.setAccessibleName("Speak each word")
        self.speak_check.setAccessibleDescription("Say each word aloud as soon as it is interpreted")
        self.speak_check.setVisible(False)
        self.speak_button.setVisible(False)

        buttons = QHBoxLayout()
        for widget in (self.clear_button, self.copy_button, self.save_button, self.speak_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.speak_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sentence_panel, 1)
        layout.addWidget(self.list, 2)
        layout.addLayout(buttons)

        model.rowsInserted.connect(lambda *_: self.list.scrollToBottom())
        # a merge only changes a confidence figure; a correction changes the word's width: lay out again
        model.entry_corrected.connect(lambda *_: self.list.scheduleDelayedItemsLayout())
        self._menu: QMenu | None = None
        if speaker is not None:
            speaker.availability_changed.connect(self.set_speech_available)

    def _build_list(self, model: TranscriptModel, name: str) -> QListView:
        """The words, left to right and wrapped like text."""
        view = QListView(self)
        view.setModel(model)
        view.setItemDelegate(WordDelegate(self))
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(True)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setSpacing(4)
        view.setUniformItemSizes(False)
        view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        # lay out long transcripts a batch at a time between events: no GUI stall however long it grows
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setBatchSize(200)
        view.setAccessibleName(name)
        view.setAccessibleDescription("Interpreted words; activate a word to see alternatives and correct it")
        view.clicked.connect(self._on_clicked)
        view.activated.connect(self._on_clicked)
        return view

    # ---------------------------------------------------------------- actions
    def set_speech_available(self, available: bool) -> None:
        self.speak_button.setVisible(available)
        self.speak_check.setVisible(available)

    def set_text_scale(self, scale: float) -> None:
        self.text_scale = min(5.0, max(1.0, scale))
        self.sentence_panel.set_text_scale(self.text_scale)
        self.list.scheduleDelayedItemsLayout()
        self.list.viewport().update()

    def clear(self) -> None:
        self.model_.clear()
        self.cleared.emit()

    def copy_to_clipboard(self) -> str:
        """The words as text; with sentences on, each sentence over its words."""
        text = self.model_.transcript.to_text("both" if self.sentence_panel.enabled else "glosses")
        QGuiApplication.clipboard().setText(text.strip())
        return text

    def save_dialog(self) -> Path | None:
        sentences = self.sentence_panel.enabled
        path, chosen = QFileDialog.getSaveFileName(self, "Save transcript", str(self.save_dir / "transcript.txt"),
                                                   SENTENCE_SAVE_FILTERS if sentences else SAVE_FILTERS)
        if not path:
            return None
        if not Path(path).suffix:
            path += ".srt" if "(*.srt)" in chosen else ".json" if "(*.json)" in chosen else ".txt"
        return self.save_to(path, contents=SENTENCE_TEXT_FILTERS.get(chosen, "sentences") if sentences else "glosses")

    def save_to(self, path: str | Path, *, contents: str = "glosses") -> Path | None:
        """Save as .srt, .json or text; ``contents``: what text holds with sentences on (glosses | sentences | both)."""
        try:
            saved = self.model_.transcript.save(path, contents=contents)
        except OSError as exc:
            QMessageBox.warning(self, "Save transcript", f"Cannot save {path}: {exc.strerror or exc}")
            return None
        self.save_dir = saved.parent
        return saved

    def set_sentences(self, pause_s: float | None) -> None:
        """Sentences on (a rest of ``pause_s`` seconds ends one) or off (None: the view as it was)."""
        self.sentence_panel.set_pause(pause_s)
        self.speak_check.setText("Speak each sentence" if pause_s is not None else "Speak each word")
        self.speak_check.setAccessibleName(self.speak_check.text())

    def speak_text(self) -> str:
        """What Speak says: the sure words, or with sentences on the sentences (words where none is written)."""
        if self.sentence_panel.enabled:
            return self.sentence_panel.spoken_text()
        return " ".join(e.text for e in self.model_.transcript.entries if self.model_.transcript.is_sure(e))

    def speak_all(self) -> None:
        if self.speaker is not None:
            self.speaker.say(self.speak_text())

    def _on_sentence_written(self, text: str) -> None:
        """With sentences on, speech reads each new sentence instead of each word."""
        if self.speaker is not None and self.speak_check.isChecked():
            self.speaker.say(text)

    # ---------------------------------------------------------------- alternatives
    def _on_clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self.entry_clicked.emit(index.row())
        menu = self.alternatives_menu(index.row())
        menu.popup(self.list.viewport().mapToGlobal(self.list.visualRect(index).bottomLeft() + QPoint(0, 2)))

    def alternatives_menu(self, row: int) -> QMenu:
        """The menu for one word: its top-k alternatives with confidence, another word, remove."""
        entry = self.model_.entry(row)
        if self._menu is not None:
            self._menu.deleteLater()
        menu = self._menu = QMenu(self)
        menu.setAccessibleName(f"Alternatives for {entry.text}")
        options = list(entry.candidates)
        if entry.corrected_from and all(t != entry.corrected_from for t, _ in options):
            options.insert(0, (entry.corrected_from, entry.score or 0.0))
        for text, score in options:
            action = menu.addAction(f"{text}    {score:.0%}")
            action.setCheckable(True)
            action.setChecked(text == entry.text)
            action.triggered.connect(lambda _=False, t=text, r=row: self.model_.correct(r, t))
        if not options:
            menu.addAction("No alternatives").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Another word…", lambda r=row: self._type_word(r))
        menu.addAction("Remove", lambda r=row: self.model_.remove(r))
        return menu

    def _type_word(self, row: int) -> None:
        text, ok = QInputDialog.getText(self, "Correct the word", "Word:", text=self.model_.entry(row).text)
        if ok and text.strip():
            self.model_.correct(row, text.strip())
