"""Errors meant for people: one line that names the problem and what to do about it."""

from __future__ import annotations


class SignDeskError(Exception):
    """A problem the user can fix. The CLI prints its message on one line and exits with code 2."""


class ConfigError(SignDeskError):
    """A settings file, environment variable or flag holds a wrong key, type or value."""


class VideoError(SignDeskError):
    """A video file is missing, empty, truncated or not a video."""


class DeviceError(SignDeskError):
    """A requested device or quantization is not available on this machine."""


class ModelError(SignDeskError):
    """A model or adapter cannot be found, downloaded or loaded."""
