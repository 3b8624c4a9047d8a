"""Step 8: one click switches the Live tab to the new adapter (with its glossary and frame count).

The switch goes through the window's own settings path (the settings panel's Apply), so the adapter
is loaded onto the running model without reloading it, and the choice is saved like any setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from signdesk.atomicio import atomic_write_text
from signdesk.training.wizard_state import adapter_ready, read_json
from signdesk.ui.training_pages.base import WizardHost, WizardPage
from signdesk.ui.training_pages.common import group_box, named, ok_html, pct, status_label, warn_html

INTRO = (
    "Use the adapter in the Live tab: it is loaded onto the model that is already running, together with the "
    "signs it was trained on and the number of frames it expects. You can switch back to the base model (or "
    "another adapter) in the settings (Ctrl+,) at any time."
)
GLOSSARY_FILE = "glossary.txt"


def adapter_glossary(adapter: Path, words: list[str]) -> Path:
    """The adapter's signs as a glossary file beside it (what the Live tab's glossary setting names)."""
    path = adapter / GLOSSARY_FILE
    text = "".join(f"{w}\n" for w in words)
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except OSError:
        pass
    return atomic_write_text(path, text)


class UsePage(WizardPage):
    """A summary of the adapter and the button that puts it to use."""

    step = "use"

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.meta: dict[str, Any] | None = None
        box = group_box(self.inner, "Adapter summary", "Your adapter")
        form = QFormLayout(box)
        self.fields: dict[str, QLabel] = {}
        for key, text in (("folder", "Folder"), ("base", "Base model"), ("signs", "Signs"),
                          ("frames", "Frames per sign"), ("val", "Validation top-1"), ("test", "Test top-1")):
            value = status_label(box, text)
            form.addRow(f"{text}:", value)
            self.fields[key] = value
        self.body.addWidget(box)
        row = QHBoxLayout()
        self.use_button = QPushButton("&Use this adapter in the Live tab", self.inner)
        named(self.use_button, "Use this adapter in the Live tab")
        font = self.use_button.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.use_button.setFont(font)
        self.use_button.setMinimumHeight(44)
        self.use_button.clicked.connect(self.use)
        self.open_button = QPushButton("Open adapter &folder", self.inner)
        named(self.open_button, "Open the adapter folder")
        self.open_button.clicked.connect(self.open_folder)
        row.addWidget(self.use_button, 1)
        row.addWidget(self.open_button)
        self.body.addLayout(row)
        self.message = status_label(self.inner, "Use status")
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.message)
        self.body.addStretch(1)

    def refresh(self) -> None:
        adapter = self.state.adapter
        ready = adapter_ready(adapter)
        self.meta = read_json(adapter / "signdesk.json") if ready and adapter is not None else None
        meta = self.meta or {}
        metrics = meta.get("metrics") or {}
        report = read_json(self.state.eval_dir() / "metrics.json") if self.state.eval_dir() else None
        results = (report or {}).get("results") or {}
        self.fields["folder"].setText(str(adapter) if adapter else "—")
        self.fields["base"].setText(str((meta.get("base_model") or {}).get("id", "—")))
        glossary = meta.get("glossary") or []
        self.fields["signs"].setText(f"{len(glossary)}: {', '.join(glossary[:12])}{' …' if len(glossary) > 12 else ''}"
                                     if glossary else "—")
        self.fields["frames"].setText(str(meta.get("frames", "—")))
        self.fields["val"].setText(pct(metrics.get("val_top1")))
        test = results.get("adapter", {}).get("top1")
        base = results.get("base", {}).get("top1")
        self.fields["test"].setText("not evaluated (step 6)" if test is None else
                                    pct(test) + (f" (base model {pct(base)})" if base is not None else ""))
        self.use_button.setEnabled(self.meta is not None)
        self.open_button.setEnabled(adapter is not None and adapter.is_dir())
        in_use = bool(adapter) and self.state.adapter_in_use == str(adapter)
        if self.meta is None:
            self.message.setText(warn_html("Train an adapter first (step 5)."))
        elif in_use:
            self.message.setText(ok_html(f"The Live tab interprets with {adapter.name}."))
        else:
            self.message.setText("")
        self.set_complete(in_use)
        self.host.refresh_steps()

    def use(self) -> None:
        adapter, meta = self.state.adapter, self.meta
        if adapter is None or meta is None:
            return
        changes: dict[str, Any] = {"model.adapter": str(adapter), "mode": "vocab"}
        if isinstance(meta.get("frames"), int):
            changes["frames"] = meta["frames"]
        words = [str(w) for w in meta.get("glossary") or []]
        if not words:
            self.host.request_use(changes)
            return

        def with_glossary(path: Any) -> None:
            self.host.request_use({**changes, "glossary": str(path)})

        self.use_button.setEnabled(False)  # until the window answers
        if self.host.runner is not None:  # the glossary file is written (and synced) off the GUI thread
            self.host.runner.run("use-adapter", lambda: adapter_glossary(adapter, words), with_glossary,
                                 lambda message: self.adapter_applied(str(adapter), False, message))
        else:
            with_glossary(adapter_glossary(adapter, words))

    def adapter_applied(self, adapter: str, ok: bool, message: str = "") -> None:
        """The window applied (or refused) the switch to ``adapter``."""
        self.use_button.setEnabled(self.meta is not None)
        if ok:
            self.state.adapter_in_use = adapter
            self.host.save_soon()
            self.refresh()
        else:
            self.message.setText(warn_html(f"The adapter was not applied. {message}".strip()))

    def open_folder(self) -> None:
        if self.state.adapter is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.state.adapter)))
