"""Split properties on random synthetic data: reproducible, stratified, signer-disjoint, complete."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from signdesk.data.split import Ratios, SplitItem, assign_splits
from signdesk.errors import SignDeskError


def synthetic(seed: int, glosses: int = 40, signers: int = 20) -> list[SplitItem]:
    rng = random.Random(seed)
    items = []
    for g in range(glosses):
        for _ in range(rng.randint(1, 15)):
            items.append(SplitItem(f"{len(items):05d}", f"g{g}", rng.randrange(signers),
                                   rng.choice(["train", "train", "train", "val", "test"])))
    return items


def by_split(assignment: dict[str, str], items: list[SplitItem]) -> dict[str, list[SplitItem]]:
    groups = defaultdict(list)
    for item in items:
        if item.video_id in assignment:
            groups[assignment[item.video_id]].append(item)
    return groups


@pytest.mark.parametrize("data_seed", range(5))
def test_stratified_is_reproducible_per_gloss_and_covers_train_and_test(data_seed):
    items = synthetic(data_seed)
    first, dropped = assign_splits(items, "stratified", seed=7, min_per_gloss=3)
    again, _ = assign_splits(list(reversed(items)), "stratified", seed=7, min_per_gloss=3)
    other, _ = assign_splits(items, "stratified", seed=8, min_per_gloss=3)
    assert first == again  # input order does not matter
    assert first != other  # the seed does
    sizes = Counter(item.gloss for item in items)
    assert set(dropped) == {g for g, n in sizes.items() if n < 3}
    per_gloss = defaultdict(Counter)
    for item in items:
        if item.video_id in first:
            per_gloss[item.gloss][first[item.video_id]] += 1
    for gloss, counts in per_gloss.items():
        n = sizes[gloss]
        assert counts["train"] >= 1 and counts["test"] >= 1 and counts["val"] >= 1, (gloss, counts)
        assert counts["test"] == max(1, round(n * 0.15)) and sum(counts.values()) == n
    assert set(first) == {i.video_id for i in items if sizes[i.gloss] >= 3}


def test_a_glosss_split_does_not_change_when_other_glosses_are_added():
    items = synthetic(1)
    alone = [i for i in items if i.gloss == "g3"]
    assert assign_splits(alone, "stratified", seed=5)[0] == {
        k: v for k, v in assign_splits(items, "stratified", seed=5)[0].items() if k in {i.video_id for i in alone}}


def test_rare_glosses_can_be_kept_in_train_only():
    items = [SplitItem("1", "a", 1, "train"), SplitItem("2", "a", 2, "test")] + [
        SplitItem(str(10 + n), "b", n, "train") for n in range(6)]
    assignment, dropped = assign_splits(items, "stratified", seed=0, min_per_gloss=3, keep_rare=True)
    assert dropped == {} and assignment["1"] == assignment["2"] == "train"
    assignment, dropped = assign_splits(items, "stratified", seed=0, min_per_gloss=3)
    assert "1" not in assignment and dropped == {"a": "only 2 clips (fewer than 3)"}
    assignment, _ = assign_splits(items, "stratified", seed=0, min_per_gloss=2)
    assert sorted(assignment[k] for k in ("1", "2")) == ["test", "train"]
    with pytest.raises(SignDeskError, match="at least 2"):
        assign_splits(items, "stratified", min_per_gloss=1)


@pytest.mark.parametrize("data_seed", range(5))
def test_signer_split_never_shares_a_signer_and_is_reproducible(data_seed):
    items = synthetic(data_seed)
    assignment, _ = assign_splits(items, "signer", seed=3)
    assert assignment == assign_splits(items, "signer", seed=3)[0]
    assert set(assignment) == {i.video_id for i in items}
    splits_of_signer = defaultdict(set)
    for item in items:
        splits_of_signer[item.signer].add(assignment[item.video_id])
    assert all(len(s) == 1 for s in splits_of_signer.values())
    groups = by_split(assignment, items)
    assert groups["train"] and groups["test"]
    assert abs(len(groups["test"]) / len(items) - 0.15) < 0.15


def test_official_keeps_wlasls_split_and_unknown_methods_are_refused():
    items = synthetic(0)
    assert assign_splits(items, "official")[0] == {i.video_id: i.official for i in items}
    with pytest.raises(SignDeskError, match="unknown split method"):
        assign_splits(items, "random")


def test_ratios_parse_and_refuse_nonsense():
    assert Ratios.parse("70,15,15") == Ratios(0.7, 0.15, 0.15)
    assert Ratios.parse("8,0,2").as_dict() == {"train": 0.8, "val": 0.0, "test": 0.2}
    for bad in ("70,30", "a,b,c", "0,50,50", "70,30,0", "-1,1,1"):
        with pytest.raises(SignDeskError, match="--ratios"):
            Ratios.parse(bad)
