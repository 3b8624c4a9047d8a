"""The catalog of supported checkpoints (``models/catalog.yaml``): facts, never weights."""

from __future__ import annotations

from typing import Any

from signdesk import paths
from signdesk.errors import ConfigError


def load_catalog() -> list[dict[str, Any]]:
    import yaml

    path = paths.catalog_dir() / "catalog.yaml"
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        raise ConfigError(f"{path}: the model catalog is missing or damaged; reinstall SignDesk") from None
    return entries


def catalog_entry(model_id: str) -> dict[str, Any] | None:
    return next((e for e in load_catalog() if e["id"] == model_id), None)
