"""Run a long job as a child process of the app's own executable, and follow or re-attach to it.

A job is a folder under ``paths.jobs_dir()``:

- ``job.json``    what to run (``argv`` for ``signdesk``), its kind, and the child's pid and start time;
- ``events.jsonl`` JSON-lines progress written by the job (``--events``);
- ``log.txt``     everything the job prints;
- ``stop``        created to ask for a clean stop (``--stop-file``);
- ``result.json`` the exit code, written by the child itself when it ends, so a GUI that restarted
  meanwhile still learns how the job ended.

The child is ``signdesk job run FOLDER`` (``sys.executable`` itself in the frozen build, so no Python is
needed), started without a shell in a new process group. Stopping asks via the stop file first and
kills the process tree only when the job does not stop in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signdesk import paths
from signdesk.atomicio import atomic_write_json
from signdesk.errors import SignDeskError
from signdesk.jobs.events import EXIT_FAILED, EXIT_FINISHED, EXIT_STOPPED, EXIT_USAGE, EventTail

RUNNING, FINISHED, STOPPED, FAILED, LOST = "running", "finished", "stopped", "failed", "lost"


def app_command() -> list[str]:
    """How to start this app again: the executable itself when frozen, else ``python -m signdesk``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "signdesk"]


@dataclass
class JobState:
    status: str  # running | finished | stopped | failed | lost
    exit_code: int | None
    message: str


class Job:
    """One job folder: start it, read its events and log, stop it, learn how it ended."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._process: subprocess.Popen[bytes] | None = None
        self._events = EventTail(self.events_file)

    # ------------------------------------------------------------ files
    @property
    def spec_file(self) -> Path:
        return self.folder / "job.json"

    @property
    def events_file(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def log_file(self) -> Path:
        return self.folder / "log.txt"

    @property
    def stop_file(self) -> Path:
        return self.folder / "stop"

    @property
    def result_file(self) -> Path:
        return self.folder / "result.json"

    def spec(self) -> dict[str, Any]:
        try:
            return json.loads(self.spec_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SignDeskError(f"{self.folder}: not a job folder (no readable job.json)") from None

    @property
    def kind(self) -> str:
        return self.spec().get("kind", "job")

    # ------------------------------------------------------------ life cycle
    @classmethod
    def create(cls, kind: str, argv: list[str], root: Path | None = None) -> Job:
        """A new job folder for ``signdesk ARGV``; ``--events`` and ``--stop-file`` are added here."""
        root = root or paths.jobs_dir()
        folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        job = cls(folder)
        full = [*argv, "--events", str(job.events_file), "--stop-file", str(job.stop_file)]
        atomic_write_json(job.spec_file, {"kind": kind, "argv": full, "created": time.time()})
        return job

    def command(self) -> list[str]:
        return [*app_command(), "job", "run", str(self.folder)]

    def start(self) -> Job:
        spec = self.spec()
        self.stop_file.unlink(missing_ok=True)
        self.result_file.unlink(missing_ok=True)
        flags: dict[str, Any] = {}
        if os.name == "nt":
            flags["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(subprocess, "CREATE_NO_WINDOW", 0)
        else:
            flags["start_new_session"] = True  # its own process group: a tree we can stop as one
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(  # no shell: argv goes to the program as given
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, **flags
            )
        spec.update(pid=self._process.pid, started=time.time(), start_time=_process_start_time(self._process.pid))
        atomic_write_json(self.spec_file, spec)
        return self

    def state(self) -> JobState:
        """How the job stands now, whether this process started it or is re-attaching to it."""
        if self.result_file.exists():
            try:
                code = int(json.loads(self.result_file.read_text(encoding="utf-8"))["exit_code"])
            except (OSError, ValueError, KeyError):
                code = EXIT_FAILED
            return _state_for(code, self.log_tail())
        if self.is_alive():
            return JobState(RUNNING, None, "running")
        if self.stop_file.exists():  # it had to be killed after a stop request
            return JobState(STOPPED, EXIT_STOPPED, "stopped by user (ended forcefully)")
        if self._process is not None:
            return _state_for(self._process.returncode, self.log_tail())  # died without writing a result
        return JobState(LOST, None, "the job ended without a result (the computer or the app was stopped)")

    def is_alive(self) -> bool:
        spec = self.spec()
        pid, start_time = spec.get("pid"), spec.get("start_time")
        if not pid:
            return False
        if self._process is not None:
            return self._process.poll() is None
        return start_time is not None and _process_start_time(pid) == start_time

    def new_events(self) -> list[dict[str, Any]]:
        """Events written since the last call (tailing ``events.jsonl``)."""
        return self._events.read()

    def all_events(self) -> list[dict[str, Any]]:
        return EventTail(self.events_file).read()

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - 16384))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def request_stop(self) -> None:
        self.stop_file.touch()

    def stop(self, timeout: float = 30.0) -> JobState:
        """Ask for a clean stop; kill the whole process tree if it has not stopped within ``timeout``."""
        self.request_stop()
        if not self.wait(timeout):
            self.kill()
            self.wait(5.0)
        return self.state()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        while self.is_alive():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.1)  # not our child: no handle to wait on, so poll its pid
        return True

    def kill(self) -> None:
        """The fallback: end the job and every process it started."""
        import psutil

        pid = self.spec().get("pid")
        if not pid or not self.is_alive():
            return
        try:
            parent = psutil.Process(pid)
            tree = [*parent.children(recursive=True), parent]
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(tree, timeout=5)


def _state_for(code: int, tail: str) -> JobState:
    if code == EXIT_FINISHED:
        return JobState(FINISHED, code, "finished")
    if code == EXIT_STOPPED:
        return JobState(STOPPED, code, "stopped by user")
    what = "bad input" if code == EXIT_USAGE else f"exit {code}"
    last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
    return JobState(FAILED, code, f"failed ({what}): {last}")


def _process_start_time(pid: int) -> float | None:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped by its parent
            return None
        return round(process.create_time(), 2)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def list_jobs(root: Path | None = None) -> list[Job]:
    """Job folders, newest first (for re-attaching after a restart)."""
    root = root or paths.jobs_dir()
    if not root.is_dir():
        return []
    return [Job(p) for p in sorted(root.iterdir(), reverse=True) if (p / "job.json").exists()]


def run_job_folder(folder: Path, run_argv: Callable[[list[str]], int]) -> int:
    """The child side: run the job's command line with ``run_argv`` in this process, record its exit code atomically.

    ``run_argv`` is ``signdesk.cli.main``, handed down by the CLI (``signdesk job run``): jobs sit below the CLI
    and must not import it.
    """
    job = Job(folder)
    argv = job.spec()["argv"]
    code = EXIT_FAILED
    try:
        code = run_argv(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except BaseException:
        import traceback

        traceback.print_exc()  # into log.txt, where the GUI shows its tail
        code = EXIT_FAILED
    finally:
        atomic_write_json(job.result_file, {"exit_code": code, "finished": time.time()})
    return code
