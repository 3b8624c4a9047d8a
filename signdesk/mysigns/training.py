"""Training on my signs, alone or mixed with a prepared (WLASL) dataset, and their own figures.

``build_training_set`` writes an ordinary prepared-dataset folder (``signdesk train`` and
``signdesk evaluate`` need nothing else):

- **alone**: the takes, with their held-out-per-word splits;
- **mixed**: the other dataset's clips and the takes in *one glossary space*: the other dataset's
  glosses first, in their order, then the words only the takes have; a take of a word the dataset
  already has (``drink``) gets that gloss's label. The adapter's glossary is this union, which is what
  *Use* loads into the Live tab.

Weighting (mixed only): each training take is repeated ``weight`` times (the copies differ at
training time by the trainer's random cut of each clip's ends, ``jitter``). ``weight="auto"`` gives a
word of mine about as many training examples as a typical gloss of the other dataset: the median of
its training clips per gloss over the median of my training takes per word, rounded, from 1 to
``MAX_WEIGHT``. Validation and test takes are never repeated, so the figures count each take once.

Privacy: a training set's ``dataset.json`` carries ``my_signs``; ``shown_dataset_path`` turns its
path into a plain label, so an adapter's files (``signdesk.json``, ``train_config.json``, ``train.log``,
the model card) never name the takes folder or its clips. Clips go into an adapter folder only
through ``signdesk my-signs export``. (The my-signs figures of an evaluation: ``signdesk.training.mysigns_eval``.)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signdesk import __version__
from signdesk.atomicio import atomic_write_json, atomic_write_jsonl, atomic_write_text
from signdesk.data.manifest import DATASET_FILE, DATASET_FORMAT, DATASET_VERSION, SPLIT_FILES, ClipRow, read_dataset
from signdesk.errors import SignDeskError
from signdesk.mysigns.store import MIXED_DIR, TakeStore

MAX_WEIGHT = 10
DATASET_CONFIG = "train.yaml"  # = signdesk.training.config.DATASET_CONFIG (this layer sits below training)
PRIVATE_LABEL = "my signs (private: kept in the user data folder)"

#: Recommended settings for my signs alone (written as the training set's train.yaml when the mixed-in
#: dataset brings none): a few dozen takes make an epoch of a few steps, so more epochs and smaller
#: steps than the defaults, with early stopping on the held-out val takes.
ALONE_SETTINGS = """\
# Recommended `signdesk train` settings for training on my signs alone (a few takes per word):
# more passes over the takes and smaller steps than for WLASL, stopping once val stops improving.
epochs: 10
batch_size: 4
grad_accum: 1
early_stopping_patience: 3
"""


def auto_weight(other_train_per_gloss: Sequence[int], my_train_per_word: Sequence[int]) -> int:
    if not other_train_per_gloss or not my_train_per_word:
        return 1
    ratio = statistics.median(other_train_per_gloss) / max(1.0, statistics.median(my_train_per_word))
    return int(min(MAX_WEIGHT, max(1, round(ratio))))


def default_out(store: TakeStore | str | os.PathLike[str], mix: str | os.PathLike[str] | None) -> Path:
    """Where a training set of the takes in ``store`` (a store or its folder) goes: ``mixed/alone|with-NAME``."""
    folder = store.folder if isinstance(store, TakeStore) else Path(store)
    name = "alone" if mix is None else "with-" + (Path(mix).expanduser().resolve().name or "dataset")
    return folder / MIXED_DIR / name


def build_training_set(store: TakeStore, out: str | os.PathLike[str] | None = None, *,
                       mix: str | os.PathLike[str] | None = None, weight: int | str = "auto") -> dict[str, Any]:
    """Write my signs (mixed with the prepared dataset ``mix``) as a dataset folder; returns its dataset.json."""
    from signdesk.data.prepare import content_hash

    store.sync()
    mine = read_dataset(store.folder)
    if not mine.glosses:
        raise SignDeskError(f"{store.folder}: no takes yet; record some first (signdesk record WORD)")
    out = Path(out).expanduser().absolute() if out else default_out(store, mix)
    other = read_dataset(Path(mix).expanduser()) if mix is not None else None
    glosses = list(other.glosses) if other else []
    glosses += [w for w in mine.glosses if w not in glosses]
    label = {g: i for i, g in enumerate(glosses)}
    my_train = Counter(r.gloss for r in mine.splits["train"])
    if other is None:
        repeat = 1
    elif weight == "auto":
        repeat = auto_weight(list(Counter(r.gloss for r in other.splits["train"]).values()), list(my_train.values()))
    else:
        repeat = max(1, min(MAX_WEIGHT * 10, int(weight)))
    rows: dict[str, list[ClipRow]] = {s: [] for s in SPLIT_FILES}
    if other is not None:
        for split, split_rows in other.splits.items():
            for row in split_rows:
                video = Path(row.video)
                if not video.is_absolute():
                    row.video = str((other.folder / video).resolve())
                row.label = label[row.gloss]
                rows[split].append(row)
    for split, split_rows in mine.splits.items():
        for row in split_rows:
            row.video = str((store.folder / row.video).resolve())
            row.label = label[row.gloss]
            copies = repeat if split == "train" else 1
            for k in range(copies):
                copy = ClipRow.from_json(row.to_json())
                if k:
                    copy.video_id = f"{row.video_id}~{k + 1}"
                rows[split].append(copy)
    if not rows["val"]:
        raise SignDeskError("no validation takes yet: record at least 4 takes of a word (every word's 4th take "
                            "is held out for validation, its 3rd for the test)")
    all_rows = [r for split_rows in rows.values() for r in split_rows]
    name = "my-signs" if other is None else f"my-signs+{(other.meta.get('glossary') or {}).get('name', 'dataset')}"
    meta: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "version": DATASET_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "signdesk_version": __version__,
        "glossary": {"name": name, "source": "my-signs", "size": len(glosses)},
        "glosses": glosses,
        "split": {"method": "my signs: held-out takes per word" + (
            "" if other is None else f"; {(other.meta.get('split') or {}).get('method')} for the mixed-in dataset")},
        "counts": {"clips": len(all_rows), "glosses": len(glosses), **{s: len(rows[s]) for s in SPLIT_FILES},
                   "signers": {s: len({r.signer for r in rows[s]}) for s in SPLIT_FILES}},
        "files": dict(SPLIT_FILES),
        "content_hash": content_hash(glosses, all_rows),
        "my_signs": {
            "private": True,
            "words": list(mine.glosses),
            "takes": {s: len(mine.splits[s]) for s in SPLIT_FILES},
            "weight": repeat,
            "mixed_with": None if other is None else {"name": (other.meta.get("glossary") or {}).get("name"),
                                                      "content_hash": other.meta.get("content_hash"),
                                                      "glosses": len(other.glosses)},
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    for split, filename in SPLIT_FILES.items():
        atomic_write_jsonl(out / filename, [r.to_json() for r in rows[split]])
    own = other.folder / DATASET_CONFIG if other is not None else None
    if own is not None and own.is_file():
        shutil.copyfile(own, out / DATASET_CONFIG)  # the mixed-in dataset's recommended settings
    elif other is None:
        atomic_write_text(out / DATASET_CONFIG, ALONE_SETTINGS)
    else:
        (out / DATASET_CONFIG).unlink(missing_ok=True)
    atomic_write_json(out / DATASET_FILE, meta)  # last: its presence marks a complete dataset
    return meta


# ------------------------------------------------------------------------------------------- privacy
def is_private_dataset(folder: str | os.PathLike[str]) -> bool:
    """A takes folder or a training set built from one (its dataset.json carries ``my_signs``)."""
    try:
        meta = json.loads((Path(folder) / DATASET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and isinstance(meta.get("my_signs"), dict)


def shown_dataset_path(folder: str | os.PathLike[str]) -> str:
    """What an adapter's files say the dataset was: its path, or a label for my signs (never their path)."""
    return PRIVATE_LABEL if is_private_dataset(folder) else str(folder)
