"""Declared, checked settings: one small engine for ``settings.yaml`` and for training configs.

A schema maps dotted names (``live.threshold``, ``lora.rank``) to a ``Key``: the accepted types, a
check, and the words that say what is allowed. ``Schema.validate`` refuses a wrong key, type or value
with an error naming where it came from (a file, a flag, an environment variable), the key and what
is allowed, so a mistake is caught before anything slow starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from signdesk.errors import ConfigError


def _anything(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Key:
    """One setting: its type, an optional check, and the words that describe what is allowed."""

    type: type | tuple[type, ...]
    allowed: str
    check: Callable[[Any], bool] = _anything
    nullable: bool = False  # None is accepted (and kept) whatever the type

    @property
    def types(self) -> tuple[type, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def accepts(self, value: Any) -> bool:
        types = self.types
        # bool is an int in Python; a setting that wants a number must not take true/false
        wrong_bool = isinstance(value, bool) and bool not in types
        return isinstance(value, types) and not wrong_bool and self.check(value)


def choice(*values: str) -> Key:
    return Key(str, " | ".join(values), lambda v: v in values)


def int_range(lo: int, hi: int) -> Key:
    return Key(int, f"an integer from {lo} to {hi}", lambda v: lo <= v <= hi)


def float_range(lo: float, hi: float) -> Key:
    return Key((int, float), f"a number from {lo} to {hi}", lambda v: lo <= v <= hi)


def int_at_least(lo: int) -> Key:
    return Key(int, f"an integer of {lo} or more", lambda v: v >= lo)


TEXT = Key(str, "a non-empty text", lambda v: bool(v.strip()))


class Schema:
    """Named keys and how a wrong one is reported.

    ``noun`` names a key in messages ("setting", "training setting"); ``known`` says how the list of
    known keys is introduced and ``sort_known`` whether it is sorted. ``ints_as_floats`` turns an
    integer given for a key that takes floats into a float (``epochs: 3`` is ``3.0``).
    """

    def __init__(self, keys: Mapping[str, Key], *, noun: str = "setting", known: str = "known settings",
                 sort_known: bool = True, ints_as_floats: bool = False) -> None:
        self.keys = dict(keys)
        self.noun = noun
        self.known = known
        self.sort_known = sort_known
        self.ints_as_floats = ints_as_floats

    def __contains__(self, name: object) -> bool:
        return name in self.keys

    def __getitem__(self, name: str) -> Key:
        return self.keys[name]

    def validate(self, flat: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Check every key and value of one layer; raise ConfigError naming ``source`` and the key."""
        checked: dict[str, Any] = {}
        for name, value in flat.items():
            key = self.keys.get(name)
            if key is None:
                names: Iterable[str] = sorted(self.keys) if self.sort_known else self.keys
                raise ConfigError(f"{source}: unknown {self.noun} '{name}' ({self.known}: {', '.join(names)})")
            if value is None and key.nullable:
                checked[name] = None
                continue
            value = _number_from_yaml(value, key.types)
            if not key.accepts(value):
                raise ConfigError(f"{source}: {self.noun} '{name}' must be {key.allowed} (got {value!r})")
            if self.ints_as_floats and float in key.types and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            checked[name] = value
        return checked

    def flatten(self, tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        """Nested mappings as dotted names; a mapping given for a declared key stays its (wrong) value."""
        flat: dict[str, Any] = {}
        for key, value in tree.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping) and name not in self.keys:
                flat.update(self.flatten(value, name + "."))
            else:
                flat[name] = value
        return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted names back to nested mappings (what a settings file holds)."""
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _number_from_yaml(value: Any, types: tuple[type, ...]) -> Any:
    """``1e-3`` for a number: PyYAML (YAML 1.1) reads an exponent without a dot as text, so a number
    setting takes text that is a plain decimal number; anything else is left for the check to refuse."""
    if isinstance(value, str) and float in types and str not in types:
        try:
            number = float(value)
        except ValueError:
            return value
        if math.isfinite(number):
            return number
    return value
