"""The takes store: a folder of the user's own signs, in the ``signdesk data prepare`` format.

Layout of the folder (by default ``paths.my_signs_dir()``, in the user data folder)::

    takes.jsonl          the truth: one row per take (a ClipRow plus origin, time, stream range),
                         replaced atomically on every change
    clips/<id>.mp4       one file per take: the sign as the live segmenter cut it (frames 1..N)
    train.jsonl, val.jsonl, test.jsonl, dataset.json
                         the prepared-dataset view of the takes (``signdesk train --dataset FOLDER``
                         works on the folder as it is); rewritten from takes.jsonl after each change
    mixed/               training sets built from the takes (``signdesk.mysigns.training``); derived
    .lock                serialises writers (the app, ``signdesk record``, ``signdesk my-signs``)

Splits hold takes out *per word*: each word's first takes train; as it gets more, about one in five
goes to test and one in five to val (3 takes: 2 train + 1 test; 4: 2 + 1 val + 1 test; 10: 7 + 1 + 2;
11: 7 + 2 + 2), so the evaluation always scores a word on takes the adapter never saw. A take keeps its
split for life.

Crash safety: adding writes the clip file first (under a temporary name, then renamed), then the
manifest. Deleting writes the manifest first, then the views, then removes the files. A crash
between steps therefore leaves at worst a clip file no row names (an *orphan*), which the next
opening of the store removes; never a row pointing at nothing. Views that lag behind the manifest
(a crash after the manifest was written) are rewritten at the next opening too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from signdesk import __version__
from signdesk.atomicio import atomic_write_json, atomic_write_jsonl
from signdesk.data.manifest import DATASET_FILE, DATASET_FORMAT, DATASET_VERSION, SPLIT_FILES, ClipRow, read_jsonl
from signdesk.errors import SignDeskError
from signdesk.mysigns.checks import TakeRefused, check_frames

TAKES_FILE = "takes.jsonl"
CLIPS_DIR = "clips"
MIXED_DIR = "mixed"
LOCK_FILE = ".lock"
SOURCE = "recorded"  # the ClipRow source of every take; evaluation finds my signs by it
ORIGINS = ("camera", "file", "correction")
DEFAULT_TARGET = 10  # takes per word the My signs page aims for
DEFAULT_SIGNER = 0  # the signer id of takes (``--signer`` to tell several people apart)
SPLIT_METHOD = "held-out takes per word"
MAX_WORD_CHARS = 40


_CLIP_NAME = re.compile(r"^(\.tmp-)?[a-z0-9-]+-\d{8}-\d{6}-[0-9a-f]{6}\.mp4$")


def normalize_word(word: str) -> str:
    """The gloss a typed word stands for: trimmed, lower case, single spaces (WLASL's spelling)."""
    text = " ".join(str(word).split()).lower()
    if not text:
        raise SignDeskError("a take needs a word: type the word the sign means")
    if len(text) > MAX_WORD_CHARS or any(not (c.isalnum() or c in " -'") for c in text):
        raise SignDeskError(f"{word!r} is not a word SignDesk can learn: letters, digits, spaces, - and ' "
                            f"only, at most {MAX_WORD_CHARS} characters")
    return text


def _slug(word: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", word.encode("ascii", "ignore").decode()).strip("-")
    return slug or "w" + hashlib.sha1(word.encode()).hexdigest()[:8]


@dataclass
class Take:
    """One take: what ``takes.jsonl`` holds per row (a ``ClipRow``'s fields and a few of its own)."""

    video_id: str
    gloss: str
    video: str  # relative to the store: clips/<video_id>.mp4
    split: str  # train | val | test, chosen when the take was added (held out per word)
    frame_start: int = 1  # the sign's range inside the clip file (1-based inclusive)
    frame_end: int = -1
    signer: int = DEFAULT_SIGNER
    source: str = SOURCE
    fps: float = 30.0
    frames: int = 0
    sha256: str = ""
    origin: str = "camera"  # camera | file | correction
    duration_s: float = 0.0
    stream_start: int = -1  # where the sign lay in the camera stream (or the imported file): 0-based frames
    stream_end: int = -1
    created: str = ""  # ISO 8601 UTC

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "") -> Take:
        missing = [k for k in ("video_id", "gloss", "video", "split") if not isinstance(data.get(k), str)]
        if missing or data["split"] not in SPLIT_FILES:
            raise SignDeskError(f"{where}: not a take row (missing or bad {', '.join(missing) or 'split'})")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def clip_row(self, folder: Path, label: int, *, absolute: bool = False) -> ClipRow:
        video = str((folder / self.video).resolve()) if absolute else self.video
        return ClipRow(video=video, gloss=self.gloss, label=label, frame_start=self.frame_start,
                       frame_end=self.frame_end, signer=self.signer, source=self.source, video_id=self.video_id,
                       split=self.split, fps=self.fps, frames=self.frames, sha256=self.sha256)


@dataclass(frozen=True)
class WordCount:
    word: str
    takes: int
    splits: dict[str, int]
    target: int

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.takes)


def split_for_new_take(counts: Counter[str]) -> str:
    """The split of a word's next take, given the splits of its takes so far (see the module docstring)."""
    n = sum(counts.values()) + 1
    want_test = n // 5 if n >= 5 else int(n >= 3)
    want_val = n // 5 if n >= 5 else int(n >= 4)
    if counts["test"] < want_test:
        return "test"
    if counts["val"] < want_val:
        return "val"
    return "train"


_THREAD_LOCKS: dict[str, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time: a lock per folder within the process, and a file lock across processes."""
    key = str(folder.resolve())
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    with lock:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOCK_FILE, "a+b") as handle:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                try:
                    yield
                finally:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


class TakeStore:
    """The takes folder. Every method is safe to call from any thread (worker threads in the app).

    Opening a store repairs what a crash may have left: orphan clip files are removed and views that
    lag behind ``takes.jsonl`` are rewritten.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, target: int = DEFAULT_TARGET,
                 signer: int = DEFAULT_SIGNER) -> None:
        from signdesk import paths

        self.folder = Path(folder).expanduser().absolute() if folder else paths.my_signs_dir()
        self.target = max(1, int(target))
        self.signer = int(signer)
        if (self.folder / DATASET_FILE).is_file() and not (self.folder / TAKES_FILE).is_file():
            raise SignDeskError(f"{self.folder} holds a prepared dataset, not takes of my signs; choose another "
                                "folder (its files would be overwritten)")
        if (self.folder / TAKES_FILE).is_file() or self.clips_dir.is_dir():
            self.repair()

    # ------------------------------------------------------------------------------------ reading
    @property
    def takes_file(self) -> Path:
        return self.folder / TAKES_FILE

    @property
    def clips_dir(self) -> Path:
        return self.folder / CLIPS_DIR

    def takes(self, word: str | None = None) -> list[Take]:
        """Every take (oldest first), or one word's."""
        path = self.takes_file
        if not path.is_file():
            return []
        rows = [Take.from_json(r, f"{path}:{i + 1}") for i, r in enumerate(read_jsonl(path))]
        if word is not None:
            wanted = normalize_word(word)
            rows = [t for t in rows if t.gloss == wanted]
        return rows

    def words(self) -> list[str]:
        """The words with takes, in the order their first take was added (the labels' order)."""
        return list(dict.fromkeys(t.gloss for t in self.takes()))

    def counts(self, extra_words: Iterable[str] = ()) -> list[WordCount]:
        """Takes per word against the target; ``extra_words`` (e.g. a glossary being recorded) with 0 takes too."""
        per: dict[str, Counter[str]] = {}
        for take in self.takes():
            per.setdefault(take.gloss, Counter())[take.split] += 1
        for word in extra_words:
            per.setdefault(normalize_word(word), Counter())
        return [WordCount(w, sum(c.values()), {s: c[s] for s in SPLIT_FILES}, self.target) for w, c in per.items()]

    def path_of(self, take: Take) -> Path:
        return self.folder / take.video

    # ------------------------------------------------------------------------------------ adding
    def add_frames(self, word: str, frames: Sequence[np.ndarray], fps: float, *, origin: str = "camera",
                   stream_range: tuple[int, int] = (-1, -1), cut: bool = False, duration_s: float | None = None,
                   check: bool = True) -> Take:
        """Keep RGB ``frames`` (one sign) as a take of ``word``; raises ``TakeRefused`` with the reason."""
        from signdesk.video.synth import write_video

        gloss = normalize_word(word)
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}")
        if len(frames) == 0:
            raise TakeRefused("too short: the take has no frames; sign the whole word")
        fps = float(fps) if fps and fps > 0 else 30.0
        if check:
            reason = check_frames(frames, fps, cut=cut, duration_s=duration_s)
            if reason:
                raise TakeRefused(reason)
        stack = np.stack([np.ascontiguousarray(f) for f in frames])
        if stack.shape[1] % 2 or stack.shape[2] % 2:  # MPEG-4 wants even sizes
            stack = stack[:, : stack.shape[1] // 2 * 2, : stack.shape[2] // 2 * 2]
        created = datetime.now(UTC)
        video_id = f"{_slug(gloss)}-{created.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        with _locked(self.folder):
            self.clips_dir.mkdir(parents=True, exist_ok=True)
            final = self.clips_dir / f"{video_id}.mp4"
            temporary = self.clips_dir / f".tmp-{video_id}.mp4"
            try:
                write_video(temporary, stack, fps=fps)  # 1. the file (a crash here leaves a .tmp, cleaned up)
                _fsync(temporary)
                os.replace(temporary, final)
            finally:
                temporary.unlink(missing_ok=True)
            takes = self.takes()
            counts = Counter(t.split for t in takes if t.gloss == gloss)
            take = Take(
                video_id=video_id, gloss=gloss, video=f"{CLIPS_DIR}/{final.name}", split=split_for_new_take(counts),
                frame_start=1, frame_end=len(stack), signer=self.signer, fps=round(fps, 3), frames=len(stack),
                sha256=_sha256_file(final), origin=origin,
                duration_s=round(duration_s if duration_s is not None else (len(stack) - 1) / fps, 3),
                stream_start=int(stream_range[0]), stream_end=int(stream_range[1]),
                created=created.isoformat(timespec="seconds"),
            )
            self._commit([*takes, take])  # 2. the row (a crash before this leaves an orphan file, cleaned up)
        return take

    # ------------------------------------------------------------------------------------ deleting
    def delete(self, video_ids: Iterable[str]) -> list[Take]:
        """Delete these takes (rows and files); returns the takes deleted. Unknown ids are refused."""
        wanted = set(video_ids)
        with _locked(self.folder):
            takes = self.takes()
            unknown = wanted - {t.video_id for t in takes}
            if unknown:
                raise SignDeskError(f"no such take: {', '.join(sorted(unknown))} (signdesk my-signs list)")
            return self._delete_locked(takes, lambda t: t.video_id in wanted)

    def delete_word(self, word: str) -> list[Take]:
        gloss = normalize_word(word)
        with _locked(self.folder):
            return self._delete_locked(self.takes(), lambda t: t.gloss == gloss)

    def delete_all(self) -> list[Take]:
        with _locked(self.folder):
            return self._delete_locked(self.takes(), lambda t: True)

    def _delete_locked(self, takes: list[Take], doomed) -> list[Take]:
        gone = [t for t in takes if doomed(t)]
        if not gone:
            return []
        self._commit([t for t in takes if not doomed(t)])  # 1. rows and views: no row names the files any more
        shutil.rmtree(self.folder / MIXED_DIR, ignore_errors=True)  # 2. training sets built from the old takes
        for take in gone:  # 3. the files (a crash here leaves orphans, removed at the next opening)
            self._remove_file(self.path_of(take))
        return gone

    @staticmethod
    def _remove_file(path: Path) -> None:
        path.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------ the views
    def _commit(self, takes: list[Take]) -> None:
        """Write the manifest (atomically), then the prepared-dataset view of it. Call under the lock."""
        atomic_write_jsonl(self.takes_file, [t.to_json() for t in takes])
        self._write_views(takes)

    def _manifest_hash(self) -> str:
        path = self.takes_file
        return "sha256:" + (hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "")

    def _write_views(self, takes: list[Take]) -> dict[str, Any]:
        from signdesk.data.prepare import content_hash

        glosses = list(dict.fromkeys(t.gloss for t in takes))
        label = {g: i for i, g in enumerate(glosses)}
        rows: dict[str, list[ClipRow]] = {s: [] for s in SPLIT_FILES}
        for take in takes:
            rows[take.split].append(take.clip_row(self.folder, label[take.gloss]))
        per_gloss = {g: {s: 0 for s in SPLIT_FILES} for g in glosses}
        for take in takes:
            per_gloss[take.gloss][take.split] += 1
        all_rows = [r for split_rows in rows.values() for r in split_rows]
        meta: dict[str, Any] = {
            "format": DATASET_FORMAT,
            "version": DATASET_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "signdesk_version": __version__,
            "glossary": {"name": "my-signs", "source": "my-signs", "size": len(glosses)},
            "glosses": glosses,
            "split": {"method": SPLIT_METHOD},
            "counts": {"clips": len(all_rows), "glosses": len(glosses), **{s: len(rows[s]) for s in SPLIT_FILES},
                       "signers": {s: len({r.signer for r in rows[s]}) for s in SPLIT_FILES}},
            "per_gloss": per_gloss,
            "files": dict(SPLIT_FILES),
            "content_hash": content_hash(glosses, all_rows),
            "my_signs": {"takes_file": TAKES_FILE, "takes_hash": self._manifest_hash(), "private": True},
        }
        for split, name in SPLIT_FILES.items():
            atomic_write_jsonl(self.folder / name, [r.to_json() for r in rows[split]])
        atomic_write_json(self.folder / DATASET_FILE, meta)
        return meta

    def repair(self) -> dict[str, int]:
        """Remove orphan clip files and temporaries; rewrite views that lag behind the manifest."""
        removed = 0
        with _locked(self.folder):
            takes = self.takes()
            named = {Path(t.video).name for t in takes}
            if self.clips_dir.is_dir():
                for path in self.clips_dir.iterdir():  # only files this store names its clips like
                    if path.is_file() and path.name not in named and _CLIP_NAME.match(path.name):
                        path.unlink(missing_ok=True)
                        removed += 1
            rewritten = 0
            try:
                meta = json.loads((self.folder / DATASET_FILE).read_text(encoding="utf-8"))
                current = (meta.get("my_signs") or {}).get("takes_hash") == self._manifest_hash()
            except (OSError, ValueError, AttributeError):
                current = False
            if not current:
                self._write_views(takes)
                rewritten = 1
        return {"orphans_removed": removed, "views_rewritten": rewritten}

    def sync(self) -> None:
        """Make sure the views exist and match the manifest (an empty store writes empty views)."""
        self.repair()


def is_takes_folder(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / TAKES_FILE).is_file()
