"""Typed settings in layers: packaged defaults < user file < environment < command-line flags.

Every key is declared in ``SCHEMA`` (a ``signdesk.schema.Schema``) with its type and allowed values,
so a wrong key, type or value in any layer is refused with an error that names where it came from,
the key and what is allowed.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from signdesk import paths
from signdesk.atomicio import atomic_write_text
from signdesk.errors import ConfigError
from signdesk.hardware import DEVICE_CHOICES
from signdesk.schema import TEXT, Key, Schema, choice, float_range, int_range, unflatten

ENV_OVERRIDES = {"SIGNDESK_MODEL": "model.id", "SIGNDESK_DEVICE": "device"}

SCHEMA = Schema({
    "model.id": TEXT,
    "model.revision": TEXT,
    "model.adapter": Key(str, "a LoRA adapter folder or null", nullable=True),
    "device": choice(*DEVICE_CHOICES),
    "quantize": choice("none", "4bit", "8bit"),
    "cpu_arithmetic": choice("auto", "float32", "bfloat16", "int8"),
    "frames": int_range(1, 64),
    "profile": choice("auto", "quality", "balanced", "fast"),
    "mode": choice("vocab", "free"),
    "glossary": Key(str, "a packaged glossary name, a glossary file, or null", nullable=True),
    "top_k": int_range(1, 50),
    "prompt.system": Key(str, "a text (may be empty)"),
    "prompt.user": TEXT,
    "generation.max_new_tokens": int_range(1, 256),
    "generation.score_batch_size": int_range(1, 4096),
    "generation.shortlist": Key(int, "0 (score every gloss) or a shortlist size from 1 to 100000",
                                lambda v: 0 <= v <= 100_000),
    "live.threshold": float_range(0.0, 1.0),
    "live.segmentation": choice("motion", "continuous"),
    "live.stride": int_range(1, 64),
    "live.min_sign_s": float_range(0.05, 10.0),
    "live.max_sign_s": float_range(0.1, 30.0),
    "live.window_s": float_range(0.2, 10.0),
    "live.hold_s": float_range(0.05, 2.0),
    "live.sensitivity": float_range(1.0, 10.0),
    "live.speak": Key(bool, "true or false"),
    # where the model runs (signdesk.engine.server): here, or on a vLLM server; the API key is never a setting
    "backend": choice("local", "server"),
    "server.url": Key(str, "a server address such as https://gpu.example.org:8000, or null", nullable=True),
    "server.key_file": Key(str, "a file holding the API key (readable only by you), or null", nullable=True),
    "server.ca_bundle": Key(str, "a PEM file of a private certificate authority, or null", nullable=True),
    "server.timeout": float_range(1.0, 600.0),
    "server.retries": int_range(0, 10),
    "server.image_format": choice("jpeg", "png"),
    "sentences.enabled": Key(bool, "true or false"),
    "sentences.pause_seconds": float_range(0.3, 10.0),
    "sentences.max_new_tokens": int_range(8, 128),
    # corrections in the Live transcript kept as takes of my signs (signdesk.mysigns): null = not asked yet (off)
    "my_signs.keep_corrections": Key(bool, "true, false or null (not asked yet: off)", nullable=True),
    "my_signs.folder": Key(str, "a folder for the takes of my signs, or null (the user data folder's my-signs)",
                           lambda v: bool(v.strip()), nullable=True),
    "my_signs.target": int_range(1, 100),
})


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}; fix or delete the file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings ({exc.strerror})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings must be a mapping of keys to values")
    return SCHEMA.flatten(data)


class Settings:
    """The merged settings plus the user layer, which is what ``save`` writes back."""

    def __init__(self, values: dict[str, Any], user: dict[str, Any], user_file: Path,
                 explicit: Iterable[str] | None = None) -> None:
        self._values = values
        self._user = user
        self.user_file = user_file
        # keys set above the packaged defaults (settings file, environment, flags): what an adapter may not change
        self.explicit = frozenset(user if explicit is None else explicit)

    def is_explicit(self, name: str) -> bool:
        """Whether ``name`` was chosen (settings file, environment, flag) rather than left at its packaged default."""
        return name in self.explicit

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._values)

    def as_tree(self) -> dict[str, Any]:
        return unflatten(self._values)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "command line") -> Settings:
        """A copy with more values on top (command-line flags, a GUI change not yet saved)."""
        given = {k: v for k, v in overrides.items() if v is not None or SCHEMA[k].nullable}
        checked = SCHEMA.validate(given, source)
        return Settings({**self._values, **checked}, dict(self._user), self.user_file, self.explicit | checked.keys())

    def set_user(self, name: str, value: Any) -> None:
        """Change one value in the user layer (and the merged view); ``save`` persists it."""
        checked = SCHEMA.validate({name: value}, "settings")
        self._user.update(checked)
        self._values.update(checked)
        self.explicit = self.explicit | checked.keys()

    def save(self) -> Path:
        import yaml

        text = yaml.safe_dump(unflatten(self._user), sort_keys=True, allow_unicode=True)
        return atomic_write_text(self.user_file, text)


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, user_file: Path | None = None
) -> Settings:
    """Merge the packaged defaults, the user's file, the environment and ``overrides`` (flags)."""
    defaults_file = paths.resources_dir() / "defaults.yaml"
    values = SCHEMA.validate(_read_yaml(defaults_file), str(defaults_file))
    missing = set(SCHEMA.keys) - set(values)
    if missing:
        raise ConfigError(f"{defaults_file}: packaged defaults lack {', '.join(sorted(missing))}")

    user_file = user_file or paths.settings_file()
    user = SCHEMA.validate(_read_yaml(user_file), str(user_file)) if user_file.exists() else {}
    values.update(user)

    env: dict[str, Any] = {}
    for var, name in ENV_OVERRIDES.items():
        if os.environ.get(var):
            env.update(SCHEMA.validate({name: os.environ[var]}, f"environment variable {var}"))
    values.update(env)

    settings = Settings(values, user, user_file, user.keys() | env.keys())
    return settings.with_overrides(overrides) if overrides else settings
