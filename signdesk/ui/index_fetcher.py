"""Download the WLASL index on a worker thread, reporting progress to the GUI thread through signals.

A network download releases the GIL while it waits, so a thread is enough here (the file is checked
afterwards by a child process: see ``signdesk.data.index_download``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from signdesk.errors import SignDeskError
from signdesk.jobs.events import Stopped

PROGRESS_EVERY_S = 0.1


class IndexFetcher(QObject):
    """One download at a time; ``cancel()`` stops it at the next chunk, ``join()`` waits for the thread."""

    progressed = Signal(int, int)
    """(done bytes, total bytes or -1 when the server did not say)."""
    fetched = Signal(str)
    """(path) the index was downloaded and saved."""
    fetch_failed = Signal(str)
    """(message) the download failed or was cancelled (then the message says so)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, dest: Path, url: str) -> bool:
        if self.running:
            return False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(dest, url, self._stop), name="signdesk-index-fetch",
                                        daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self, dest: Path, url: str, stop: threading.Event) -> None:
        from signdesk.data.index_download import download_index

        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or (total is not None and done >= total):
                last[0] = now
                self.progressed.emit(done, -1 if total is None else total)

        try:
            result = download_index(dest, url, progress=progress, should_stop=stop.is_set)
        except Stopped:
            self.fetch_failed.emit("the download was cancelled")
        except SignDeskError as exc:
            self.fetch_failed.emit(str(exc))
        except Exception as exc:  # a bug must still be reported in the window
            self.fetch_failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.fetched.emit(str(result.path))
