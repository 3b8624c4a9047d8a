"""Glossary shortlists for vocab mode: score exactly only the glosses the model could plausibly say.

After the prefill the interpreter already holds the distribution of the first answer token. A gloss's
total log-likelihood is its first token's log-probability plus that of the rest, so the first token's
log-probability is an upper bound on the whole answer's. The shortlist keeps the glosses whose first
token is among the most likely, whole groups of glosses that share a first token (the first token alone
cannot tell them apart), as many groups as fit in the shortlist size; the most likely group is always
kept, even when it alone is larger. Only those are scored exactly on the cached prefix; the others get
no probability and rank below every scored gloss, in first-token order.

``shortlist_recall`` measures how often the full-scoring top-1 falls outside the shortlist (``signdesk
bench`` calls it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from signdesk.errors import ConfigError


def check_size(size: Any) -> int:
    """A valid shortlist size (0 = score every gloss), or ConfigError saying what is allowed."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ConfigError(
            f"the glossary shortlist must be 0 (score every gloss) or a positive number of glosses (got {size!r})"
        )
    return int(size)


def select(first_logprobs: np.ndarray, first_tokens: Sequence[int], size: int) -> np.ndarray:
    """Indices (ascending) of the glosses to score exactly: every gloss when ``size`` is 0 or not below
    the glossary's size, otherwise the first-token groups in order of likelihood that fit in ``size``
    (ties: the group whose first gloss comes first in the glossary), the most likely group always."""
    count = len(first_tokens)
    if size <= 0 or count <= size:
        return np.arange(count)
    groups: dict[int, list[int]] = {}
    for index, token in enumerate(first_tokens):
        groups.setdefault(int(token), []).append(index)
    ranked = sorted(groups.values(), key=lambda members: (-float(first_logprobs[members[0]]), members[0]))
    chosen: list[int] = []
    for members in ranked:
        if chosen and len(chosen) + len(members) > size:
            break  # never skip a group for a less likely one: what is left out is below what is kept
        chosen += members
    return np.array(sorted(chosen), dtype=np.int64)


def _clip_inputs(interpreter: Any, clip: Any) -> dict[str, Any]:
    from signdesk.video.decode import read_clip, sample_frames

    if isinstance(clip, (str, Path)):
        frames = read_clip(clip, interpreter.num_frames, size=interpreter.frame_size).frames
    else:
        frames = sample_frames(np.asarray(clip), interpreter.num_frames, interpreter.frame_size)
    return interpreter.prepare_inputs(frames)


def shortlist_recall(interpreter: Any, clips: Iterable[Any], sizes: Sequence[int]) -> dict[str, Any]:
    """How often the full-scoring top-1 lies outside the shortlist, per shortlist size, and what it saves.

    ``clips``: video paths or frame arrays (T, H, W, 3). Each clip is prefilled once; every gloss is
    scored, then each shortlist on the same prefix cache, so the timings compare scoring only.
    Returns ``{"glossary_size", "clips", "full_scoring_ms", "sizes": [{"size", "misses", "miss_rate",
    "mean_scored", "certain", "scoring_ms", "speedup"}, ...]}``: ``misses`` counts clips whose full top-1
    is not shortlisted, ``certain`` those whose shortlisted top-1 provably is the full one (its exact
    log-likelihood is at least every left-out gloss's first-token log-probability, an upper bound),
    ``scoring_ms`` and ``full_scoring_ms`` are medians per clip (shortlist selection included);
    ``distinct_top1`` counts the different full-scoring winners (a model that always says the same word
    tests little).
    """
    sizes = [check_size(s) for s in sizes]
    words = interpreter.glossary
    if not words:
        raise ConfigError("shortlist recall needs a glossary")
    full_ms: list[float] = []
    per_size: dict[int, dict[str, list[float]]] = {
        s: {"miss": [], "scored": [], "certain": [], "ms": []} for s in sizes
    }
    clip_count, winners = 0, set()
    with interpreter._lock, interpreter.adapters.inference_context():
        for clip in clips:
            clip_count += 1
            inputs = _clip_inputs(interpreter, clip)
            with interpreter.prefilled(inputs) as prefix:
                t0 = time.perf_counter()
                full = interpreter.score_on_prefix(prefix, np.arange(len(words)))
                full_ms.append((time.perf_counter() - t0) * 1000)
                best = int(np.argmax(full))
                winners.add(best)
                for size in sizes:
                    t0 = time.perf_counter()
                    chosen = select(prefix.first_logprobs, prefix.first_tokens, size)
                    totals = interpreter.score_on_prefix(prefix, chosen)
                    stats = per_size[size]
                    stats["ms"].append((time.perf_counter() - t0) * 1000)
                    stats["scored"].append(len(chosen))
                    stats["miss"].append(float(best not in set(chosen.tolist())))
                    left_out = np.setdiff1d(np.arange(len(words)), chosen)
                    bound = prefix.first_logprobs[left_out].max() if len(left_out) else -np.inf
                    stats["certain"].append(float(totals[chosen].max() >= bound))
    full_median = float(np.median(full_ms)) if full_ms else 0.0
    rows = []
    for size in sizes:
        stats = per_size[size]
        ms = float(np.median(stats["ms"])) if stats["ms"] else 0.0
        rows.append({
            "size": size, "misses": int(sum(stats["miss"])),
            "miss_rate": round(float(np.mean(stats["miss"])), 4) if stats["miss"] else 0.0,
            "mean_scored": round(float(np.mean(stats["scored"])), 1) if stats["scored"] else 0.0,
            "certain": int(sum(stats["certain"])),
            "scoring_ms": round(ms, 2), "speedup": round(full_median / ms, 2) if ms else None,
        })
    return {"glossary_size": len(words), "clips": clip_count, "distinct_top1": len(winners),
            "full_scoring_ms": round(full_median, 2), "sizes": rows}


def format_recall(report: dict[str, Any]) -> str:
    lines = [
        f"shortlist recall: {report['clips']} clips ({report['distinct_top1']} different top-1 words), "
        f"{report['glossary_size']} glosses, scoring every gloss {report['full_scoring_ms']:.1f} ms (median)",
        "size  scored  top-1 missed  certain  scoring ms  speed-up",
    ]
    for row in report["sizes"]:
        speedup = "n/a" if row["speedup"] is None else f"{row['speedup']:.2f}x"
        lines.append(f"{row['size']:>4}  {row['mean_scored']:>6.1f}  {row['misses']:>4} ({row['miss_rate']:>5.1%})"
                     f"  {row['certain']:>7}  {row['scoring_ms']:>10.1f}  {speedup:>8}")
    return "\n".join(lines)
