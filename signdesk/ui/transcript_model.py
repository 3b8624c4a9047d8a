"""A Qt list model over the Qt-free :class:`~signdesk.transcript.Transcript`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from signdesk.transcript import NOT_SURE, Entry, Transcript, short_time

EntryRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
SureRole = Qt.ItemDataRole.UserRole + 3
TimeRole = Qt.ItemDataRole.UserRole + 4

_Index = QModelIndex | QPersistentModelIndex


class TranscriptModel(QAbstractListModel):
    """One row per transcript entry; ``add`` merges repeats of one motion (see ``Transcript``)."""

    entry_added = Signal(int)
    """(row) a new word was appended."""
    entry_merged = Signal(int)
    """(row) a repeat of the same motion was merged into this row (not a new word)."""
    entry_corrected = Signal(int, str)
    """(row, text) the user picked another word for this row."""

    def __init__(self, threshold: float = 0.35, *, show_times: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.transcript = Transcript(threshold)
        self.show_times = show_times

    # ---------------------------------------------------------------- Qt model
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.transcript)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.transcript):
            return None
        entry = self.transcript[index.row()]
        sure = self.transcript.is_sure(entry)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.transcript.label(entry)
        if role == EntryRole:
            return entry
        if role == ScoreRole:
            return entry.score
        if role == SureRole:
            return sure
        if role == TimeRole:
            return short_time(entry.start_s)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.describe(entry)
        return None

    def describe(self, entry: Entry) -> str:
        """A sentence for tooltips and screen readers."""
        parts = [entry.text]
        if entry.score is not None:
            parts.append(f"confidence {entry.score:.0%}")
        if not self.transcript.is_sure(entry):
            parts.append(NOT_SURE)
        if entry.corrected:
            parts.append(f"corrected from {entry.corrected_from}")
        if self.show_times:
            parts.append(f"at {short_time(entry.start_s)}–{short_time(entry.end_s)}")
        alternatives = [t for t, _ in entry.candidates if t != entry.text][:4]
        if alternatives:
            parts.append("or: " + ", ".join(alternatives))
        return "; ".join(parts)

    # ---------------------------------------------------------------- edits
    def add(self, text: str, score: float | None, candidates=(), start_s: float = 0.0, end_s: float = 0.0,
            motion_id: int | None = None, **meta: Any) -> tuple[int, bool]:
        """Append (or merge) one interpreted sign; returns (row, merged)."""
        full = len(self.transcript) >= self.transcript.max_entries
        if full:
            self.beginResetModel()
        before = len(self.transcript)
        if not full:
            # insert a row only when the transcript will really grow; a merge changes an existing row
            row, merged = self._add_rows(text, score, candidates, start_s, end_s, motion_id, meta, before)
        else:
            row, merged = self.transcript.add(text, score, candidates, start_s, end_s, motion_id, **meta)
            self.endResetModel()
        if merged:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
            self.entry_merged.emit(row)
        else:
            self.entry_added.emit(row)
        return row, merged

    def _add_rows(self, text, score, candidates, start_s, end_s, motion_id, meta, before) -> tuple[int, bool]:
        will_merge = self.transcript.would_merge(text, start_s, motion_id)
        if not will_merge:
            self.beginInsertRows(QModelIndex(), before, before)
        row, merged = self.transcript.add(text, score, candidates, start_s, end_s, motion_id, **meta)
        if not will_merge:
            self.endInsertRows()
        return row, merged

    def correct(self, row: int, text: str) -> None:
        self.transcript.correct(row, text)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)
        self.entry_corrected.emit(row, text)

    def remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        self.transcript.remove(row)
        self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.transcript.clear()
        self.endResetModel()

    def set_threshold(self, threshold: float) -> None:
        self.transcript.threshold = threshold
        if len(self.transcript):  # "?" marks come and go: sizes change
            self.layoutAboutToBeChanged.emit()
            self.layoutChanged.emit()

    def entry(self, row: int) -> Entry:
        return self.transcript[row]
