"""Process start-up that is safe in the frozen (PyInstaller) build and in source alike.

Called first by ``signdesk.cli.main``, before anything heavy is imported:
- ``multiprocessing`` uses spawn (fork with Qt or torch threads running can deadlock) and, when frozen,
  ``freeze_support`` lets a spawned child run its task instead of starting another app;
- a windowed build has ``sys.stdout``/``sys.stderr`` set to None: printing would crash, so they go
  to the null device;
- ``HF_HOME`` is set before any Hugging Face import, so the hub libraries keep their caches in
  SignDesk's cache folder unless the user chose one;
- log records also go to a rotating file in the user log folder, where a user can find them.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import sys

from signdesk import paths

_done = False


def _null_stdio() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process


def _file_logging() -> None:
    try:
        folder = paths.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / "signdesk.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8", delay=True
        )
    except OSError:
        return  # a read-only home must not stop the app
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))


def prepare() -> None:
    """Idempotent: the first call does the work."""
    global _done
    if _done:
        return
    _done = True
    if getattr(sys, "frozen", False):
        multiprocessing.freeze_support()
    with contextlib.suppress(RuntimeError):  # already set by whoever embeds us
        multiprocessing.set_start_method("spawn")
    _null_stdio()
    if not os.environ.get("SIGNDESK_HOME"):
        os.environ.setdefault("HF_HOME", str(paths.cache_dir() / "huggingface"))
    _file_logging()
