"""Small helpers the Training tab's pages share: accessible names, headings, number formats."""

from __future__ import annotations

import re

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QWidget,
)

from signdesk.ui.training_pages.status_lines import duration as duration  # shared with the Qt-free lines

#: Glosses with fewer training clips than this are called thin (the prepare page warns about them).
THIN_TRAIN_CLIPS = 5


def named(widget: QWidget, name: str, tip: str = "") -> QWidget:
    """Give ``widget`` an accessible name (what a screen reader says) and, optionally, a tooltip."""
    widget.setAccessibleName(name)
    if tip:
        widget.setToolTip(tip)
        widget.setAccessibleDescription(tip)
    return widget


def add_folder_row(form: QFormLayout, parent: QWidget, label: str, name: str, tip: str,
                   browse_name: str) -> tuple[QLineEdit, QPushButton]:
    """A labelled folder field with a Browse… button, added to ``form``; the caller connects both."""
    edit = QLineEdit(parent)
    named(edit, name, tip)
    button = QPushButton("&Browse…", parent)
    named(button, browse_name)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    caption = QLabel(label, parent)
    caption.setBuddy(edit)
    form.addRow(caption, row)
    return edit, button


def group_box(parent: QWidget, name: str, title: str = "") -> QGroupBox:
    """A group box with an accessible name (a screen reader says it when focus enters the group)."""
    box = QGroupBox(title, parent)
    box.setAccessibleName(name)
    return box


def table_view(model: QAbstractItemModel, name: str, parent: QWidget | None = None, *,
               sortable: bool = False, stretch: bool = False, stretch_column: int | None = None) -> QTableView:
    """A read-only table with named headers (screen readers announce the headers too)."""
    view = QTableView(parent)
    view.setModel(model)
    view.setAccessibleName(name)
    view.setSortingEnabled(sortable)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setAccessibleName(f"{name}: rows")
    header = view.horizontalHeader()
    header.setAccessibleName(f"{name}: columns")
    header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch if stretch else QHeaderView.ResizeMode.ResizeToContents)
    if stretch_column is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    if sortable:
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    return view


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 1.35)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def hint(text: str, parent: QWidget | None = None) -> QLabel:
    """A paragraph of explanation in a quieter colour, wrapped, with links opening in the browser."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(True)
    label.setStyleSheet("color: #4a4a4a;")
    label.setAccessibleName(plain(text))
    return label


def plain(html: str) -> str:
    """Text without tags and entities, for accessible names."""
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def status_label(parent: QWidget | None = None, name: str = "Status") -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName(name)
    return label


def rich_status(parent: QWidget | None = None, name: str = "Status") -> QLabel:
    """A status label that shows HTML (the ok, warn and error marks below)."""
    label = status_label(parent, name)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def warn_html(text: str) -> str:
    return f"<span style='color:#a15c00'>&#9888; {text}</span>"


def ok_html(text: str) -> str:
    return f"<span style='color:#1e7b34'>&#10003; {text}</span>"


def error_html(text: str) -> str:
    return f"<span style='color:#b00020'>&#10007; {text}</span>"
