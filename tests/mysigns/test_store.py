"""The takes store: the prepared-dataset format, held-out splits per word, refusals, atomic deletion."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from signdesk.data.manifest import read_dataset
from signdesk.mysigns.checks import MAX_TAKE_S, TakeRefused
from signdesk.mysigns.store import TakeStore, normalize_word, split_for_new_take
from signdesk.training.dataset import load_dataset
from signdesk.video.synth import motion_frames, write_video


def sign_frames(motion: str = "diagonal", length: int = 24, seed: int = 0) -> np.ndarray:
    """A synthetic sign: a bright blob moving, a few still frames around it (96x96)."""
    return motion_frames(motion, length, 96, 96, still_before=3, still_after=3, seed=seed)


def add_takes(store: TakeStore, word: str, count: int, motion: str = "diagonal") -> list:
    return [store.add_frames(word, sign_frames(motion, seed=k), 25.0) for k in range(count)]


def files_of(store: TakeStore) -> set[str]:
    return {p.name for p in store.clips_dir.iterdir()} if store.clips_dir.is_dir() else set()


def test_takes_are_a_prepared_dataset_with_takes_held_out_per_word(tmp_path):
    store = TakeStore(tmp_path / "mine")
    add_takes(store, "Grandma", 10)
    add_takes(store, "office", 4, motion="zigzag")
    data = load_dataset(store.folder, need=("train", "val", "test"))  # what `signdesk train` reads
    assert data.glosses == ["grandma", "office"]
    per_word = {w: Counter(r.split for rows in data.splits.values() for r in rows if r.gloss == w)
                for w in data.glosses}
    assert per_word["grandma"] == {"train": 7, "val": 1, "test": 2}
    assert per_word["office"] == {"train": 2, "val": 1, "test": 1}
    for rows in data.splits.values():
        for row in rows:
            assert row.source == "recorded" and row.signer == 0
            assert row.label == data.glosses.index(row.gloss)
            assert row.frame_start == 1 and row.frame_end == row.frames == 30
    raw = read_dataset(store.folder)
    assert raw.meta["counts"]["clips"] == 14 and raw.meta["my_signs"]["private"] is True
    assert [c.takes for c in store.counts()] == [10, 4] and store.counts()[1].remaining == 6


def test_split_rule_holds_takes_out_as_a_word_grows():
    counts: Counter[str] = Counter()
    seen = []
    for _ in range(11):
        split = split_for_new_take(counts)
        counts[split] += 1
        seen.append(split)
    assert seen[:4] == ["train", "train", "test", "val"]
    assert counts == {"train": 7, "val": 2, "test": 2}


def test_words_are_normalised_and_bad_ones_refused():
    assert normalize_word("  Thank   You ") == "thank you"
    for bad in ("", "   ", "a/b", "x" * 41, "<b>"):
        with pytest.raises(Exception, match="word"):
            normalize_word(bad)


@pytest.mark.parametrize(("frames", "fps", "reason"), [
    (sign_frames(length=4)[2:7], 25.0, "too short"),  # 0.16 s of motion
    (np.concatenate([sign_frames(length=60, seed=s) for s in range(3)]), 25.0, "too long"),  # 7.7 s
    (np.full((30, 96, 96, 3), 90, np.uint8), 25.0, "motionless"),
])
def test_a_bad_take_is_refused_with_a_one_line_reason(tmp_path, frames, fps, reason):
    store = TakeStore(tmp_path / "mine")
    with pytest.raises(TakeRefused) as refused:
        store.add_frames("hello", frames, fps)
    assert refused.value.reason.startswith(reason) and "\n" not in refused.value.reason
    assert store.takes() == [] and files_of(store) == set()  # nothing kept, no file left


def test_a_take_cut_by_the_segmenter_is_too_long(tmp_path):
    store = TakeStore(tmp_path / "mine")
    with pytest.raises(TakeRefused, match=f"too long: the motion lasted more than {MAX_TAKE_S:g} s"):
        store.add_frames("hello", sign_frames(), 25.0, cut=True)


def test_deleting_takes_removes_files_and_rows(tmp_path):
    store = TakeStore(tmp_path / "mine")
    grandma = add_takes(store, "grandma", 3)
    office = add_takes(store, "office", 2, motion="zigzag")
    store.delete([grandma[0].video_id])
    assert {t.video_id for t in store.takes()} == {t.video_id for t in grandma[1:] + office}
    assert files_of(store) == {f"{t.video_id}.mp4" for t in grandma[1:] + office}
    assert store.delete_word("office") and read_dataset(store.folder).glosses == ["grandma"]
    with pytest.raises(Exception, match="no such take"):
        store.delete(["nope"])
    store.delete_all()
    assert store.takes() == [] and files_of(store) == set()
    assert read_dataset(store.folder).meta["counts"]["clips"] == 0


def _rows_point_at_files(store: TakeStore) -> None:
    data = read_dataset(store.folder)
    for take in store.takes():
        assert store.path_of(take).is_file(), take.video_id
    for rows in data.splits.values():
        for row in rows:
            assert (store.folder / row.video).is_file(), row.video


def test_a_crash_while_deleting_leaves_at_worst_an_orphan_file_that_is_cleaned_up(tmp_path, monkeypatch):
    store = TakeStore(tmp_path / "mine")
    takes = add_takes(store, "grandma", 4)

    def crash(path):  # the process dies after the rows are gone, before the files are
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(TakeStore, "_remove_file", staticmethod(crash))
    with pytest.raises(KeyboardInterrupt):
        store.delete([takes[0].video_id, takes[1].video_id])
    monkeypatch.undo()
    assert len(store.takes()) == 2 and len(files_of(store)) == 4  # two orphan files, no row without a file
    _rows_point_at_files(store)
    reopened = TakeStore(store.folder)  # the next opening cleans up
    assert files_of(reopened) == {f"{t.video_id}.mp4" for t in takes[2:]}
    _rows_point_at_files(reopened)


def test_a_crash_before_the_manifest_is_written_changes_nothing(tmp_path, monkeypatch):
    import signdesk.mysigns.store as store_module

    store = TakeStore(tmp_path / "mine")
    takes = add_takes(store, "grandma", 3)
    real = store_module.atomic_write_jsonl

    def crash(path, rows):
        if path.name == "takes.jsonl":
            raise KeyboardInterrupt("power cut")
        return real(path, rows)

    monkeypatch.setattr(store_module, "atomic_write_jsonl", crash)
    with pytest.raises(KeyboardInterrupt):
        store.delete_all()
    with pytest.raises(KeyboardInterrupt):  # adding: the clip file was written, its row never was
        store.add_frames("grandma", sign_frames(seed=9), 25.0)
    monkeypatch.undo()
    assert [t.video_id for t in store.takes()] == [t.video_id for t in takes]
    assert len(files_of(store)) == 4  # one orphan from the interrupted add
    assert files_of(TakeStore(store.folder)) == {f"{t.video_id}.mp4" for t in takes}


def test_views_that_lag_behind_the_manifest_are_rewritten(tmp_path):
    store = TakeStore(tmp_path / "mine")
    takes = add_takes(store, "grandma", 3)
    manifest = store.takes_file
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))  # as if a crash hit between the writes
    TakeStore(store.folder)
    data = read_dataset(store.folder)
    assert sorted(r.video_id for rows_ in data.splits.values() for r in rows_) == sorted(t.video_id for t in takes[:2])
    _rows_point_at_files(store)


def test_import_cuts_the_sign_out_of_a_file_and_refuses_a_still_one(tmp_path):
    from signdesk.mysigns.recorder import import_video

    store = TakeStore(tmp_path / "mine")
    moving = motion_frames("circle", 30, 96, 96, still_before=20, still_after=25, seed=3)
    take = import_video(store, "cookie", write_video(tmp_path / "cookie.mp4", moving, fps=25.0))
    assert take.origin == "file" and take.gloss == "cookie"
    assert 13 <= take.stream_start <= 21 and 45 <= take.stream_end <= 52  # the motion is frames 20..49
    with pytest.raises(TakeRefused, match=r"^motionless"):
        import_video(store, "cookie", write_video(tmp_path / "still.mp4", np.full((40, 96, 96, 3), 80, np.uint8)))
    assert len(store.takes()) == 1


def test_a_prepared_dataset_or_foreign_files_are_never_touched(tmp_path):
    from signdesk.training.synthetic import write_synthetic_dataset

    write_synthetic_dataset(tmp_path / "wlasl", signs=2, counts=(1, 1, 1), size=(32, 32))
    with pytest.raises(Exception, match="prepared dataset"):
        TakeStore(tmp_path / "wlasl")
    store = TakeStore(tmp_path / "mine")
    add_takes(store, "grandma", 1)
    (store.clips_dir / "my holiday.mp4").write_bytes(b"not ours")
    assert "my holiday.mp4" in files_of(TakeStore(store.folder))


def test_a_motion_cut_for_length_is_refused_once_and_its_rest_with_it():
    from signdesk.mysigns.recorder import candidate_from_clip
    from signdesk.video.segment import SignClip

    frames = list(sign_frames(length=40))
    seen: set[int] = set()
    first = candidate_from_clip(SignClip(frames, 0.0, 4.0, 0, 120, motion_id=3, cut=True), 30.0, seen)
    rest = candidate_from_clip(SignClip(frames[:20], 4.0, 4.6, 120, 138, motion_id=3), 30.0, seen)
    other = candidate_from_clip(SignClip(frames, 9.0, 10.4, 270, 312, motion_id=4), 30.0, seen)
    assert first.reason.startswith("too long") and not first.repeat
    assert rest.reason.startswith("too long") and rest.repeat  # not kept, not said twice
    assert other.ok and other.duration_s == pytest.approx(1.4)
