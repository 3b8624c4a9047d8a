"""The sentence line (Qt-free): a transcript's glosses grouped into sentences at the signer's pauses.

Rules shared by the Live tab, the File tab, ``transcribe --sentences`` and ``live --sentences``:

- A sentence is a run of consecutive transcript entries. A new entry starts a new sentence when it
  begins ``pause_s`` or more after the end of the entry before it (stream times, so a slow model
  never splits a sentence), or when the sentence before it was finished on request.
- A sentence is written (``due``) when the next sentence has begun, when the signer has rested for
  ``pause_s`` (the caller's clock: ``rest``), or on request / at the end of a file (``finish``).
- The glosses are the source of truth: a sentence remembers the glosses it was written from, so
  correcting, removing or adding a gloss makes it ``stale`` and it is written again.

The writing itself (``signdesk.engine.sentences``) happens elsewhere; this module only says which
sentences need it (``pending``), remembers what was asked (``requested``) and takes the answers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Seconds of rest between two signs that end a sentence (setting ``sentences.pause_seconds``).
DEFAULT_PAUSE_S = 1.5


@dataclass(eq=False)
class Sentence:
    """Consecutive transcript entries and the English sentence written from their glosses."""

    id: int
    entries: list[Any] = field(default_factory=list)  # transcript Entry objects, in order
    closed: bool = False  # no later entry joins (the next sentence has begun, or finished on request)
    due: bool = False  # writing was asked for (a rest, a request): it is written, and again when stale
    text: str = ""
    made_from: tuple[str, ...] | None = None  # the glosses ``text`` was written from
    requested: tuple[str, ...] | None = None  # the glosses of a request in flight
    error: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def glosses(self) -> tuple[str, ...]:
        return tuple(e.text for e in self.entries)

    @property
    def start_s(self) -> float:
        return min((e.start_s for e in self.entries), default=0.0)

    @property
    def end_s(self) -> float:
        return max((e.end_s for e in self.entries), default=0.0)

    @property
    def ready(self) -> bool:
        """Its text was written from the glosses it holds now."""
        return bool(self.text) and self.made_from == self.glosses

    @property
    def stale(self) -> bool:
        """Written (or failed) from other glosses than it holds now."""
        return self.made_from is not None and self.made_from != self.glosses

    @property
    def wanted(self) -> bool:
        """It should be written now: due, holding glosses, not written from these, not asked for already."""
        glosses = self.glosses
        return (self.closed or self.due) and bool(glosses) and self.made_from != glosses \
            and self.requested != glosses


class SentenceLine:
    """The sentences of one transcript; ``Transcript`` feeds it every entry it adds or removes."""

    def __init__(self, pause_s: float = DEFAULT_PAUSE_S) -> None:
        self.pause_s = float(pause_s)
        self.sentences: list[Sentence] = []
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def open(self) -> Sentence | None:
        """The sentence new entries join, if any."""
        last = self.sentences[-1] if self.sentences else None
        return last if last is not None and not last.closed else None

    # ---------------------------------------------------------------- entries
    def add(self, entry: Any) -> Sentence | None:
        """A new (not merged) entry at the end; returns the sentence it closed, if its pause closed one."""
        current = self.open
        closed = None
        if current is not None and current.entries and entry.start_s - current.end_s >= self.pause_s:
            current.closed = current.due = True
            closed, current = current, None
        if current is None:
            current = Sentence(next(self._ids))
            self.sentences.append(current)
        current.entries.append(entry)
        return closed

    def discard(self, entries: Iterable[Any]) -> None:
        """Entries removed from the transcript (a user's Remove, the oldest beyond its bound)."""
        gone = {id(e) for e in entries}
        for sentence in self.sentences:
            sentence.entries = [e for e in sentence.entries if id(e) not in gone]
        self.sentences = [s for s in self.sentences if s.entries]

    def clear(self) -> None:
        self.sentences.clear()

    def sentence_of(self, entry: Any) -> Sentence | None:
        for sentence in reversed(self.sentences):
            if any(e is entry for e in sentence.entries):
                return sentence
        return None

    def by_id(self, sentence_id: int) -> Sentence | None:
        return next((s for s in self.sentences if s.id == sentence_id), None)

    # ---------------------------------------------------------------- when to write
    def rest(self, resting_s: float) -> Sentence | None:
        """The signer has rested ``resting_s`` seconds (no sign being made or waiting for the model):
        the open sentence is due once that reaches ``pause_s``. Returns it when it became due now."""
        current = self.open
        if current is None or not current.entries or current.due or resting_s < self.pause_s:
            return None
        current.due = True
        return current

    def finish(self) -> Sentence | None:
        """End the open sentence now (a request, the end of a file or stream); returns it."""
        current = self.open
        if current is None or not current.entries:
            return None
        current.closed = current.due = True
        return current

    def pending(self) -> list[Sentence]:
        """Sentences to write now, oldest first."""
        return [s for s in self.sentences if s.wanted]

    def request(self, sentence: Sentence) -> tuple[int, tuple[str, ...]]:
        """Note that ``sentence`` is being written from its glosses now; returns (id, glosses)."""
        sentence.requested = sentence.glosses
        return sentence.id, sentence.requested

    def fulfil(self, sentence_id: int, glosses: Iterable[str], text: str,
               timings_ms: dict[str, float] | None = None) -> Sentence | None:
        """The sentence written from ``glosses``; None when that sentence is gone. It stays ``stale``
        (and is ``pending`` again) if its glosses changed meanwhile; a late answer for old glosses never
        replaces a sentence written from the current ones."""
        sentence = self.by_id(sentence_id)
        if sentence is None:
            return None
        if tuple(glosses) != sentence.glosses and sentence.ready:  # a late answer for glosses since corrected
            return sentence
        sentence.text, sentence.made_from, sentence.error = text, tuple(glosses), None
        sentence.timings_ms = dict(timings_ms or {})
        if sentence.requested == sentence.made_from:
            sentence.requested = None
        return sentence

    def fail(self, sentence_id: int, glosses: Iterable[str], message: str) -> Sentence | None:
        """Writing failed: the glosses stand alone (no retry until they change)."""
        sentence = self.by_id(sentence_id)
        if sentence is None:
            return None
        sentence.text, sentence.made_from, sentence.error = "", tuple(glosses), message
        sentence.requested = None
        return sentence

    def withdraw(self, sentence_id: int) -> None:
        """A request that will not be answered (cancelled, the model went away): ask again later."""
        sentence = self.by_id(sentence_id)
        if sentence is not None:
            sentence.requested = None

    # ---------------------------------------------------------------- output
    def to_json(self, row_of: Callable[[Any], int]) -> list[dict[str, Any]]:
        rows = []
        for sentence in self.sentences:
            if not sentence.entries:
                continue
            row: dict[str, Any] = {
                "start_s": round(sentence.start_s, 3), "end_s": round(sentence.end_s, 3),
                "signs": [row_of(e) for e in sentence.entries], "glosses": list(sentence.glosses),
                "text": sentence.text if sentence.ready else "",
            }
            if sentence.error and not sentence.stale:
                row["error"] = sentence.error
            rows.append(row)
        return rows



class RestClock:
    """How long the live signer has rested: since the end of the last sign, while no sign is being made
    and none waits for the model (thread-safe: clips are handed over on the segmenter thread).

    ``sent`` when a clip goes to the model, ``answered`` when its word (or failure) comes back,
    ``signing`` with the segmenter's state; ``resting_s`` is None while a sign is made or pending.
    Latest wins in the engine: an older clip dropped for a newer one never comes back, so only the
    newest clip sent counts as pending.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest_sent = 0.0  # hand-over time of the newest clip sent
        self._answered = 0.0  # hand-over time of the newest clip answered
        self._last_end = 0.0  # time.monotonic() when the last answered sign ended
        self._signing = False

    def sent(self, handed_t: float) -> None:
        with self._lock:
            self._newest_sent = max(self._newest_sent, handed_t)

    def answered(self, handed_t: float, sign_end_t: float) -> None:
        with self._lock:
            self._answered = max(self._answered, handed_t)
            self._last_end = max(self._last_end, sign_end_t)

    def signing(self, signing: bool) -> None:
        with self._lock:
            self._signing = signing

    def resting_s(self, now: float) -> float | None:
        with self._lock:
            if self._signing or self._newest_sent > self._answered or not self._last_end:
                return None
            return max(0.0, now - self._last_end)

    def reset(self) -> None:
        with self._lock:
            self._newest_sent = self._answered = self._last_end = 0.0
            self._signing = False

def add_sentence_options(parser: Any) -> None:
    """``--sentences/--no-sentences`` and ``--pause`` (settings ``sentences.enabled``, ``sentences.pause_seconds``)."""
    import argparse

    parser.add_argument("--sentences", action=argparse.BooleanOptionalAction, default=None,
                        help="also write the signs between pauses as English sentences, with the model's own "
                             "language model (setting sentences.enabled; default off)")
    parser.add_argument("--pause", type=float, metavar="SECONDS",
                        help=f"rest between signs that ends a sentence (setting sentences.pause_seconds; "
                             f"default {DEFAULT_PAUSE_S})")


def pause_setting(settings: Any) -> float | None:
    """The pause that ends a sentence, from settings; None while sentences are off (``sentences.enabled``)."""
    return float(settings["sentences.pause_seconds"]) if settings["sentences.enabled"] else None
