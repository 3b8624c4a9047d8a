"""Read a prepared dataset folder and refuse a bad one before any model is loaded.

The folder is what ``signdesk data prepare`` (or ``signdesk synth-dataset``) writes: ``dataset.json``
and ``train/val/test.jsonl`` (formats in ``signdesk.data.manifest``). A video path may be absolute
(as ``prepare`` writes it) or relative to the dataset folder (a dataset copied elsewhere).
Training on a broken dataset would waste hours before failing, so every problem is found up front:
missing or empty videos, empty splits, glosses outside the glossary, labels that disagree with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signdesk.data.manifest import DATASET_FILE, SPLIT_FILES, ClipRow, read_dataset
from signdesk.data.prepare import content_hash
from signdesk.errors import SignDeskError

# The published WLASL subsets: with their official split, numbers are comparable with the literature.
# Top-1 / top-5 in percent: I3D from the WLASL paper (Li et al., WACV 2020); the rest as cited in DESIGN.md.
LITERATURE = {
    "wlasl100": {"I3D (Li et al. 2020)": {"top1": 65.89, "top5": 84.11}},
    "wlasl300": {
        "I3D (Li et al. 2020)": {"top1": 56.14, "top5": 79.94},
        "state of the art (approx.)": {"top1": 87.0},
        "best zero-shot VLM": {"top1": 25.6},
    },
}


class DatasetError(SignDeskError):
    """The dataset folder cannot be trained or evaluated on as it is."""


@dataclass
class SignDataset:
    folder: Path
    meta: dict[str, Any]
    glosses: list[str]
    splits: dict[str, list[ClipRow]]

    @property
    def content_hash(self) -> str:
        return str(self.meta.get("content_hash") or content_hash(list(self.glosses), list(self.all_rows())))

    def all_rows(self) -> list[ClipRow]:
        return [row for rows in self.splits.values() for row in rows]

    def wlasl_subset(self) -> str | None:
        """``wlasl100``/``wlasl300`` when built from that published subset with WLASL's official split."""
        glossary = self.meta.get("glossary") or {}
        if not isinstance(glossary, dict) or glossary.get("source") != "preset":
            return None
        name = str(glossary.get("name", "")).lower()
        method = (self.meta.get("split") or {}).get("method")
        return name if name in LITERATURE and method == "official" else None


def _resolve(folder: Path, video: str) -> str:
    path = Path(video).expanduser()
    return str(path if path.is_absolute() else (folder / path))


def _sample(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def load_dataset(folder: str | Path, *, need: Sequence[str] = ("train", "val")) -> SignDataset:
    """Read and check ``folder``; ``need`` names the splits that must hold clips."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such dataset folder; run `signdesk data prepare` first")
    if not (folder / DATASET_FILE).is_file():
        raise DatasetError(f"{folder}: not a prepared dataset (no {DATASET_FILE}); run `signdesk data prepare`")
    try:
        raw = read_dataset(folder)
    except DatasetError:
        raise
    except SignDeskError as exc:
        raise DatasetError(str(exc)) from None
    glosses = raw.meta.get("glosses")
    if not isinstance(glosses, list) or not glosses or not all(isinstance(g, str) and g for g in glosses):
        raise DatasetError(f"{folder / DATASET_FILE}: the glossary ('glosses') is missing or empty")
    for split in need:
        if not raw.splits.get(split):
            raise DatasetError(
                f"{folder}: the {split} split is empty ({SPLIT_FILES[split]} has no clips); prepare the dataset "
                f"again with clips in {split} (e.g. `signdesk data prepare --split stratified --ratios 70,15,15`)"
            )
    index = {g: i for i, g in enumerate(glosses)}
    unknown: dict[str, list[str]] = {}
    mislabeled: list[str] = []
    bad_range: list[str] = []
    missing: list[str] = []
    splits: dict[str, list[ClipRow]] = {}
    for split, rows in raw.splits.items():
        fixed = []
        for row in rows:
            if row.gloss not in index:
                unknown.setdefault(row.gloss, []).append(f"{split}:{row.video_id}")
            elif row.label != index[row.gloss]:
                mislabeled.append(f"{row.video_id} ({row.gloss!r}: label {row.label}, glossary {index[row.gloss]})")
            if not isinstance(row.frame_start, int) or row.frame_start < 1 or not isinstance(row.frame_end, int) or (
                row.frame_end != -1 and row.frame_end < row.frame_start
            ):
                bad_range.append(f"{row.video_id} ({row.frame_start}-{row.frame_end})")
            video = _resolve(folder, row.video)
            path = Path(video)
            if not path.is_file() or path.stat().st_size == 0:
                missing.append(video)
            row.video = video
            fixed.append(row)
        splits[split] = fixed
    if unknown:
        words = [f"{g!r} ({_sample(where, 2)})" for g, where in unknown.items()]
        raise DatasetError(
            f"{folder}: {sum(map(len, unknown.values()))} clips have glosses that are not in the dataset's "
            f"glossary: {_sample(words)}; fix the manifests or prepare the dataset again"
        )
    if mislabeled:
        raise DatasetError(f"{folder}: {len(mislabeled)} clips have a label that disagrees with the glossary: "
                           f"{_sample(mislabeled)}; prepare the dataset again")
    if bad_range:
        raise DatasetError(f"{folder}: {len(bad_range)} clips have an impossible frame range: {_sample(bad_range)}")
    if missing:
        total = sum(len(rows) for rows in splits.values())
        raise DatasetError(
            f"{folder}: {len(missing)} of {total} videos are missing or empty: {_sample(missing)}; download them "
            "again (signdesk data download) or prepare the dataset again (signdesk data prepare)"
        )
    return SignDataset(folder=folder, meta=raw.meta, glosses=list(glosses), splits=splits)
