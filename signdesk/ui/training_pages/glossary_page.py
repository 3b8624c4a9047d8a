"""Step 2: which signs to learn: core-320, WLASL100, WLASL300 or a file; edit the words; unknown words flagged.

Every check is ``signdesk data glossary check --json`` in a child process, i.e. exactly what the
download and prepare steps will accept. Edited words are saved (atomically, on the task thread) as a
glossary file in the workspace, which the later steps then use. The list shows unknown words and
repeated words together; fixing one from the list updates the list at once (the check that follows
confirms it), and a suggestion that would repeat a word already in the glossary merges the two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from signdesk import paths
from signdesk.atomicio import atomic_write_text
from signdesk.data.glossary import GlossaryError, gloss_key, parse_glossary
from signdesk.training.wizard_state import PACKAGED_GLOSSARY, PRESET_GLOSSARIES, edited_glossary_path, workspace_dir
from signdesk.ui.busy_indicator import BusyIndicator
from signdesk.ui.quick_command import QuickCommand
from signdesk.ui.training_pages.base import WizardHost, WizardPage
from signdesk.ui.training_pages.common import error_html, named, ok_html, rich_status, warn_html
from signdesk.ui.training_pages.status_lines import glossary_line
from signdesk.ui.widgets import single_shot

INTRO = (
    "Choose the signs the adapter will learn. Fewer signs train faster and are told apart more reliably. "
    "<b>core-320</b> holds 320 everyday signs; <b>WLASL100</b> and <b>WLASL300</b> are the subsets research "
    "papers report on, so your test results can be compared with theirs. Edit the list freely: one sign "
    "per line, <code>#</code> starts a comment. Words that are not WLASL glosses are flagged."
)
CHECK_DELAY_MS = 500
MAX_FILE_BYTES = 1 << 20
FILE_CHOICE = "file"
SOURCES = (
    (PACKAGED_GLOSSARY, "core-320: 320 everyday signs"),
    (PRESET_GLOSSARIES[0], "WLASL100: the first 100 glosses (as in papers)"),
    (PRESET_GLOSSARIES[1], "WLASL300: the first 300 glosses (as in papers)"),
    (FILE_CHOICE, "A glossary file…"),
)


class GlossaryPage(WizardPage):
    """Choose, view and edit the glossary; flags words the index does not know."""

    step = "glossary"
    checked = Signal(dict)
    """(result) the glossary was checked against the index (``signdesk data glossary check --json``)."""
    check_failed = Signal(str)
    """(message) the glossary could not be checked (no index, unreadable file, ...)."""

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.result: dict[str, Any] | None = None
        self._loading = False
        self._checked_text: str | None = None
        self._check_text: str | None = None
        self._shown_for: tuple[str, str] | None = None
        self._problem = ""  # why the words could not be read or checked ("" when they could)
        self._pending = False  # edited: a check follows shortly
        self._waiting_for_index = False  # the words could not be checked yet: no index

        self._build_source_row()
        columns = QHBoxLayout()
        columns.addLayout(self._build_editor(), 3)
        columns.addLayout(self._build_flagged(), 2)
        self.body.addLayout(columns, 1)

        self.words = QuickCommand(self, json_output=False)
        self.words.finished.connect(self._on_words)
        self.words.failed.connect(self._on_check_failed)
        self.check_command = QuickCommand(self, ok_codes=(0, 1))  # 1: some words are unknown
        self.check_command.finished.connect(self._on_checked)
        self.check_command.failed.connect(self._on_check_failed)
        self._timer = single_shot(self, CHECK_DELAY_MS, self._save_and_check)
        self._update_unknown_buttons()

    def _build_source_row(self) -> None:
        """The glossary picker and Open file…, with the chosen file's path on a line of its own."""
        row = QHBoxLayout()
        label = QLabel("&Glossary:", self.inner)
        self.source = QComboBox(self.inner)
        for key, text in SOURCES:
            self.source.addItem(text, key)
        # Not as wide as its longest entry: the page must fit beside the Settings panel.
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(12)
        named(self.source, "Glossary", "Which signs to learn")
        label.setBuddy(self.source)
        self.source.activated.connect(self._on_source_chosen)
        self.file_label = QLabel(self.inner)
        self.file_label.setAccessibleName("Glossary file")
        self.file_label.setWordWrap(True)  # on its own line, wrapped: a long path never widens the page
        self.open_button = QPushButton("&Open file…", self.inner)
        named(self.open_button, "Open a glossary file", "A text file with one sign per line")
        self.open_button.clicked.connect(self.choose_file)
        row.addWidget(label)
        row.addWidget(self.source, 1)
        row.addWidget(self.open_button)
        self.body.addLayout(row)
        self.body.addWidget(self.file_label)

    def _build_editor(self) -> QVBoxLayout:
        """The words, one per line, and their count."""
        left = QVBoxLayout()
        self.editor = QPlainTextEdit(self.inner)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setTabChangesFocus(True)
        self.editor.setMinimumHeight(260)
        named(self.editor, "Glossary words", "One sign per line; # starts a comment")
        self.editor.textChanged.connect(self._on_edited)
        left.addWidget(self.editor)
        self.count_label = QLabel(self.inner)
        self.count_label.setAccessibleName("Word count")
        left.addWidget(self.count_label)
        return left

    def _build_flagged(self) -> QVBoxLayout:
        """The check's result and the flagged words, with Use suggestion and Remove flagged words."""
        right = QVBoxLayout()
        self.busy = BusyIndicator(self.inner)
        right.addWidget(self.busy)
        self.message = rich_status(self.inner, "Glossary check")
        right.addWidget(self.message)
        caption = QLabel("Words that are not WLASL glosses or repeat an earlier line:", self.inner)
        caption.setWordWrap(True)  # a narrow column (Settings panel open) wraps instead of clipping
        right.addWidget(caption)
        self.unknown_list = QListWidget(self.inner)
        caption.setBuddy(self.unknown_list)
        named(self.unknown_list, "Unknown words", "Words that are not WLASL glosses (with suggestions) and repeats")
        self.unknown_list.itemActivated.connect(lambda item: self.use_suggestion(item))
        self.unknown_list.currentItemChanged.connect(lambda *_: self._update_unknown_buttons())
        right.addWidget(self.unknown_list, 1)
        buttons = QVBoxLayout()  # stacked: side by side they set a minimum width the page may not have
        self.suggest_button = QPushButton("Use &suggestion", self.inner)
        named(self.suggest_button, "Use the suggestion",
              "Replace the selected unknown word with its closest gloss (merged if that gloss is already listed)")
        self.suggest_button.clicked.connect(lambda: self.use_suggestion(self.unknown_list.currentItem()))
        self.remove_button = QPushButton("&Remove flagged words", self.inner)
        named(self.remove_button, "Remove flagged words",
              "Delete every line with a word WLASL does not have or that repeats an earlier line")
        self.remove_button.clicked.connect(self.remove_unknown)
        buttons.addWidget(self.suggest_button)
        buttons.addWidget(self.remove_button)
        right.addLayout(buttons)
        return right

    # ---------------------------------------------------------------- loading
    @property
    def spec(self) -> str:
        return self.state.glossary

    def refresh(self) -> None:
        key = (self.spec, self.state.index_path)
        if key == self._shown_for:
            if self._waiting_for_index and self._index_ok() and not self._timer.isActive():
                # The words waited for the index: check them now (a preset's words come from the index).
                if self.spec in PRESET_GLOSSARIES:
                    self._load_words()
                else:
                    self._check()
            else:
                self.update_status()
            return
        self._shown_for = key
        self._select_source(self.spec)
        self._load_words()

    def _select_source(self, spec: str) -> None:
        index = self.source.findData(spec if spec in (PACKAGED_GLOSSARY, *PRESET_GLOSSARIES) else FILE_CHOICE)
        self.source.setCurrentIndex(max(index, 0))
        is_file = self.source.currentData() == FILE_CHOICE
        self.file_label.setText(breakable(spec) if is_file else "")
        self.file_label.setToolTip(spec if is_file else "")
        self.file_label.setVisible(is_file)

    def _on_source_chosen(self) -> None:
        key = self.source.currentData()
        if key == FILE_CHOICE:
            self.choose_file()
            return
        self.use_glossary(key)

    def choose_file(self) -> None:
        start = str(Path(self.spec).parent) if "/" in self.spec else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a glossary file", start, "Glossary (*.txt);;All files (*)")
        if path:
            self.use_glossary(path)
        else:
            self._select_source(self.spec)

    def use_glossary(self, spec: str) -> None:
        """Switch to a packaged or preset glossary name, or a glossary file, and check it."""
        self.state.glossary = spec
        self.state.glossary_edited = False
        self.host.save_soon()
        self._shown_for = None
        self.refresh()
        self.host.refresh_steps()

    def _load_words(self) -> None:
        spec = self.spec
        self.result = None
        self._problem = ""
        self._pending = False
        self.set_complete(False)
        if spec in PRESET_GLOSSARIES:
            if not self._index_ok():
                self._show_text("")
                self._waiting_for_index = True
                self.update_status()
                return
            self.busy.start(f"Reading {spec} from the index…")
            self.words.run(["data", "glossary", "show", spec, "--wlasl", self.state.index_path])
            self.update_status()
            return
        path = paths.resources_dir() / "glossaries" / f"{spec}.txt" if spec == PACKAGED_GLOSSARY else Path(spec)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError("larger than 1 MB: not a glossary")
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self._show_text("")
            self._problem = f"{path}: cannot read the glossary ({exc})"
            self.update_status()
            return
        self._show_text(text)
        self._check()

    def _on_words(self, text: Any) -> None:
        self.busy.stop()
        self._show_text(str(text))
        self._check()

    def _show_text(self, text: str) -> None:
        self._loading = True
        try:
            self.editor.setPlainText(text)
        finally:
            self._loading = False
        self._count_words()

    def _index_ok(self) -> bool:
        return bool(self.state.index_path) and Path(self.state.index_path).is_file()

    def update_status(self) -> None:
        """The check line, from what is true now (see ``status_lines.glossary_line``)."""
        kind, text = glossary_line(index_ok=self._index_ok(), problem=self._problem, pending=self._pending,
                                   result=self.result)
        html = {"ok": ok_html, "warn": warn_html, "error": error_html}.get(kind, _escape)(breakable(text)) \
            if text else ""
        respelled = [r for r in (self.result or {}).get("respelled") or [] if r["written"].lower() != r["wlasl"]]
        if respelled and not self._problem and not self._pending:
            html += "<br>" + ", ".join(f"'{r['written']}' is WLASL's '{r['wlasl']}'" for r in respelled[:5])
        if self.message.text() != html:
            self.message.setText(html)

    # ---------------------------------------------------------------- editing
    def _on_edited(self) -> None:
        self._count_words()
        if self._loading:
            return
        self.result = None
        self._problem = ""
        self._pending = True
        self.set_complete(False)
        self.update_status()
        self._timer.start()

    def _pending_save_now(self) -> None:
        spec = self._edited_spec()
        try:
            atomic_write_text(spec, self.editor.toPlainText())
        except OSError:
            return
        self.state.glossary = spec
        self.state.glossary_edited = True

    def _edited_spec(self) -> str:
        spec = self.spec
        if not (self.state.glossary_edited and Path(spec).parent == workspace_dir() / "glossaries"):
            stem = Path(spec).stem if spec not in (PACKAGED_GLOSSARY, *PRESET_GLOSSARIES) else spec
            spec = str(edited_glossary_path(stem if stem.endswith("-edited") else f"{stem}-edited"))
        return spec

    def _save_and_check(self) -> None:
        """Edited words become a glossary file in the workspace; later steps use that file."""
        spec = self._edited_spec()
        self.state.glossary = spec
        self.state.glossary_edited = True
        self._shown_for = (spec, self.state.index_path)
        self._select_source(spec)
        self.host.save_soon()
        text = self.editor.toPlainText()
        if self.host.runner is not None:
            self.host.runner.run("glossary-save", lambda: atomic_write_text(spec, text),
                                 lambda _path: self._check(), self._on_check_failed)
        else:
            atomic_write_text(spec, text)
            self._check()

    def _check(self) -> None:
        if not self._index_ok():
            self._waiting_for_index = True  # checked as soon as the index is there (see refresh)
            self._pending = False
            self.update_status()
            return
        self._waiting_for_index = False
        if self._timer.isActive():
            return  # an edit is waiting to be saved; its check follows
        self._pending = False
        self._check_text = self.editor.toPlainText()
        self.busy.start("Checking the words against the index…")
        self.update_status()
        self.check_command.run(["data", "glossary", "check", self.spec, "--wlasl", self.state.index_path, "--json"])

    def _on_checked(self, result: Any) -> None:
        self.busy.stop()
        if not isinstance(result, dict) or self._check_text != self.editor.toPlainText():
            return  # words changed meanwhile: a newer check is coming
        self.result = result
        self._problem = ""
        self._checked_text = self._check_text
        unknown = result.get("unknown") or []
        repeated = result.get("duplicates") or []
        entries = [{**e, "kind": "unknown"} for e in unknown] + [{**e, "kind": "repeat"} for e in repeated]
        self._show_entries(entries)
        matched = int(result.get("matched", 0))
        self.update_status()
        self.set_complete(not unknown and not repeated and matched >= 2)
        self.host.refresh_steps()
        self.checked.emit(result)

    def _show_entries(self, entries: list[dict[str, Any]]) -> None:
        """Fill the list of flagged words (unknown and repeated, in line order) and highlight their lines."""
        entries = sorted(entries, key=lambda e: int(e.get("line") or 0))
        self.unknown_list.clear()
        for entry in entries:
            text = f"line {entry.get('line')}: '{entry.get('word')}'"
            if entry.get("kind") == "repeat":
                text += f"  repeats line {entry.get('first_line')}"
            elif entry.get("suggestions"):
                text += f"  (did you mean {', '.join(repr(h) for h in entry['suggestions'])}?)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.unknown_list.addItem(item)
        if entries:
            self.unknown_list.setCurrentRow(0)
        self._highlight([int(e.get("line") or 0) for e in entries])
        self._update_unknown_buttons()

    def _on_check_failed(self, message: str) -> None:
        self.busy.stop()
        self.result = None
        self._problem = message
        self._pending = False
        self.update_status()
        self.set_complete(False)
        self.check_failed.emit(message)

    def _count_words(self) -> None:
        count = sum(1 for line in self.editor.toPlainText().splitlines() if line.split("#", 1)[0].strip())
        self.count_label.setText(f"{count} signs")

    def _highlight(self, lines: list[int]) -> None:
        selections = []
        for line in lines:
            block = self.editor.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor("#fbd3d0"))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        self.editor.setExtraSelections(selections)

    def _update_unknown_buttons(self) -> None:
        has = self.unknown_list.count() > 0
        self.remove_button.setEnabled(has)
        item = self.unknown_list.currentItem()
        entry = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self.suggest_button.setEnabled(bool(entry and entry.get("suggestions")))

    # ---------------------------------------------------------------- fixes
    def use_suggestion(self, item: QListWidgetItem | None) -> None:
        """Replace an unknown word with its first suggestion; if that gloss is already in the list,
        the line is removed instead (merged), so the fix never creates a repeat."""
        entry = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not entry or not entry.get("suggestions"):
            return
        line, replacement = int(entry["line"]), entry["suggestions"][0]
        others = {gloss_key(word) for number, word in _words(self.editor.toPlainText()) if number != line}
        change = None if gloss_key(replacement) in others else (entry["word"], replacement)
        self._replace_lines({line: change})

    def remove_unknown(self) -> None:
        """Delete every flagged line: unknown words and repeats."""
        entries = [self.unknown_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.unknown_list.count())]
        self._replace_lines({int(e["line"]): None for e in entries})

    def _replace_lines(self, changes: dict[int, tuple[str, str] | None]) -> None:
        lines = self.editor.toPlainText().split("\n")
        deleted: list[int] = []
        for number in sorted(changes, reverse=True):
            if not 1 <= number <= len(lines):
                continue
            change = changes[number]
            if change is None:
                del lines[number - 1]
                deleted.append(number)
            else:
                word, replacement = change
                lines[number - 1] = lines[number - 1].replace(word, replacement, 1)
        text = "\n".join(lines)
        # The list follows the edit at once: the fixed lines leave it, the others keep their words at
        # their new line numbers, and repeats are found again; the check that follows confirms it.
        kept = []
        for i in range(self.unknown_list.count()):
            entry = dict(self.unknown_list.item(i).data(Qt.ItemDataRole.UserRole))
            line = int(entry.get("line") or 0)
            if entry.get("kind") == "repeat" or line in changes:
                continue
            entry["line"] = line - sum(1 for d in deleted if d < line)
            kept.append(entry)
        self.editor.setPlainText(text)  # an edit: saved and checked again
        self._show_entries(kept + _repeats(text))

    def shutdown(self) -> None:
        if self._timer.isActive():  # an edit not yet saved: save it now, so that it is not lost
            self._timer.stop()
            self._pending_save_now()
        self.words.cancel()
        self.check_command.cancel()


def _words(text: str) -> list[tuple[int, str]]:
    """(line number, word) of every gloss line, as ``parse_glossary`` reads them."""
    words = []
    for number, line in enumerate(text.splitlines(), start=1):
        word = " ".join(line.split("#", 1)[0].split())
        if word:
            words.append((number, word))
    return words


def _repeats(text: str) -> list[dict[str, Any]]:
    """The repeated words of ``text``, as the check reports them (found here, without the index)."""
    try:
        glossary = parse_glossary(text, "edited", "edited")
    except GlossaryError:  # empty: nothing repeats
        return []
    return [{"kind": "repeat", "line": line, "word": word, "first_line": first}
            for line, word, first in glossary.duplicates]


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each path separator, so a wrapped label can break a long
    path instead of growing wider than the page (word wrap only breaks at spaces otherwise)."""
    return text.replace("/", "/\u200b").replace("\\", "\\\u200b")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
