"""Glossaries: which WLASL glosses a dataset (and the live interpreter) uses.

Three kinds, resolved by ``resolve_glossary``:
- packaged files in ``resources/glossaries/<name>.txt`` (``core-320``), usable without the index;
- presets ``WLASL100/300/1000/2000``: the first K glosses of the index in file order, as the
  literature defines them (so they need the index and are never copied out of it);
- a user file: one gloss per line, ``#`` starts a comment.
Matching ignores case, repeated spaces, and ``-``/``_`` used for spaces ("THANK-YOU" = "thank you");
a glossary always ends up in the index's own spelling. A word that repeats an earlier one (in that
matching) is kept once and reported, beside the unknown words, so one slip does not hide the others.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from signdesk import paths
from signdesk.errors import SignDeskError

PRESETS = {"wlasl100": 100, "wlasl300": 300, "wlasl1000": 1000, "wlasl2000": 2000}
_SEPARATORS = re.compile(r"[-_\s]+")


class GlossaryError(SignDeskError):
    """A glossary cannot be found, read, or matched against the index."""


def gloss_key(word: str) -> str:
    return _SEPARATORS.sub(" ", word.strip().lower()).strip()


@dataclass(frozen=True)
class Glossary:
    """An ordered list of glosses; the order is the label order of a prepared dataset."""

    name: str
    glosses: tuple[str, ...]
    source: str  # a file path, or "preset"
    lines: tuple[int, ...] = ()  # line number of each gloss in its file (for messages)
    duplicates: tuple[tuple[int, str, int], ...] = ()  # (line, word, line it repeats); left out of glosses

    def __len__(self) -> int:
        return len(self.glosses)

    def __iter__(self):
        return iter(self.glosses)


def glossaries_dir() -> Path:
    return paths.resources_dir() / "glossaries"


def packaged_names() -> list[str]:
    folder = glossaries_dir()
    return sorted(p.stem for p in folder.glob("*.txt")) if folder.is_dir() else []


def parse_glossary(text: str, name: str, source: str) -> Glossary:
    """One gloss per line; ``#`` starts a comment; blank lines are skipped.

    A repeated word is not an error here: it is recorded in ``duplicates`` (and kept once), so that a
    check reports it together with every other problem; ``GlossaryCheck.matched_glossary`` refuses it.
    """
    words: list[str] = []
    lines: list[int] = []
    duplicates: list[tuple[int, str, int]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        word = " ".join(line.split("#", 1)[0].split())
        if not word:
            continue
        key = gloss_key(word)
        if key in seen:
            duplicates.append((number, word, seen[key]))
            continue
        seen[key] = number
        words.append(word)
        lines.append(number)
    if not words:
        raise GlossaryError(f"{source}: the glossary is empty (one gloss per line, '#' for comments)")
    return Glossary(name, tuple(words), source, tuple(lines), tuple(duplicates))


def read_glossary_file(path: str | os.PathLike[str]) -> Glossary:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GlossaryError(f"{path}: no such glossary file") from None
    except UnicodeDecodeError:
        raise GlossaryError(f"{path}: not a UTF-8 text file (one gloss per line)") from None
    except OSError as exc:
        raise GlossaryError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_glossary(text, path.stem, str(path))


def preset_glossary(name: str, index) -> Glossary:
    count = PRESETS[name.lower()]
    if index is None:
        raise GlossaryError(f"{name.upper()} is the first {count} glosses of the WLASL index; "
                            "give the index with --wlasl FILE")
    glosses = index.first_glosses(count)
    if len(glosses) < count:
        raise GlossaryError(f"{name.upper()} needs {count} glosses; {index.path} has {len(glosses)}")
    return Glossary(name.upper(), tuple(glosses), "preset")


def resolve_glossary(spec: str, index=None) -> Glossary:
    """A preset name, a packaged glossary name, or a file path, in that order."""
    spec = spec.strip()
    if spec.lower() in PRESETS:
        return preset_glossary(spec, index)
    packaged = glossaries_dir() / f"{spec}.txt"
    if spec and os.sep not in spec and "/" not in spec and packaged.is_file():
        return read_glossary_file(packaged)
    if Path(spec).is_file():
        return read_glossary_file(spec)
    known = ", ".join([*packaged_names(), *(p.upper() for p in PRESETS)])
    raise GlossaryError(f"unknown glossary {spec!r}: not a file, nor one of {known}")


@dataclass
class GlossaryCheck:
    """How a glossary's words match the index: canonical spellings and the words not found."""

    glossary: Glossary
    matched: list[str] = field(default_factory=list)  # index spelling, glossary order
    respelled: list[tuple[str, str]] = field(default_factory=list)  # (as written, index spelling)
    unknown: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (line, word, suggestions)

    @property
    def duplicates(self) -> tuple[tuple[int, str, int], ...]:
        """(line, word, line it repeats) of every repeated word."""
        return self.glossary.duplicates

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.duplicates

    def describe_unknown(self, limit: int = 12) -> str:
        parts = []
        for line, word, hints in self.unknown[:limit]:
            where = f"line {line}: " if line else ""
            hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
            parts.append(f"{where}{word!r}{hint}")
        more = f"; and {len(self.unknown) - limit} more" if len(self.unknown) > limit else ""
        return "; ".join(parts) + more

    def describe_duplicates(self, limit: int = 12) -> str:
        parts = [f"line {line}: {word!r} repeats line {first}" for line, word, first in self.duplicates[:limit]]
        more = f"; and {len(self.duplicates) - limit} more" if len(self.duplicates) > limit else ""
        return "; ".join(parts) + more

    def matched_glossary(self) -> Glossary:
        """The glossary in index spelling; refuses when a word is not an index gloss or repeats one."""
        problems = []
        if self.duplicates:
            problems.append(f"{len(self.duplicates)} repeated: {self.describe_duplicates()}")
        if self.unknown:
            problems.append(f"{len(self.unknown)} of {len(self.glossary)} words are not WLASL glosses: "
                            f"{self.describe_unknown()}")
        if problems:
            raise GlossaryError(f"glossary {self.glossary.name} ({self.glossary.source}): " + "; ".join(problems))
        return Glossary(self.glossary.name, tuple(self.matched), self.glossary.source, self.glossary.lines)


def check_glossary(glossary: Glossary, index) -> GlossaryCheck:
    """Match every word against the index's glosses; suggest close spellings for the unknown ones."""
    by_key = {gloss_key(g): g for g in index.glosses}
    check = GlossaryCheck(glossary)
    keys = list(by_key)
    for pos, word in enumerate(glossary.glosses):
        canonical = by_key.get(gloss_key(word))
        line = glossary.lines[pos] if pos < len(glossary.lines) else 0
        if canonical is None:
            hints = [by_key[k] for k in difflib.get_close_matches(gloss_key(word), keys, n=3, cutoff=0.75)]
            check.unknown.append((line, word, hints))
            continue
        if canonical != word:
            check.respelled.append((word, canonical))
        check.matched.append(canonical)
    return check
