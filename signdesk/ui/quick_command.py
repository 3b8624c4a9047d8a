"""Short ``signdesk`` commands (index stats, glossary checks) run as child processes with ``QProcess``.

They are child processes for the same reason as the long jobs: reading a 12 MB index holds Python's
GIL for a while, which would freeze the window if done in one of its threads. ``QProcess`` reports
through the event loop, so nothing waits on the child. A new request replaces a running one (latest
wins): only the answer to the newest question is ever shown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from PySide6.QtCore import QObject, QProcess, Signal

from signdesk.jobs.runner import app_command


class QuickCommand(QObject):
    """Runs ``signdesk ARGV`` and hands back its JSON output (or the one-line error)."""

    finished = Signal(object)
    """(result) the command's stdout parsed as JSON (or the text when ``json_output`` is False)."""
    failed = Signal(str)
    """(message) the command failed: its error line (``signdesk: error: ...`` without the prefix)."""

    def __init__(self, parent: QObject | None = None, *, json_output: bool = True,
                 ok_codes: Sequence[int] = (0,)) -> None:
        super().__init__(parent)
        self.json_output = json_output
        self.ok_codes = tuple(ok_codes)
        self._process: QProcess | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def run(self, argv: Sequence[str]) -> None:
        self.cancel()
        program, *prefix = app_command()
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments([*prefix, *argv])
        process.finished.connect(lambda code, _status, p=process: self._on_finished(p, code))
        process.errorOccurred.connect(lambda error, p=process: self._on_error(p, error))
        self._process = process
        process.start()

    def cancel(self) -> None:
        """Forget the running command and end its process (quickly: these never hold anything)."""
        process, self._process = self._process, None
        if process is not None:
            process.blockSignals(True)
            if process.state() != QProcess.ProcessState.NotRunning:
                process.kill()
                process.waitForFinished(1000)
            process.deleteLater()

    def _on_error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        if process is not self._process or error != QProcess.ProcessError.FailedToStart:
            return  # crashes arrive through finished() as well
        self._process = None
        process.deleteLater()
        self.failed.emit(f"could not start {process.program()}: {process.errorString()}")

    def _on_finished(self, process: QProcess, code: int) -> None:
        if process is not self._process:
            return
        self._process = None
        out = bytes(process.readAllStandardOutput().data()).decode("utf-8", "replace")
        err = bytes(process.readAllStandardError().data()).decode("utf-8", "replace")
        process.deleteLater()
        if process.exitStatus() == QProcess.ExitStatus.NormalExit and code in self.ok_codes:
            if not self.json_output:
                self.finished.emit(out)
                return
            try:
                self.finished.emit(json.loads(out))
                return
            except ValueError:
                pass
        self.failed.emit(error_line(err) or f"the command ended with exit code {code}")


def error_line(stderr: str) -> str:
    """The line that says what went wrong: the CLI's ``signdesk: error:`` line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("signdesk: error:"):
            return line.removeprefix("signdesk: error:").strip()
    return lines[-1] if lines else ""
