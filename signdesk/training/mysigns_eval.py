"""The my-signs figures of an evaluation: top-1/top-5 on the held-out takes of my signs, apart.

``signdesk evaluate`` scores a split as usual; the rows that are takes of my signs (source
``recorded``, see ``signdesk.mysigns.store``) are also summarised on their own, so a training set that
mixes my signs into WLASL reports how well the adapter knows *my* signs, not just the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from signdesk.data.manifest import ClipRow
from signdesk.mysigns.store import SOURCE


def is_my_sign(row: ClipRow) -> bool:
    return row.source == SOURCE


def my_signs_summary(scores: np.ndarray, rows: Sequence[ClipRow], glosses: Sequence[str]) -> dict[str, Any] | None:
    """Top-1/top-5 on the takes among ``rows`` only (None when there are none), per word too."""
    from signdesk.training.evaluate import summarize

    picks = [i for i, row in enumerate(rows) if is_my_sign(row)]
    if not picks:
        return None
    result = summarize(scores[picks], [rows[i].label for i in picks], glosses, confused=5)
    return {k: result[k] for k in ("clips", "classes", "top1", "top5", "per_gloss", "confused")}


def format_my_signs(results: dict[str, Any]) -> list[str]:
    """Lines for ``signdesk evaluate``'s table: my-signs top-1 per model."""
    lines = []
    for model, result in results.items():
        mine = result.get("my_signs")
        if mine:
            lines.append(f"my signs ({model}): top-1 {100 * mine['top1']:.1f} %, top-5 {100 * mine['top5']:.1f} % "
                         f"on {mine['clips']} held-out takes of {mine['classes']} words")
    return lines
