"""Where SignDesk keeps things.

User folders come from platformdirs; ``SIGNDESK_HOME`` relocates all of them under one folder
(tests and portable installs use it). Packaged files (``resources/``, ``models/``) are found next to
the package in a source checkout and under ``sys._MEIPASS`` in the frozen build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "SignDesk"
HOME_ENV = "SIGNDESK_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def _user_dir(kind: str) -> Path:
    home = _home()
    if home is not None:
        path = home / kind
    else:
        import platformdirs

        getter = {
            "config": platformdirs.user_config_path,
            "data": platformdirs.user_data_path,
            "cache": platformdirs.user_cache_path,
            "logs": platformdirs.user_log_path,
        }[kind]
        path = getter(APP_NAME, appauthor=False)
    return path


def config_dir() -> Path:
    return _user_dir("config")


def data_dir() -> Path:
    return _user_dir("data")


def cache_dir() -> Path:
    return _user_dir("cache")


def log_dir() -> Path:
    return _user_dir("logs")


def settings_file() -> Path:
    return config_dir() / "settings.yaml"


def models_cache_dir() -> Path:
    """The Hugging Face hub cache SignDesk downloads models into.

    An explicit ``HF_HUB_CACHE``/``HF_HOME`` wins, so a user's existing cache is shared; under
    ``SIGNDESK_HOME`` the cache always moves with it, so tests never touch the real one.
    """
    if _home() is None:
        if os.environ.get("HF_HUB_CACHE"):
            return Path(os.environ["HF_HUB_CACHE"])
        if os.environ.get("HF_HOME"):
            return Path(os.environ["HF_HOME"]) / "hub"
    return cache_dir() / "huggingface" / "hub"


def adapters_dir() -> Path:
    return data_dir() / "adapters"


def jobs_dir() -> Path:
    return data_dir() / "jobs"


def my_signs_dir() -> Path:
    """The takes of the user's own signs (``signdesk.mysigns``): they stay on this computer."""
    return data_dir() / "my-signs"


def _bundle_root() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return _bundle_root() / "resources"


def catalog_dir() -> Path:
    return _bundle_root() / "models"
