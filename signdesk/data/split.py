"""Train/val/test assignment: WLASL's official split, a seeded per-gloss split, or a signer split.

All three take clips that are already de-duplicated, so a video can never sit in two splits, and
return ``{video_id: split}`` plus the glosses they had to give up on, with the reason.

- official: each clip keeps WLASL's ``split`` (results comparable with the literature);
- stratified: per gloss, shuffled with a generator seeded by (seed, gloss), so one gloss's split
  does not change when others are added; every kept gloss has clips in train and test;
- signer: whole signers go to one split (WLASL's own split is not signer-independent: 104 of its
  105 test signers also appear in train). Signers are assigned greedily in a seeded order; of
  ``trials`` orders the one covering most glosses in train, then test, then closest to the
  ratios wins.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from signdesk.errors import SignDeskError

SPLITS = ("train", "val", "test")
METHODS = ("official", "stratified", "signer")


@dataclass(frozen=True)
class SplitItem:
    video_id: str
    gloss: str
    signer: int
    official: str  # WLASL's split


@dataclass(frozen=True)
class Ratios:
    train: float = 0.70
    val: float = 0.15
    test: float = 0.15

    @classmethod
    def parse(cls, text: str) -> Ratios:
        """'70,15,15' or '0.7,0.15,0.15' (train, val, test); normalised to sum to 1."""
        try:
            parts = [float(p) for p in text.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 3 or any(p < 0 for p in parts) or parts[0] <= 0 or parts[2] <= 0:
            raise SignDeskError(f"--ratios {text!r}: give three numbers train,val,test such as 70,15,15 "
                                "(train and test above 0)")
        total = sum(parts)
        return cls(*(p / total for p in parts))

    def as_dict(self) -> dict[str, float]:
        return {"train": round(self.train, 6), "val": round(self.val, 6), "test": round(self.test, 6)}


def split_official(items: Sequence[SplitItem]) -> tuple[dict[str, str], dict[str, str]]:
    return {item.video_id: item.official for item in items}, {}


def _by_gloss(items: Sequence[SplitItem]) -> dict[str, list[SplitItem]]:
    groups: dict[str, list[SplitItem]] = defaultdict(list)
    for item in items:
        groups[item.gloss].append(item)
    return groups


def split_stratified(items: Sequence[SplitItem], *, seed: int, ratios: Ratios, min_per_gloss: int = 3,
                     keep_rare: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """Per gloss: at least one test clip, val if there is room, the rest train (never fewer than one)."""
    if min_per_gloss < 2:
        raise SignDeskError("--min-per-gloss must be at least 2: one clip for train and one for test")
    assignment: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for gloss, clips in _by_gloss(items).items():
        clips = sorted(clips, key=lambda c: c.video_id)
        n = len(clips)
        if n < min_per_gloss:
            if keep_rare:
                assignment.update({c.video_id: "train" for c in clips})
            else:
                dropped[gloss] = f"only {n} clip{'s' if n != 1 else ''} (fewer than {min_per_gloss})"
            continue
        random.Random(f"{seed}:{gloss}").shuffle(clips)
        n_test = max(1, round(n * ratios.test))
        n_val = max(1, round(n * ratios.val)) if ratios.val > 0 and n >= 3 else 0
        while n - n_test - n_val < 1:
            if n_val > 0:
                n_val -= 1
            else:
                n_test -= 1
        for pos, clip in enumerate(clips):
            assignment[clip.video_id] = "test" if pos < n_test else "val" if pos < n_test + n_val else "train"
    return assignment, dropped


def split_signer(items: Sequence[SplitItem], *, seed: int, ratios: Ratios, trials: int = 64
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """Whole signers per split; the best of ``trials`` seeded greedy assignments."""
    by_signer: dict[int, list[SplitItem]] = defaultdict(list)
    for item in items:
        by_signer[item.signer].append(item)
    signers = sorted(by_signer)
    if len(signers) < 2:
        raise SignDeskError(f"a signer split needs at least 2 signers; these clips have {len(signers)}")
    total = len(items)
    glosses_of = {s: {c.gloss for c in by_signer[s]} for s in signers}
    best_key, best_plan = None, None
    for trial in range(max(1, trials)):
        order = signers[:]
        random.Random(f"{seed}:signer:{trial}").shuffle(order)
        plan: dict[int, str] = {}
        counts = dict.fromkeys(SPLITS, 0)
        for signer in order:
            if counts["test"] < ratios.test * total:
                split = "test"
            elif counts["val"] < ratios.val * total:
                split = "val"
            else:
                split = "train"
            plan[signer] = split
            counts[split] += len(by_signer[signer])
        if counts["train"] == 0:  # every signer went to test or val: move the last one to train
            plan[order[-1]] = "train"
            counts = {s: sum(len(by_signer[g]) for g in signers if plan[g] == s) for s in SPLITS}
        cover = {s: set().union(*(glosses_of[g] for g in signers if plan[g] == s)) for s in SPLITS}
        deviation = sum(abs(counts[s] / total - getattr(ratios, s)) for s in SPLITS)
        key = (len(cover["train"]), len(cover["train"] & cover["test"]), -round(deviation, 9))
        if best_key is None or key > best_key:
            best_key, best_plan = key, plan
    assert best_plan is not None
    return {c.video_id: best_plan[c.signer] for c in items}, {}


def assign_splits(items: Sequence[SplitItem], method: str, *, seed: int = 0, ratios: Ratios | None = None,
                  min_per_gloss: int = 3, keep_rare: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """``{video_id: split}`` for the kept clips, and ``{gloss: reason}`` for glosses left out."""
    ratios = ratios or Ratios()
    if method == "official":
        return split_official(items)
    if method == "stratified":
        return split_stratified(items, seed=seed, ratios=ratios, min_per_gloss=min_per_gloss, keep_rare=keep_rare)
    if method == "signer":
        return split_signer(items, seed=seed, ratios=ratios)
    raise SignDeskError(f"unknown split method {method!r}; choose {', '.join(METHODS)}")
