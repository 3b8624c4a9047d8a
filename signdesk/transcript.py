"""The transcript: interpreted signs in order, with confidence, alternatives and times (Qt-free).

Rules the live view and file mode share:

- a word whose confidence is below the threshold is kept but marked *not sure* (it is shown with a
  question mark, not spoken, and written in parentheses to .txt);
- the same word from the same continuous motion (a held sign cut at ``max_sign_s``, or overlapping
  windows in continuous mode) is merged into the entry before it instead of being repeated; the same
  word signed twice, with a rest between, stays twice;
- the user may correct a word by picking one of its alternatives (or typing one).

Exports: plain text (.txt), SubRip subtitles with timestamps (.srt) and JSON.

With the sentence line on (``use_sentences``), the entries are also grouped into sentences at the
signer's pauses (``signdesk.sentence_line``): .srt then has one cue per sentence, .json a
``{"signs": [...], "sentences": [...]}`` object, and .txt offers glosses, sentences or both. Off
(the default), every export is exactly what it was without sentences.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from signdesk.atomicio import atomic_write_text
from signdesk.errors import SignDeskError
from signdesk.sentence_line import SentenceLine

#: Entries kept at most; the oldest go first (a long live session must not grow without bound).
MAX_ENTRIES = 5000
#: Two windows of one motion that come this close (seconds) count as overlapping.
MERGE_GAP_S = 0.3
NOT_SURE = "not sure"
#: What a .txt export holds: the glosses (one line), the sentences (one per line), or each sentence over its glosses.
TEXT_CONTENTS = ("glosses", "sentences", "both")


@dataclass
class Entry:
    text: str
    score: float | None  # confidence of ``text`` (probability in vocab mode), None when unknown
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best first, the answer included
    start_s: float = 0.0
    end_s: float = 0.0
    motion_id: int | None = None
    corrected_from: str | None = None  # the model's word, when the user picked another
    repeats: int = 1  # clips merged into this entry
    meta: dict[str, Any] = field(default_factory=dict)  # latency, model time, frame range...

    @property
    def corrected(self) -> bool:
        return self.corrected_from is not None


def candidates_of(result: Any) -> list[tuple[str, float]]:
    """(text, score) pairs from an engine Result's ``candidates`` (objects or pairs)."""
    pairs = []
    for cand in getattr(result, "candidates", None) or []:
        if isinstance(cand, tuple | list):
            text, score = cand[0], cand[1]
        else:
            text, score = cand.text, cand.score
        pairs.append((str(text), float(score)))
    return pairs


class Transcript:
    """An ordered, bounded list of entries and the rules above."""

    def __init__(self, threshold: float = 0.35, *, max_entries: int = MAX_ENTRIES) -> None:
        self.threshold = threshold
        self.max_entries = max_entries
        self.entries: list[Entry] = []
        self.dropped = 0  # entries removed from the front because of ``max_entries``
        self.sentences: SentenceLine | None = None  # the sentence line, when on

    def use_sentences(self, pause_s: float | None) -> SentenceLine | None:
        """Turn the sentence line on (the pause in seconds that ends a sentence) or off (None).

        Turned on, the entries already there are grouped by the same rule; turned off, sentences are forgotten.
        """
        if pause_s is None:
            self.sentences = None
        elif self.sentences is not None:
            self.sentences.pause_s = float(pause_s)
        else:
            self.sentences = SentenceLine(pause_s)
            for entry in self.entries:
                self.sentences.add(entry)
        return self.sentences

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Entry:
        return self.entries[index]

    def is_sure(self, entry: Entry) -> bool:
        if entry.corrected:
            return True  # the user said so
        return entry.score is None or entry.score >= self.threshold

    def add(self, text: str, score: float | None, candidates: Sequence[tuple[str, float]] = (),
            start_s: float = 0.0, end_s: float = 0.0, motion_id: int | None = None,
            **meta: Any) -> tuple[int, bool]:
        """Add one interpreted sign; returns (row, merged). ``merged`` means row already existed and grew."""
        text = text.strip()
        last = self.entries[-1] if self.entries else None
        if last is not None and self._same_motion(last, text, start_s, motion_id):
            last.end_s = max(last.end_s, end_s)
            last.repeats += 1
            if score is not None and (last.score is None or score > last.score) and not last.corrected:
                last.score = score
                last.candidates = list(candidates) or last.candidates
            last.meta.update(meta)
            return len(self.entries) - 1, True
        self.entries.append(Entry(text, score, list(candidates), start_s, end_s, motion_id, meta=dict(meta)))
        if self.sentences is not None:
            self.sentences.add(self.entries[-1])
        if len(self.entries) > self.max_entries:
            overflow = len(self.entries) - self.max_entries
            if self.sentences is not None:
                self.sentences.discard(self.entries[:overflow])
            del self.entries[:overflow]
            self.dropped += overflow
        return len(self.entries) - 1, False

    def would_merge(self, text: str, start_s: float, motion_id: int | None) -> bool:
        """Whether ``add`` with these values would merge into the last entry instead of appending."""
        return bool(self.entries) and self._same_motion(self.entries[-1], text.strip(), start_s, motion_id)

    @staticmethod
    def _same_motion(last: Entry, text: str, start_s: float, motion_id: int | None) -> bool:
        shown = last.corrected_from if last.corrected else last.text
        if text.casefold() not in {shown.casefold(), last.text.casefold()}:
            return False
        if motion_id is not None and last.motion_id is not None:
            return motion_id == last.motion_id
        return start_s <= last.end_s + MERGE_GAP_S

    def correct(self, row: int, text: str) -> Entry:
        """Replace the word at ``row`` (an alternative the user picked, or typed)."""
        entry = self.entries[row]
        text = text.strip()
        if not text or text == entry.text:
            return entry
        if entry.corrected_from is None:
            entry.corrected_from = entry.text
        elif text == entry.corrected_from:  # back to the model's word
            entry.corrected_from = None
        entry.text = text
        return entry

    def remove(self, row: int) -> None:
        if self.sentences is not None:
            self.sentences.discard([self.entries[row]])
        del self.entries[row]

    def clear(self) -> None:
        self.entries.clear()
        self.dropped = 0
        if self.sentences is not None:
            self.sentences.clear()

    # -- display helpers
    def label(self, entry: Entry) -> str:
        """The word as shown: a question mark after a word we are not sure of."""
        return entry.text if self.is_sure(entry) else f"{entry.text}?"

    # -- exports
    def to_text(self, contents: str = "glosses") -> str:
        """The words on one line; words we are not sure of in parentheses with a question mark.

        ``contents`` (with the sentence line on): "sentences", one sentence per line (glosses not yet
        written as a sentence stand in brackets), or "both", each sentence over its glosses.
        """
        if contents not in TEXT_CONTENTS:
            raise ValueError(f"contents must be one of {', '.join(TEXT_CONTENTS)} (got {contents!r})")
        if contents == "glosses" or self.sentences is None:
            return self.words_line(self.entries)
        lines = []
        for sentence in self.sentences.sentences:
            if not sentence.entries:
                continue
            glosses = self.words_line(sentence.entries).strip()
            if not sentence.ready:
                lines.append(f"[{glosses}]")
            elif contents == "sentences":
                lines.append(sentence.text)
            else:
                lines += [sentence.text, f"  [{glosses}]"]
        return "".join(line + "\n" for line in lines)

    def words_line(self, entries: list[Entry]) -> str:
        """These entries' words on one line, as ``to_text`` writes them."""
        words = [e.text if self.is_sure(e) else f"({e.text}?)" for e in entries]
        return " ".join(words) + ("\n" if words else "")

    def to_srt(self, *, min_duration_s: float = 0.5) -> str:
        """SubRip subtitles: one cue per entry, at least ``min_duration_s`` long, never overlapping the next.

        With the sentence line on: one cue per sentence, over its signs' time (its glosses in brackets
        until it is written)."""
        cues = []
        if self.sentences is None:
            for entry in self.entries:
                text = entry.text if self.is_sure(entry) else f"{entry.text}? ({NOT_SURE})"
                cues.append((entry.start_s, entry.end_s, text))
        else:
            for sentence in self.sentences.sentences:
                if sentence.entries:
                    text = sentence.text if sentence.ready else f"[{self.words_line(sentence.entries).strip()}]"
                    cues.append((sentence.start_s, sentence.end_s, text))
        blocks = []
        for i, (start_s, end_s, text) in enumerate(cues, 1):
            start = max(0.0, start_s)
            end = max(end_s, start + min_duration_s)
            if i < len(cues):
                end = min(end, max(cues[i][0], start + 0.001))
            blocks.append(f"{i}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n")
        return "\n".join(blocks)

    def to_json(self) -> list[dict[str, Any]]:
        rows = []
        for entry in self.entries:
            row = asdict(entry)
            row["candidates"] = [{"text": t, "score": s} for t, s in entry.candidates]
            row["not_sure"] = not self.is_sure(entry)
            rows.append(row)
        return rows

    def sentences_json(self) -> list[dict[str, Any]]:
        """The sentences (start_s, end_s, signs: entry rows, glosses, text, error), [] with the line off."""
        if self.sentences is None:
            return []
        rows = {id(e): i for i, e in enumerate(self.entries)}
        return self.sentences.to_json(lambda entry: rows[id(entry)])

    def to_report(self) -> list[dict[str, Any]] | dict[str, Any]:
        """What a .json export holds: the entries (``to_json``), or with the sentence line on
        ``{"signs": entries, "sentences": sentences_json()}``."""
        if self.sentences is None:
            return self.to_json()
        return {"signs": self.to_json(), "sentences": self.sentences_json()}

    def save(self, path: str | os.PathLike[str], *, contents: str = "glosses") -> Path:
        """Write .srt, .json or (anything else) plain text, atomically; ``SaveError`` says why it cannot.

        ``contents``: what plain text holds (see ``to_text``)."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise SaveError(_folder_message(path))
        suffix = path.suffix.lower()
        if suffix == ".srt":
            text = self.to_srt()
        elif suffix == ".json":
            text = json.dumps(self.to_report(), indent=2, ensure_ascii=False) + "\n"
        else:
            text = self.to_text(contents)
        try:
            return atomic_write_text(path, text)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SaveError(f"{path}: cannot save the transcript ({reason}); choose another folder or file name",
                            exc.errno, reason) from None

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row["text"], row.get("score"), row.get("candidates", ()), row.get("start_s", 0.0),
                     row.get("end_s", 0.0), row.get("motion_id"))


class SaveError(SignDeskError, OSError):
    """A transcript that cannot be written: one line for the CLI, and still an OSError (errno, strerror)
    for callers that catch those."""

    def __init__(self, message: str, code: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.errno, self.strerror = code, reason

    def __str__(self) -> str:  # the whole message, not OSError's "[Errno n] strerror"
        return str(self.args[0])


def _folder_message(path: Path) -> str:
    return f"{path}: is a folder; give a file name, e.g. {path / ('transcript' + (path.suffix or '.srt'))}"


def check_save_path(path: str | os.PathLike[str]) -> Path:
    """Refuse, before any work is done, a place a transcript cannot be written to (a folder, a missing or
    read-only folder); returns the path. ``save`` itself also creates missing folders; this does not, so a
    mistyped folder is caught."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise SaveError(_folder_message(path))
    folder = path.parent
    if not folder.exists():
        raise SaveError(f"{path}: the folder {folder} does not exist; create it or choose another place")
    if not folder.is_dir():
        raise SaveError(f"{path}: {folder} is a file, not a folder; choose another place")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SaveError(f"{path}: the folder {folder} is not writable (permission denied); choose another place",
                        errno.EACCES, os.strerror(errno.EACCES))
    return path


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` as SubRip wants it."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def short_time(seconds: float) -> str:
    """``M:SS.s`` for labels (``H:MM:SS`` past an hour)."""
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"
