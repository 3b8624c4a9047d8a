"""Direction twins: signs that differ only in the direction of the movement (GO/COME, UP/DOWN).

A model that looks at a clip as a bag of frames cannot tell twins apart; only the order of the frames
can. Evaluation reports accuracy on twin clips separately, so a user sees whether an adapter learnt
motion. The twins of a dataset are its own (``direction_twins`` in ``dataset.json``, which synthetic
datasets write) if it lists them, else the packaged ASL pairs (``resources/direction-twins.txt``)
whose two glosses are both in its glossary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from signdesk import paths

TWINS_FILE = "direction-twins.txt"


def packaged_pairs() -> list[tuple[str, str]]:
    """The packaged ASL direction pairs (lower-case WLASL glosses)."""
    path = paths.resources_dir() / TWINS_FILE
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2:
            pairs.append((words[0].lower(), words[1].lower()))
    return pairs


def dataset_twins(meta: Mapping[str, Any], glosses: Sequence[str]) -> list[tuple[str, str]]:
    """The twin pairs of a dataset whose glossary is ``glosses``: its own list, else the packaged pairs."""
    own = meta.get("direction_twins")
    pairs = [tuple(p) for p in own] if isinstance(own, list) else packaged_pairs()
    known = {g.lower(): g for g in glosses}
    return [(known[a.lower()], known[b.lower()]) for a, b in pairs if a.lower() in known and b.lower() in known]


def twin_summary(scores: np.ndarray, labels: Sequence[int], glosses: Sequence[str],
                 pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Top-1 on the clips of twin signs and on the others, and how often a twin is taken for its twin."""
    labels = np.asarray(labels, dtype=np.int64)
    index = {g: i for i, g in enumerate(glosses)}
    twin_of: dict[int, int] = {}
    for a, b in pairs:
        twin_of[index[a]], twin_of[index[b]] = index[b], index[a]
    predicted = np.argmax(scores, axis=1) if len(labels) else np.zeros(0, dtype=np.int64)
    correct = predicted == labels
    is_twin = np.array([int(label) in twin_of for label in labels], dtype=bool)
    swapped = np.array([twin_of.get(int(t)) == int(p) for t, p in zip(labels, predicted, strict=True)], dtype=bool)

    def top1(mask: np.ndarray) -> float | None:
        return float(np.mean(correct[mask])) if mask.any() else None

    return {
        "pairs": [list(p) for p in pairs],
        "twin_clips": int(is_twin.sum()),
        "twin_top1": top1(is_twin),
        # of the twin clips, the share answered with the twin: the mistake a model blind to motion makes
        "twin_swapped": float(np.mean(swapped[is_twin])) if is_twin.any() else None,
        "other_clips": int((~is_twin).sum()),
        "other_top1": top1(~is_twin),
    }
