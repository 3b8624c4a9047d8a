"""Step 1: the WLASL index: choose the JSON file or download it, and see what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from signdesk.data.index_download import WLASL_INDEX_URL
from signdesk.training.wizard_state import default_index_path
from signdesk.ui.busy_indicator import BusyIndicator
from signdesk.ui.index_fetcher import IndexFetcher
from signdesk.ui.quick_command import QuickCommand
from signdesk.ui.training_pages.base import WizardHost, WizardPage
from signdesk.ui.training_pages.common import (
    error_html,
    group_box,
    named,
    ok_html,
    rich_status,
    status_label,
    warn_html,
)

INTRO = (
    "SignDesk learns from <b>WLASL</b>, a public dataset of 2,000 American Sign Language signs in about "
    "21,000 video clips. Its index, <code>WLASL_v0.3.json</code> (12 MB), lists every clip and where to "
    "download it. Choose your copy, or download it from the WLASL project. WLASL may be used for academic "
    "and computational research only (C-UDA licence); so may adapters trained on it."
)


class IndexPage(WizardPage):
    """Pick or download ``WLASL_v0.3.json``; its statistics come from ``signdesk data stats --json``."""

    step = "index"
    stats_loaded = Signal(dict)
    """(stats) the index was read: the JSON of ``signdesk data stats``."""
    stats_failed = Signal(str)
    """(message) the file is not a usable index."""

    def __init__(self, host: WizardHost, parent: QWidget | None = None) -> None:
        super().__init__(host, INTRO, parent)
        self.index_url = WLASL_INDEX_URL  # tests point this at a loopback server
        self.stats: dict[str, Any] | None = None
        self._stats_for = ""

        self.body.addLayout(self._build_path_row())
        self.download_bar = QProgressBar(self.inner)
        self.download_bar.setAccessibleName("Index download progress")
        self.download_bar.hide()
        self.body.addWidget(self.download_bar)
        self.busy = BusyIndicator(self.inner)
        self.body.addWidget(self.busy)
        self.message = rich_status(self.inner, "Index status")
        self.body.addWidget(self.message)
        self.body.addWidget(self._build_fields())
        self.body.addStretch(1)

        self.command = QuickCommand(self)
        self.command.finished.connect(self._on_stats)
        self.command.failed.connect(self._on_stats_failed)
        self.fetcher = IndexFetcher(self)
        self.fetcher.progressed.connect(self._on_download_progress)
        self.fetcher.fetched.connect(self._on_downloaded)
        self.fetcher.fetch_failed.connect(self._on_download_failed)
        self.path_edit.setText(self.state.index_path)

    def _build_path_row(self) -> QHBoxLayout:
        """The index file's path, Browse… and Download index."""
        row = QHBoxLayout()
        label = QLabel("&Index file:", self.inner)
        self.path_edit = QLineEdit(self.inner)
        self.path_edit.setPlaceholderText("…/WLASL_v0.3.json")
        named(self.path_edit, "Index file", "The WLASL index, WLASL_v0.3.json")
        label.setBuddy(self.path_edit)
        self.path_edit.editingFinished.connect(lambda: self.set_path(self.path_edit.text()))
        self.browse_button = QPushButton("&Browse…", self.inner)
        named(self.browse_button, "Choose the index file")
        self.browse_button.clicked.connect(self.browse)
        self.download_button = QPushButton("&Download index", self.inner)
        named(self.download_button, "Download the index", f"Download it from {WLASL_INDEX_URL}")
        self.download_button.clicked.connect(self.toggle_download)
        row.addWidget(label)
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.download_button)
        return row

    def _build_fields(self) -> QGroupBox:
        """What the index holds: a labelled value per statistic."""
        box = group_box(self.inner, "Index statistics", "What the index holds")
        form = QFormLayout(box)
        self.fields: dict[str, QLabel] = {}
        for key, text in (("glosses", "Signs (glosses)"), ("instances", "Clips (instances)"),
                          ("splits", "Official split"), ("per_gloss", "Clips per sign"), ("signers", "Signers"),
                          ("youtube", "From YouTube"), ("hosts", "Largest hosts")):
            value = status_label(box, text)
            form.addRow(f"{text}:", value)
            self.fields[key] = value
        return box

    # ---------------------------------------------------------------- actions
    def refresh(self) -> None:
        if self.state.index_path and self._stats_for != self.state.index_path and not self.command.running:
            self.set_path(self.state.index_path)

    def browse(self) -> None:
        start = self.state.index_path or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose the WLASL index", start, "WLASL index (*.json)")
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        """Use ``path`` as the index and read its statistics (in a child process)."""
        path = path.strip()
        self.path_edit.setText(path)
        if path != self.state.index_path:
            self.state.index_path = path
            self.host.save_soon()
        self.stats = None
        self._stats_for = path
        self.set_complete(False)
        self._clear_fields()
        if not path:
            self.message.setText("Choose the index file, or download it.")
            return
        if not Path(path).is_file():
            self.message.setText(error_html(f"{path}: no such file."))
            return
        self.message.setText("")
        self.busy.start("Reading the index…")
        self.command.run(["data", "stats", "--wlasl", path, "--json"])

    def toggle_download(self) -> None:
        if self.fetcher.running:
            self.fetcher.cancel()
            return
        dest = default_index_path()
        if self.fetcher.start(dest, self.index_url):
            self.download_button.setText("&Cancel download")
            self.download_button.setAccessibleName("Cancel the index download")
            self.download_bar.setRange(0, 0)
            self.download_bar.show()
            self.message.setText(f"Downloading the index to {dest}…")

    # ---------------------------------------------------------------- results
    def _on_stats(self, stats: Any) -> None:
        self.busy.stop()
        if not isinstance(stats, dict) or self._stats_for != self.state.index_path:
            return
        self.stats = stats
        splits = stats.get("splits", {})
        per = stats.get("per_gloss", {})
        yt = stats.get("youtube", {})
        self.fields["glosses"].setText(f"{stats.get('glosses', 0):,}")
        self.fields["instances"].setText(f"{stats.get('instances', 0):,}")
        self.fields["splits"].setText(" · ".join(f"{k} {v:,}" for k, v in splits.items()))
        self.fields["per_gloss"].setText(f"{per.get('min', 0)} to {per.get('max', 0)} (mean {per.get('mean', 0)})")
        self.fields["signers"].setText(f"{stats.get('signers', 0):,}")
        self.fields["youtube"].setText(f"{yt.get('instances', 0):,} clips from {yt.get('videos', 0):,} videos "
                                       "(downloaded with yt-dlp, then cut to the sign)")
        hosts = list(stats.get("hosts", {}).items())[:5]
        self.fields["hosts"].setText(", ".join(f"{h} ({n:,})" for h, n in hosts))
        problems = stats.get("problems") or []
        ok = int(stats.get("glosses", 0)) > 0
        text = ok_html(f"{stats.get('glosses', 0):,} signs and {stats.get('instances', 0):,} clips.") if ok else \
            error_html("The index holds no usable entries.")
        if problems:
            text += "<br>" + warn_html(f"{len(problems)} malformed entries are left out, first: {problems[0]}")
        self.message.setText(text)
        self.set_complete(ok)
        self.stats_loaded.emit(stats)

    def _on_stats_failed(self, message: str) -> None:
        self.busy.stop()
        self.message.setText(error_html(message))
        self.set_complete(False)
        self.stats_failed.emit(message)

    def _clear_fields(self) -> None:
        for value in self.fields.values():
            value.setText("—")

    def _on_download_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.download_bar.setRange(0, total)
            self.download_bar.setValue(done)
            self.download_bar.setFormat(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            self.download_bar.setFormat(f"{done / 1e6:.1f} MB")

    def _download_ended(self) -> None:
        self.download_bar.hide()
        self.download_button.setText("&Download index")
        self.download_button.setAccessibleName("Download the index")

    def _on_downloaded(self, path: str) -> None:
        self._download_ended()
        self.set_path(path)

    def _on_download_failed(self, message: str) -> None:
        self._download_ended()
        self.message.setText(error_html(f"Index not downloaded: {message}"))

    def shutdown(self) -> None:
        self.command.cancel()
        self.fetcher.cancel()
        self.fetcher.join(5.0)
