"""Load and check a WLASL index (``WLASL_v0.3.json``) without trusting it.

A malformed entry or instance is reported with its position and field and left out, so one bad line
in a hand-edited index does not stop a download of twenty thousand clips; ``strict=True`` refuses
the file instead. Gloss positions in the file are kept as class indices: WLASL100/300 and the I3D
split files (``nslt_*.json``) are defined by them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signdesk.data import urls
from signdesk.errors import SignDeskError

SPLITS = ("train", "val", "test")
WLASL_HOME = "https://github.com/dxli94/WLASL"


class IndexFormatError(SignDeskError):
    """The index file is missing, not JSON, or (in strict mode) holds a malformed entry."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One clip of the index. ``frame_start``/``frame_end`` are 1-based inclusive, -1 = to the end."""

    video_id: str
    gloss: str
    class_index: int  # position of the gloss in the index file
    url: str
    split: str
    signer_id: int
    source: str
    frame_start: int = 1
    frame_end: int = -1
    fps: float = 25.0
    instance_id: int = 0
    variation_id: int = 0
    bbox: tuple[int, ...] | None = None

    @property
    def host(self) -> str:
        return urls.host_of(self.url)

    @property
    def youtube_id(self) -> str | None:
        return urls.youtube_id(self.url)

    @property
    def whole_video(self) -> bool:
        return self.frame_start <= 1 and self.frame_end == -1


@dataclass(frozen=True, slots=True)
class IndexProblem:
    """Where a malformed part of the index is: entry position, instance position, field."""

    entry: int  # 0-based position in the file's list
    field: str
    message: str
    instance: int | None = None
    gloss: str | None = None

    def __str__(self) -> str:
        where = f"entry {self.entry}"
        if self.gloss:
            where += f" ({self.gloss!r})"
        if self.instance is not None:
            where += f", instance {self.instance}"
        return f"{where}, field '{self.field}': {self.message}"


@dataclass
class WlaslIndex:
    path: Path
    sha256: str
    glosses: list[str]  # valid glosses in file order
    class_index: dict[str, int]  # gloss -> position in the file
    instances: list[Instance]
    problems: list[IndexProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_gloss: dict[str, list[Instance]] = {g: [] for g in self.glosses}
        self.by_video_id: dict[str, Instance] = {}
        for inst in self.instances:
            self.by_gloss[inst.gloss].append(inst)
            self.by_video_id[inst.video_id] = inst

    def instances_of(self, glosses: list[str] | tuple[str, ...]) -> list[Instance]:
        return [inst for gloss in glosses for inst in self.by_gloss.get(gloss, [])]

    def first_glosses(self, count: int) -> list[str]:
        """The first ``count`` glosses in file order: how the literature defines WLASL100/300/1000."""
        ordered = sorted(self.class_index.items(), key=lambda item: item[1])
        return [gloss for gloss, position in ordered if position < count]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_instance(raw: Any, gloss: str, entry: int, pos: int, problems: list[IndexProblem],
                    class_index: int) -> Instance | None:
    def bad(name: str, message: str) -> None:
        problems.append(IndexProblem(entry, name, message, pos, gloss))

    if not isinstance(raw, dict):
        bad("instances", f"must be an object, got {type(raw).__name__}")
        return None
    count = len(problems)
    video_id = raw.get("video_id")
    if not urls.is_safe_video_id(video_id):
        bad("video_id", f"must be letters, digits, '-' or '_' (got {video_id!r})")
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        bad("url", f"must be a non-empty text (got {url!r})")
    split = raw.get("split")
    if split not in SPLITS:
        bad("split", f"must be one of {', '.join(SPLITS)} (got {split!r})")
    start, end = raw.get("frame_start", 1), raw.get("frame_end", -1)
    if not _int(start) or start < 1:
        bad("frame_start", f"must be an integer >= 1 (got {start!r})")
    elif not _int(end) or (end != -1 and end < start):
        bad("frame_end", f"must be -1 or an integer >= frame_start {start} (got {end!r})")
    signer = raw.get("signer_id", -1)
    if not _int(signer):
        bad("signer_id", f"must be an integer (got {signer!r})")
    source = raw.get("source", "")
    if not isinstance(source, str):
        bad("source", f"must be a text (got {source!r})")
    fps = raw.get("fps", 25)
    if not isinstance(fps, int | float) or isinstance(fps, bool) or fps <= 0:
        bad("fps", f"must be a positive number (got {fps!r})")
    bbox = raw.get("bbox")
    if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4 and all(_int(v) for v in bbox)):
        bad("bbox", f"must be [xmin, ymin, xmax, ymax] integers (got {bbox!r})")
    if len(problems) > count:
        return None
    return Instance(
        video_id=video_id, gloss=gloss, class_index=class_index, url=url.strip(), split=split,
        signer_id=signer, source=source, frame_start=start, frame_end=end, fps=float(fps),
        instance_id=raw.get("instance_id", pos) if _int(raw.get("instance_id", pos)) else pos,
        variation_id=raw.get("variation_id", 0) if _int(raw.get("variation_id", 0)) else 0,
        bbox=tuple(bbox) if bbox is not None else None,
    )


def parse_index(data: Any, path: Path, sha256: str = "") -> WlaslIndex:
    """Check every entry of already-parsed index JSON; bad parts become ``problems`` and are left out."""
    if not isinstance(data, list):
        raise IndexFormatError(f"{path}: a WLASL index is a JSON list of {{gloss, instances}} entries, "
                               f"not a {type(data).__name__}")
    problems: list[IndexProblem] = []
    glosses: list[str] = []
    class_index: dict[str, int] = {}
    instances: list[Instance] = []
    seen_ids: dict[str, tuple[int, str]] = {}
    for entry_pos, entry in enumerate(data):
        if not isinstance(entry, dict):
            kind = type(entry).__name__
            problems.append(IndexProblem(entry_pos, "entry", f"must be an object, not {kind}"))
            continue
        gloss = entry.get("gloss")
        if not isinstance(gloss, str) or not gloss.strip():
            problems.append(IndexProblem(entry_pos, "gloss", f"must be a non-empty text (got {gloss!r})"))
            continue
        gloss = " ".join(gloss.split())
        if gloss in class_index:
            message = f"repeats entry {class_index[gloss]}"
            problems.append(IndexProblem(entry_pos, "gloss", message, None, gloss))
            continue
        raw_instances = entry.get("instances")
        if not isinstance(raw_instances, list):
            problems.append(IndexProblem(entry_pos, "instances", "must be a list", gloss=gloss))
            continue
        glosses.append(gloss)
        class_index[gloss] = entry_pos
        for pos, raw in enumerate(raw_instances):
            inst = _check_instance(raw, gloss, entry_pos, pos, problems, entry_pos)
            if inst is None:
                continue
            if inst.video_id in seen_ids:
                first_entry, first_gloss = seen_ids[inst.video_id]
                problems.append(IndexProblem(entry_pos, "video_id", f"{inst.video_id} already used in entry "
                                             f"{first_entry} ({first_gloss!r})", pos, gloss))
                continue
            seen_ids[inst.video_id] = (entry_pos, gloss)
            instances.append(inst)
    return WlaslIndex(path, sha256, glosses, class_index, instances, problems)


def load_index(path: str | os.PathLike[str], *, strict: bool = False) -> WlaslIndex:
    """Read ``WLASL_v0.3.json`` (or an index in its format); ``strict`` refuses any malformed part."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IndexFormatError(f"{path}: no such file; get WLASL_v0.3.json from {WLASL_HOME}") from None
    except IsADirectoryError:
        raise IndexFormatError(f"{path}: is a folder; give the WLASL_v0.3.json file itself") from None
    except OSError as exc:
        raise IndexFormatError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise IndexFormatError(f"{path}: not valid JSON{where}; is this WLASL_v0.3.json?") from None
    index = parse_index(data, path, hashlib.sha256(raw).hexdigest())
    if strict and index.problems:
        more = f" (and {len(index.problems) - 1} more)" if len(index.problems) > 1 else ""
        raise IndexFormatError(f"{path}: {index.problems[0]}{more}")
    if not index.instances:
        raise IndexFormatError(f"{path}: the index holds no valid instances")
    return index


def index_stats(index: WlaslIndex) -> dict[str, Any]:
    """Counts for ``signdesk data stats``: glosses, instances, splits, sources, hosts, signers."""
    insts = index.instances
    youtube = [i for i in insts if urls.is_youtube(i.url)]
    per_gloss = [len(index.by_gloss[g]) for g in index.glosses]
    return {
        "file": str(index.path),
        "sha256": index.sha256,
        "glosses": len(index.glosses),
        "instances": len(insts),
        "signers": len({i.signer_id for i in insts}),
        "splits": {s: sum(1 for i in insts if i.split == s) for s in SPLITS},
        "per_gloss": {"min": min(per_gloss, default=0), "max": max(per_gloss, default=0),
                      "mean": round(sum(per_gloss) / max(len(per_gloss), 1), 2)},
        "sources": dict(Counter(i.source for i in insts).most_common()),
        "hosts": dict(Counter(i.host for i in insts).most_common()),
        "youtube": {"instances": len(youtube), "videos": len({urls.url_key(i.url) for i in youtube}),
                    "trimmed": sum(1 for i in youtube if not i.whole_video)},
        "problems": [str(p) for p in index.problems],
    }
