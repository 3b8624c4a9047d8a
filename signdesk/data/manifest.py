"""The row formats of the data pipeline, in one place, with their readers and writers.

Two files matter to other parts of SignDesk:

1. ``<videos>/manifest.jsonl``, written by ``signdesk data download`` (and ``trim``): one
   ``DownloadRow`` per instance attempted, the newest row per ``video_id`` winning. While a download
   runs, rows are appended (so a crash loses nothing); at the end the file is rewritten atomically,
   one row per video, sorted. Statuses:

   - ``ok``: ``path`` is a validated clip (decodes, enough frames);
   - ``dead``: the link is gone (HTTP 404/410 or another 4xx, a broken redirect, a removed or private
     YouTube video); a plain re-run does not try it again (``--retry-failed`` does);
   - ``invalid``: something came back but it is not a usable video (the 114-byte junk, an HTML page,
     too few frames, a truncated file, a frame range past the end);
   - ``unsupported``: a format or URL SignDesk does not fetch (Flash ``.swf``, non-http(s) URLs);
   - ``error``: a failure that may pass (timeouts, 5xx, resets, an unknown host, a YouTube bot
     check, a host given up on after repeated failures); the next run tries again.

2. A prepared dataset folder, written by ``signdesk data prepare``: ``train.jsonl``, ``val.jsonl``,
   ``test.jsonl`` (one ``ClipRow`` per clip) and ``dataset.json`` (see ``DATASET_FORMAT``). A row's
   ``label`` indexes ``dataset.json["glosses"]``; ``frame_start``/``frame_end`` are the sign's range
   *inside the file* ``video`` (1-based inclusive, -1 = to the end; trimmed YouTube clips are 1/-1).
   Read a dataset with ``read_dataset``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from signdesk.atomicio import atomic_write_jsonl
from signdesk.errors import SignDeskError

STATUSES = ("ok", "dead", "invalid", "unsupported", "error")
DOWNLOAD_MANIFEST = "manifest.jsonl"
DOWNLOAD_SUMMARY = "summary.json"
DATASET_FILE = "dataset.json"
DATASET_FORMAT = "signdesk.wlasl-dataset"
DATASET_VERSION = 1
SPLIT_FILES = {"train": "train.jsonl", "val": "val.jsonl", "test": "test.jsonl"}


def _flat(row: Any) -> dict[str, Any]:
    """A row's fields as a dict (rows hold only scalars; 10x faster than dataclasses.asdict)."""
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


@dataclass
class DownloadRow:
    """What happened to one instance in ``signdesk data download``."""

    video_id: str
    gloss: str
    url: str
    host: str
    source: str
    split: str
    status: str  # one of STATUSES
    reason: str = ""  # one line for people; empty when ok
    path: str | None = None  # clip file, relative to the download folder (ok rows only)
    bytes: int = 0
    sha256: str = ""
    frames: int = 0  # frames in the clip file
    fps: float = 0.0
    width: int = 0
    height: int = 0
    frame_start: int = 1  # the sign's range inside the clip file (1-based inclusive, -1 = end)
    frame_end: int = -1
    kind: str = "http"  # http | youtube
    attempts: int = 0
    updated: str = ""  # ISO 8601 UTC time of this row

    def to_json(self) -> dict[str, Any]:
        return _flat(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadRow:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ClipRow:
    """One clip of a prepared dataset, as the trainer and evaluator read it."""

    video: str  # absolute path of the clip file
    gloss: str  # WLASL spelling
    label: int  # index into dataset.json["glosses"]
    frame_start: int  # range inside ``video``: 1-based inclusive, -1 = to the end
    frame_end: int
    signer: int
    source: str  # WLASL "source" (signingsavvy, aslu, ...)
    video_id: str
    split: str  # train | val | test
    url: str = ""
    variation_id: int = 0
    fps: float = 25.0
    frames: int = 0  # frames in ``video`` (0 = unknown)
    sha256: str = ""  # of the clip file's bytes
    bbox: list[int] | None = None  # WLASL person box in the original video's pixels

    def to_json(self) -> dict[str, Any]:
        row = _flat(self)
        row["bbox"] = list(self.bbox) if self.bbox is not None else None
        return row

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "") -> ClipRow:
        required = ("video", "gloss", "label", "frame_start", "frame_end", "signer", "source", "video_id",
                    "split")
        missing = [k for k in required if k not in data]
        if missing:
            raise SignDeskError(f"{where}: manifest row lacks {', '.join(missing)}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def read_jsonl(path: str | os.PathLike[str], *, tolerate_torn_tail: bool = True) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file. A torn last line (a crash mid-append) is skipped, not fatal."""
    path = Path(path)
    rows: list[dict[str, Any]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if tolerate_torn_tail and number == len(lines):
                break
            raise SignDeskError(f"{path}: line {number} is not valid JSON") from None
        if not isinstance(row, dict):
            raise SignDeskError(f"{path}: line {number} is not a JSON object")
        rows.append(row)
    return rows


def read_download_manifest(folder: str | os.PathLike[str]) -> dict[str, DownloadRow]:
    """The newest row per video id of a download folder's manifest ({} when there is none)."""
    path = Path(folder) / DOWNLOAD_MANIFEST
    if not path.is_file():
        return {}
    latest: dict[str, DownloadRow] = {}
    for data in read_jsonl(path):
        if isinstance(data.get("video_id"), str) and data.get("status") in STATUSES:
            latest[data["video_id"]] = DownloadRow.from_json(data)
    return latest


class ManifestJournal:
    """The download manifest while a download runs: rows appended and flushed as they finish.

    Appending keeps every finished row even if the process is killed; ``compact`` rewrites the file
    atomically with one row per video id, which is what the file looks like between runs.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / DOWNLOAD_MANIFEST
        self.rows: dict[str, DownloadRow] = read_download_manifest(folder)
        self._lock = threading.Lock()
        self._handle = None

    def record(self, row: DownloadRow) -> None:
        line = json.dumps(row.to_json(), ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            self._handle.write(line)
            self._handle.flush()
            self.rows[row.video_id] = row

    def compact(self) -> Path:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            ordered = [self.rows[k].to_json() for k in sorted(self.rows)]
            return atomic_write_jsonl(self.path, ordered)


@dataclass
class Dataset:
    """A prepared dataset as read back: its metadata and its rows per split."""

    folder: Path
    meta: dict[str, Any]
    splits: dict[str, list[ClipRow]] = field(default_factory=dict)

    @property
    def glosses(self) -> list[str]:
        return list(self.meta["glosses"])


def read_dataset(folder: str | os.PathLike[str]) -> Dataset:
    """Read ``dataset.json`` and the three split manifests of a prepared dataset folder."""
    folder = Path(folder)
    meta_path = folder / DATASET_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SignDeskError(f"{folder}: not a prepared dataset (no {DATASET_FILE}); "
                            "run `signdesk data prepare` first") from None
    except json.JSONDecodeError:
        raise SignDeskError(f"{meta_path}: not valid JSON") from None
    if meta.get("format") != DATASET_FORMAT:
        raise SignDeskError(f"{meta_path}: not a SignDesk WLASL dataset (format {meta.get('format')!r})")
    if meta.get("version", 0) > DATASET_VERSION:
        raise SignDeskError(f"{meta_path}: written by a newer SignDesk (version {meta['version']}); update")
    dataset = Dataset(folder, meta)
    for split, name in SPLIT_FILES.items():
        path = folder / name
        rows = read_jsonl(path, tolerate_torn_tail=False) if path.is_file() else []
        dataset.splits[split] = [ClipRow.from_json(r, f"{path}:{i + 1}") for i, r in enumerate(rows)]
    return dataset
