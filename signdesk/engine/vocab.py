"""Glossary files for vocab mode: one gloss per line, ``#`` starts a comment.

A glossary is named by a packaged name (``resources/glossaries/<name>.txt``) or a file path.
"""

from __future__ import annotations

from pathlib import Path

from signdesk import paths
from signdesk.errors import ConfigError


def packaged_glossaries() -> dict[str, Path]:
    folder = paths.resources_dir() / "glossaries"
    return {p.stem: p for p in sorted(folder.glob("*.txt"))}


def read_glossary_file(path: Path) -> list[str]:
    """Glosses in file order, comments and blank lines dropped, duplicates removed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the glossary ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the glossary is not UTF-8 text (one gloss per line)") from None
    words: list[str] = []
    for line in lines:
        word = line.split("#", 1)[0].strip()
        if word and word not in words:
            words.append(word)
    if not words:
        raise ConfigError(f"{path}: the glossary has no words (one gloss per line, # for comments)")
    return words


def resolve_glossary(value: str | None) -> list[str] | None:
    """The glossary's words for a packaged name or a file path; None means no glossary (free mode)."""
    if value is None or value == "":
        return None
    packaged = packaged_glossaries()
    if value in packaged:
        return read_glossary_file(packaged[value])
    path = Path(value).expanduser()
    if path.is_file():
        return read_glossary_file(path)
    names = ", ".join(packaged) or "none packaged"
    raise ConfigError(f"glossary {value!r} is neither a packaged glossary ({names}) nor a file")
