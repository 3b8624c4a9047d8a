"""``signdesk data prepare``: from the index, a glossary and downloaded clips to a dataset folder.

Steps, each reported in ``dataset.json`` and, per clip left out, in ``dropped.jsonl``:
1. the glossary's instances, found on disk through the download manifest (trusted when the file
   still has its recorded size; ``verify`` decodes every clip again) or by ``<video_id>.<ext>``
   (decoded once, for clips made by other tools);
2. duplicates removed: the same source (URL and frame range) or the same bytes (sha256) is one
   clip, kept once: WLASL reuses one video for synonyms ("before", "past", "ago") and across
   splits. With the official split the copy in test wins, then val, so the test set stays as
   close to the literature's as leakage allows;
3. the split (``signdesk.data.split``), then glosses without training clips dropped;
4. ``train/val/test.jsonl`` and ``dataset.json`` written atomically (formats in
   ``signdesk.data.manifest``), with a content hash that ignores where the files live.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signdesk import __version__
from signdesk.atomicio import atomic_write_json, atomic_write_jsonl
from signdesk.data import urls
from signdesk.data.events import Emit, no_events
from signdesk.data.glossary import Glossary
from signdesk.data.index import Instance, WlaslIndex
from signdesk.data.manifest import (
    DATASET_FILE,
    DATASET_FORMAT,
    DATASET_VERSION,
    SPLIT_FILES,
    ClipRow,
    read_download_manifest,
)
from signdesk.data.split import Ratios, SplitItem, assign_splits
from signdesk.data.validate import MIN_FRAMES, InvalidVideo, clip_files, validate_clip
from signdesk.errors import SignDeskError
from signdesk.jobs.events import Stopped

DROPPED_FILE = "dropped.jsonl"
_SPLIT_RANK = {"test": 0, "val": 1, "train": 2}


@dataclass
class PrepareOptions:
    split: str = "official"
    seed: int = 0
    ratios: Ratios = field(default_factory=Ratios)
    min_per_gloss: int = 3
    keep_rare: bool = False
    verify: bool = False  # decode every clip again instead of trusting the download manifest
    min_frames: int = MIN_FRAMES
    workers: int = 4


@dataclass
class _Clip:
    inst: Instance
    path: Path
    frames: int
    sha256: str
    frame_start: int
    frame_end: int


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _locate(instances: list[Instance], videos: Path, options: PrepareOptions, emit: Emit
            ) -> tuple[list[_Clip], list[dict[str, str]]]:
    """Find each instance's clip; trust manifest rows whose file is unchanged, decode the rest."""
    manifest = read_download_manifest(videos)
    found: list[_Clip] = []
    dropped: list[dict[str, str]] = []
    to_check: list[tuple[Instance, Path, int, int]] = []
    for inst in instances:
        row = manifest.get(inst.video_id)
        if row is not None and row.status == "ok" and row.path and row.url == inst.url:
            path = videos / row.path
            try:
                same = path.stat().st_size == row.bytes
            except OSError:
                same = False
            if same and not options.verify and row.sha256:
                found.append(_Clip(inst, path, row.frames, row.sha256, row.frame_start, row.frame_end))
                continue
            if same:
                to_check.append((inst, path, row.frame_start, row.frame_end))
                continue
        files = clip_files(videos, inst.video_id)
        if files:
            # A YouTube clip made by another tool (WLASL's preprocess.py) is already cut to its range.
            fs, fe = (1, -1) if urls.is_youtube(inst.url) else (inst.frame_start, inst.frame_end)
            to_check.append((inst, files[0], fs, fe))
            continue
        why = f"{row.status}: {row.reason}" if row is not None and row.status != "ok" else "not downloaded"
        dropped.append({"video_id": inst.video_id, "gloss": inst.gloss, "reason": why, "kind": "missing"})
    if to_check:
        emit({"event": "phase", "phase": "checking clips", "count": len(to_check)})

        def check(item: tuple[Instance, Path, int, int]) -> _Clip | dict[str, str]:
            inst, path, fs, fe = item
            try:
                info = validate_clip(path, min_frames=options.min_frames, frame_start=fs, frame_end=fe)
            except InvalidVideo as exc:
                return {"video_id": inst.video_id, "gloss": inst.gloss, "reason": f"{path.name}: {exc.reason}",
                        "kind": "invalid"}
            return _Clip(inst, path, info.frames, info.sha256, fs, fe)

        with ThreadPoolExecutor(max(1, options.workers)) as pool:
            for result in pool.map(check, to_check):
                (found if isinstance(result, _Clip) else dropped).append(result)
    return found, dropped


def _dedupe(clips: list[_Clip], glossary: Glossary, official_first: bool
            ) -> tuple[list[_Clip], list[dict[str, str]], dict[str, int]]:
    """One clip per source video: same URL + frame range, or same bytes."""
    uf = _UnionFind()
    first_by_key: dict[str, str] = {}
    why_key: dict[str, str] = {}
    for clip in clips:
        vid = clip.inst.video_id
        uf.find(vid)
        source_key = f"url:{urls.url_key(clip.inst.url)}#{clip.inst.frame_start}-{clip.inst.frame_end}"
        for key, why in ((source_key, "same URL and frame range"), (f"sha256:{clip.sha256}", "same bytes")):
            other = first_by_key.setdefault(key, vid)
            if other != vid:
                why_key.setdefault(vid, why)
                uf.union(other, vid)
    groups: dict[str, list[_Clip]] = defaultdict(list)
    for clip in clips:
        groups[uf.find(clip.inst.video_id)].append(clip)
    position = {g: i for i, g in enumerate(glossary.glosses)}
    kept: list[_Clip] = []
    dropped: list[dict[str, str]] = []
    stats = {"groups": 0, "conflicting_glosses": 0}
    for members in groups.values():
        if len(members) == 1:
            kept.append(members[0])
            continue
        members.sort(key=lambda c: (_SPLIT_RANK[c.inst.split] if official_first else 0,
                                    position[c.inst.gloss], c.inst.video_id))
        keep = members[0]
        kept.append(keep)
        stats["groups"] += 1
        if len({c.inst.gloss for c in members}) > 1:
            stats["conflicting_glosses"] += 1
        for clip in members[1:]:
            why = why_key.get(clip.inst.video_id, "same source")
            dropped.append({"video_id": clip.inst.video_id, "gloss": clip.inst.gloss, "kind": "duplicate",
                            "reason": f"duplicate of {keep.inst.video_id} ({keep.inst.gloss!r}, "
                                      f"{keep.inst.split}): {why}"})
    return kept, dropped, stats


def content_hash(glosses: list[str], rows: list[ClipRow]) -> str:
    """sha256 of the glossary and every row's identity, bytes, label, split and range; paths excluded."""
    digest = hashlib.sha256()
    digest.update(json.dumps(glosses, ensure_ascii=False).encode())
    for row in sorted(rows, key=lambda r: r.video_id):
        digest.update(json.dumps([row.video_id, row.sha256, row.gloss, row.label, row.split, row.frame_start,
                                  row.frame_end], ensure_ascii=False).encode())
    return "sha256:" + digest.hexdigest()


def _check_no_leak(rows: dict[str, list[ClipRow]]) -> None:
    """The promise of this module, checked on what is about to be written: no clip in two splits."""
    where: dict[str, str] = {}
    for split, split_rows in rows.items():
        for row in split_rows:
            for key in (row.video_id, f"sha256:{row.sha256}" if row.sha256 else None):
                if key is not None and where.setdefault(key, split) != split:
                    raise AssertionError(f"clip {row.video_id} ({key}) would be in {where[key]} and {split}")


def prepare_dataset(index: WlaslIndex, glossary: Glossary, videos: str | os.PathLike[str],
                    out: str | os.PathLike[str], options: PrepareOptions | None = None, *,
                    emit: Emit = no_events, should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Write the dataset folder ``out``; returns the ``dataset.json`` content.

    ``glossary`` must already be in the index's spelling (``check_glossary(...).matched_glossary()``).
    A stop (``should_stop``) between steps raises ``Stopped`` before anything is written.
    """
    options = options or PrepareOptions()
    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise SignDeskError(f"{videos}: no such folder; run `signdesk data download` first")
    videos = videos.resolve()  # once, so that every row's path is absolute without a syscall each
    unknown = [g for g in glossary.glosses if g not in index.class_index]
    if unknown:
        raise SignDeskError(f"glossary {glossary.name}: not in the index: {', '.join(map(repr, unknown[:10]))}")
    instances = index.instances_of(list(glossary.glosses))
    emit({"event": "start", "command": "prepare", "total": len(instances), "glosses": len(glossary)})

    clips, dropped = _locate(instances, videos, options, emit)
    if should_stop():
        raise Stopped()
    clips, dup_dropped, dup_stats = _dedupe(clips, glossary, official_first=options.split == "official")
    dropped += dup_dropped

    items = [SplitItem(c.inst.video_id, c.inst.gloss, c.inst.signer_id, c.inst.split) for c in clips]
    assignment, dropped_glosses = assign_splits(items, options.split, seed=options.seed, ratios=options.ratios,
                                                min_per_gloss=options.min_per_gloss, keep_rare=options.keep_rare)
    for clip in clips:
        if clip.inst.video_id not in assignment:
            dropped.append({"video_id": clip.inst.video_id, "gloss": clip.inst.gloss, "kind": "rare_gloss",
                            "reason": dropped_glosses.get(clip.inst.gloss, "left out by the split")})
    clips = [c for c in clips if c.inst.video_id in assignment]

    per_gloss: dict[str, Counter[str]] = defaultdict(Counter)
    for clip in clips:
        per_gloss[clip.inst.gloss][assignment[clip.inst.video_id]] += 1
    for gloss in glossary.glosses:
        if gloss not in dropped_glosses and per_gloss[gloss]["train"] == 0:
            dropped_glosses[gloss] = "no training clips" if per_gloss[gloss] else "no clips available"
    for clip in clips:
        if clip.inst.gloss in dropped_glosses:
            dropped.append({"video_id": clip.inst.video_id, "gloss": clip.inst.gloss, "kind": "no_train_clips",
                            "reason": f"gloss dropped: {dropped_glosses[clip.inst.gloss]}"})
    clips = [c for c in clips if c.inst.gloss not in dropped_glosses]
    kept_glosses = [g for g in glossary.glosses if g not in dropped_glosses]
    if not kept_glosses:
        raise SignDeskError(f"no gloss of {glossary.name} has a usable training clip in {videos}; "
                            "download clips first (signdesk data download)")
    label = {g: i for i, g in enumerate(kept_glosses)}

    rows: dict[str, list[ClipRow]] = {s: [] for s in SPLIT_FILES}
    for clip in sorted(clips, key=lambda c: (label[c.inst.gloss], c.inst.video_id)):
        inst, split = clip.inst, assignment[clip.inst.video_id]
        rows[split].append(ClipRow(
            video=str(clip.path), gloss=inst.gloss, label=label[inst.gloss],
            frame_start=clip.frame_start, frame_end=clip.frame_end, signer=inst.signer_id, source=inst.source,
            video_id=inst.video_id, split=split, url=inst.url, variation_id=inst.variation_id, fps=inst.fps,
            frames=clip.frames, sha256=clip.sha256, bbox=list(inst.bbox) if inst.bbox else None))
    _check_no_leak(rows)

    all_rows = [r for split_rows in rows.values() for r in split_rows]
    kinds = Counter(d["kind"] for d in dropped)
    meta: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "version": DATASET_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "signdesk_version": __version__,
        "index": {"path": str(index.path.resolve()), "sha256": index.sha256},
        "videos": str(videos),
        "glossary": {"name": glossary.name, "source": glossary.source, "size": len(glossary)},
        "glosses": kept_glosses,
        "split": {"method": options.split, "seed": options.seed,
                  **({"ratios": options.ratios.as_dict()} if options.split != "official" else {}),
                  **({"min_per_gloss": options.min_per_gloss, "keep_rare": options.keep_rare}
                     if options.split == "stratified" else {})},
        "counts": {"clips": len(all_rows), "glosses": len(kept_glosses),
                   **{s: len(rows[s]) for s in SPLIT_FILES},
                   "signers": {s: len({r.signer for r in rows[s]}) for s in SPLIT_FILES},
                   "instances_in_glossary": len(instances)},
        "dropped": {"missing": kinds["missing"], "invalid": kinds["invalid"], "duplicate": kinds["duplicate"],
                    "rare_gloss": kinds["rare_gloss"], "no_train_clips": kinds["no_train_clips"]},
        "duplicates": dup_stats,
        "dropped_glosses": dropped_glosses,
        "per_gloss": {g: {s: per_gloss[g][s] for s in SPLIT_FILES} for g in kept_glosses},
        "files": {**SPLIT_FILES, "dropped": DROPPED_FILE},
        "content_hash": content_hash(kept_glosses, all_rows),
    }
    if should_stop():
        raise Stopped()
    out.mkdir(parents=True, exist_ok=True)
    for split, name in SPLIT_FILES.items():
        atomic_write_jsonl(out / name, [r.to_json() for r in rows[split]])
    atomic_write_jsonl(out / DROPPED_FILE, sorted(dropped, key=lambda d: d["video_id"]))
    atomic_write_json(out / DATASET_FILE, meta)  # last: its presence marks a complete dataset
    emit({"event": "finished", "command": "prepare", "counts": meta["counts"], "dropped": meta["dropped"],
          "content_hash": meta["content_hash"]})
    return meta
