"""The sentence line in the window: sentences above their glosses, written by the engine thread.

``SentencePanel`` sits at the top of a ``TranscriptView`` (hidden while sentences are off). It watches
the transcript model: whenever the glosses change (a sign added, corrected, removed) it asks the
engine, through ``sink``, for every sentence that needs writing (``SentenceLine.pending``), and shows
the answers. The engine serves live signs first and cuts a running sentence short for one
(``ui/workers.EngineWorker.request_sentence``); nothing here waits for the model.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from signdesk.sentence_line import Sentence
from signdesk.ui.transcript_model import TranscriptModel
from signdesk.ui.widgets import push_button

_Index = QModelIndex | QPersistentModelIndex
#: sink(key, glosses, rows) → whether the engine took the request; rows: (gloss, alternatives) pairs.
Sink = Callable[[Hashable, tuple[str, ...], list[tuple[str, tuple[str, ...]]]], bool]
WRITING = "…"


class SentenceListModel(QAbstractListModel):
    """One row per sentence of a transcript's sentence line: the sentence, and its glosses under it."""

    def __init__(self, model: TranscriptModel, parent=None) -> None:
        super().__init__(parent)
        self.words = model
        self._rows = 0

    @property
    def sentences(self) -> list[Sentence]:
        line = self.words.transcript.sentences
        return [s for s in line.sentences if s.entries] if line is not None else []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else self._rows

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        sentences = self.sentences
        if not index.isValid() or not 0 <= index.row() < min(self._rows, len(sentences)):
            return None
        sentence = sentences[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self.text(sentence)}\n{self.glosses(sentence)}"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.describe(sentence)
        return None

    def text(self, sentence: Sentence) -> str:
        """The sentence, "…" while it is being written, or (not written) its glosses in brackets."""
        if sentence.ready:
            return sentence.text
        if sentence.requested is not None or sentence.wanted:
            return WRITING
        return f"[{self.glosses(sentence)}]"

    def glosses(self, sentence: Sentence) -> str:
        return self.words.transcript.words_line(sentence.entries).strip()

    def describe(self, sentence: Sentence) -> str:
        parts = [self.text(sentence), f"from the signs {self.glosses(sentence)}"]
        if sentence.error and not sentence.stale:
            parts.append(f"not written: {sentence.error}")
        return "; ".join(parts)

    def sync(self) -> None:
        """The sentence line changed: rows appended, removed or rewritten."""
        count = len(self.sentences)
        if count < self._rows:
            self.beginResetModel()
            self._rows = count
            self.endResetModel()
            return
        if count > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, count - 1)
            self._rows = count
            self.endInsertRows()
        if count:
            self.dataChanged.emit(self.index(0), self.index(count - 1))


class SentencePanel(QWidget):
    """Sentences of one transcript, written by the engine; an End sentence button for the open one."""

    sentence_written = Signal(str)
    """(text) a sentence was written for the first time (speech reads it when sentences are on)."""

    def __init__(self, model: TranscriptModel, parent: QWidget | None = None, *, tag: str = "transcript") -> None:
        super().__init__(parent)
        self.words = model
        self.tag = tag
        self._sink: Sink | None = None
        self._spoken: set[int] = set()
        self.sentences = SentenceListModel(model, self)
        self.list = QListView(self)
        self.list.setModel(self.sentences)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setSpacing(2)
        self.list.setAccessibleName("Sentences")
        self.list.setAccessibleDescription("English sentences written from the signs between pauses")
        self.end_button = push_button(self, "End sentence", "Write the signs since the last sentence as a "
                                      "sentence now, without waiting for a pause (Ctrl+Return)", self.finish)
        self.note = QLabel("", self)
        self.note.setAccessibleName("Sentence state")
        row = QHBoxLayout()
        row.addWidget(self.end_button)
        row.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.entry_merged,
                       model.entry_corrected):
            signal.connect(self.refresh)
        self.setVisible(False)

    # ---------------------------------------------------------------- settings
    @property
    def enabled(self) -> bool:
        return self.words.transcript.sentences is not None

    def set_pause(self, pause_s: float | None) -> None:
        """Sentences on (ending at rests of ``pause_s`` seconds) or off (None: the transcript as before)."""
        self.words.transcript.use_sentences(pause_s)
        self.setVisible(pause_s is not None)
        self.refresh()

    def set_sink(self, sink: Sink | None) -> None:
        self._sink = sink
        self.refresh()

    def set_text_scale(self, scale: float) -> None:
        font = self.list.font()
        font.setPointSizeF(max(8.0, self.font().pointSizeF() * max(1.0, scale * 0.75)))
        self.list.setFont(font)

    # ---------------------------------------------------------------- requests
    def refresh(self, *_: Any) -> None:
        """Ask the engine for every sentence that needs writing; show the line as it is."""
        line = self.words.transcript.sentences
        if line is not None and self._sink is not None:
            for sentence in line.pending():
                self._request(sentence)
        self.sentences.sync()

    def _request(self, sentence: Sentence) -> None:
        from signdesk.engine.sentences import glosses_of

        line = self.words.transcript.sentences
        assert line is not None and self._sink is not None
        rows = glosses_of(sentence.entries, self.words.transcript.is_sure)
        sentence_id, glosses = line.request(sentence)
        if not self._sink((self.tag, sentence_id), glosses, rows):
            line.withdraw(sentence_id)  # no model yet: asked again once one is loaded (``resend``)

    def rest(self, resting_s: float | None) -> None:
        """The signer has rested ``resting_s`` seconds (None: signing, or a sign waits for the model)."""
        line = self.words.transcript.sentences
        if line is not None and resting_s is not None and line.rest(resting_s) is not None:
            self.refresh()

    def finish(self) -> None:
        """End the open sentence now and write it."""
        line = self.words.transcript.sentences
        if line is not None and line.finish() is not None:
            self.refresh()

    def resend(self) -> None:
        """Requests the engine dropped (a model reload) are asked for again."""
        line = self.words.transcript.sentences
        if line is not None:
            for sentence in line.sentences:
                line.withdraw(sentence.id)
        self.refresh()

    # ---------------------------------------------------------------- answers
    def owns(self, key: Any) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and key[0] == self.tag

    def on_written(self, key: Any, glosses: tuple[str, ...], text: str, timings_ms: dict[str, float]) -> None:
        line = self.words.transcript.sentences
        if line is None or not self.owns(key):
            return
        sentence = line.fulfil(key[1], glosses, text, timings_ms)
        if sentence is None:
            return
        self.note.setText(f"Last sentence: {timings_ms.get('total', 0.0) / 1000:.1f} s")
        if sentence.ready and sentence.id not in self._spoken and text:
            self._spoken.add(sentence.id)
            self.sentence_written.emit(text)
        self.refresh()

    def on_failed(self, key: Any, glosses: tuple[str, ...], message: str) -> None:
        line = self.words.transcript.sentences
        if line is None or not self.owns(key):
            return
        if line.fail(key[1], glosses, message) is not None:
            self.note.setText(f"A sentence could not be written: {message}")
            self.refresh()

    def spoken_text(self) -> str:
        """What Speak reads with sentences on: the sentences written, else the sure glosses."""
        transcript = self.words.transcript
        parts = []
        for sentence in self.sentences.sentences:
            if sentence.ready:
                parts.append(sentence.text)
            else:
                parts += [e.text for e in sentence.entries if transcript.is_sure(e)]
        return " ".join(parts)
