"""``prepare``: from downloaded clips to train/val/test manifests and dataset.json."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from signdesk.data.download import download
from signdesk.data.glossary import Glossary, check_glossary, resolve_glossary
from signdesk.data.index import load_index
from signdesk.data.loopback import JUNK_114, Route
from signdesk.data.manifest import DownloadRow, ManifestJournal, read_dataset
from signdesk.data.prepare import PrepareOptions, prepare_dataset
from signdesk.jobs.events import Stopped


@pytest.fixture
def downloaded(wl, server, clips, tmp_path):
    """Nine instances of three glosses, downloaded for real: one dead link, one URL shared by two glosses,
    and one clip whose bytes equal another's under a different URL."""
    a, b = clips["a"], clips["b"]
    u = {name: server.add(f"/{name}.mp4", Route(body=body)) for name, body in {
        "a1": a + b"\x01", "a2": a + b"\x02", "a3": a + b"\x03", "b1": b + b"\x01", "b2": b + b"\x02",
        "b3": b + b"\x03", "same-bytes": a + b"\x01", "c1": b + b"\x04"}.items()}
    i = wl.instance
    index = wl.make_index({
        "before": [i("00001", u["a1"], split="train", signer=1), i("00002", u["a2"], split="val", signer=2),
                   i("00003", u["a3"], split="test", signer=3),
                   i("00004", server.url("/dead.mp4"), split="train", signer=1)],
        "past": [i("00005", u["b1"], split="train", signer=1), i("00006", u["b2"], split="val", signer=2),
                 i("00007", u["b3"], split="test", signer=3),
                 i("00008", u["a3"], split="train", signer=3)],  # same URL as 00003 ('before', test)
        "cup": [i("00009", u["same-bytes"], split="train", signer=4),  # same bytes as 00001
                i("00010", u["c1"], split="test", signer=4)],
    }, tmp_path / "index.json")
    videos = tmp_path / "videos"
    download(index.instances, wl.fast_options(videos))
    return index, videos


def glossary_of(index, *glosses) -> Glossary:
    return Glossary("test", tuple(glosses or index.glosses), "test")


def test_prepare_writes_manifests_and_dataset_json(downloaded, tmp_path):
    index, videos = downloaded
    events: list[dict] = []
    meta = prepare_dataset(index, glossary_of(index), videos, tmp_path / "ds", emit=events.append)
    dataset = read_dataset(tmp_path / "ds")
    assert dataset.meta == meta
    rows = {r.video_id: r for split in dataset.splits.values() for r in split}
    # 10 instances: 1 dead, 00008 duplicates 00003 (same URL; the test copy wins), 00009 duplicates
    # 00001 (same bytes). 'cup' is left with one test clip and no training clip: dropped.
    assert set(rows) == {"00001", "00002", "00003", "00005", "00006", "00007"}
    assert {s: [r.video_id for r in dataset.splits[s]] for s in ("train", "val", "test")} == {
        "train": ["00001", "00005"], "val": ["00002", "00006"], "test": ["00003", "00007"]}
    assert meta["glosses"] == ["before", "past"] and meta["dropped_glosses"] == {"cup": "no training clips"}
    assert meta["dropped"] == {"missing": 1, "invalid": 0, "duplicate": 2, "rare_gloss": 0, "no_train_clips": 1}
    assert meta["duplicates"] == {"groups": 2, "conflicting_glosses": 2}
    assert meta["counts"]["train"] == 2 and meta["counts"]["clips"] == 6 and meta["split"]["method"] == "official"
    row = rows["00005"]
    assert (row.gloss, row.label, row.split, row.signer, row.frame_start, row.frame_end) == (
        "past", 1, "train", 1, 1, -1)
    assert row.video == str((videos / "00005.mp4").resolve())
    assert row.sha256 == hashlib.sha256((videos / "00005.mp4").read_bytes()).hexdigest()
    dropped = {d["video_id"]: d for d in map(json.loads, (tmp_path / "ds" / "dropped.jsonl").read_text().splitlines())}
    assert dropped["00004"]["kind"] == "missing" and "dead: HTTP 404" in dropped["00004"]["reason"]
    assert dropped["00008"]["kind"] == "duplicate" and "00003" in dropped["00008"]["reason"]
    assert "same bytes" in dropped["00009"]["reason"]
    assert events[-1]["event"] == "finished"


def test_the_content_hash_is_stable_and_tracks_content(downloaded, tmp_path):
    index, videos = downloaded
    glossary = glossary_of(index)
    first = prepare_dataset(index, glossary, videos, tmp_path / "one")["content_hash"]
    assert prepare_dataset(index, glossary, videos, tmp_path / "two")["content_hash"] == first
    other_seed = prepare_dataset(index, glossary, videos, tmp_path / "three",
                                 PrepareOptions(split="stratified", seed=1, min_per_gloss=2))["content_hash"]
    assert other_seed != first
    # A clip replaced by different content (re-downloaded from a changed source) changes the hash.
    (videos / "00002.mp4").write_bytes((videos / "00006.mp4").read_bytes()[:-1] + b"\x09")
    changed = prepare_dataset(index, glossary, videos, tmp_path / "four", PrepareOptions(verify=True))
    assert changed["content_hash"] != first


def test_clips_from_another_tool_are_validated_and_junk_is_refused(wl, clips, tmp_path):
    index = wl.make_index({"book": [wl.instance(f"0000{n}", f"https://example.org/{n}.mp4",
                                                split=s) for n, s in enumerate(["train", "train", "test", "val"])]})
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "00000.mp4").write_bytes(clips["a"])
    (videos / "00001.mov").write_bytes(clips["b"])
    (videos / "00002.mp4").write_bytes(clips["numbered"])
    (videos / "00003.mp4").write_bytes(JUNK_114)
    meta = prepare_dataset(index, glossary_of(index), videos, tmp_path / "ds")
    assert (meta["counts"]["train"], meta["counts"]["test"], meta["counts"]["val"]) == (2, 1, 0)
    assert meta["dropped"]["invalid"] == 1
    assert read_dataset(tmp_path / "ds").splits["test"][0].frames == 120


def fake_folder(index, folder, rng: random.Random) -> None:
    """A download folder with an ok row per instance and some duplicates in bytes (no real videos:
    prepare trusts rows whose file size matches)."""
    journal = ManifestJournal(folder)
    for inst in index.instances:
        body = f"{inst.url}#{inst.frame_start}-{inst.frame_end}".encode()
        if rng.random() < 0.1:
            body = b"shared content %d" % rng.randrange(5)
        (folder / f"{inst.video_id}.mp4").write_bytes(body)
        journal.rows[inst.video_id] = DownloadRow(
            inst.video_id, inst.gloss, inst.url, inst.host, inst.source, inst.split, "ok", path=f"{inst.video_id}.mp4",
            bytes=len(body), sha256=hashlib.sha256(body).hexdigest(), frames=40)
    journal.compact()


@pytest.mark.parametrize("method", ["official", "stratified", "signer"])
@pytest.mark.parametrize("seed", [0, 1])
def test_no_clip_and_no_content_is_ever_in_two_splits(wl, tmp_path, method, seed):
    rng = random.Random(seed)
    entries = {}
    for g in range(12):
        entries[f"g{g}"] = [wl.instance(f"{g:02d}{n:03d}", f"https://h{n % 3}.example/{rng.randrange(60)}.mp4",
                                        split=rng.choice(["train", "train", "val", "test"]), signer=rng.randrange(8))
                            for n in range(rng.randint(3, 12))]
    index = wl.make_index(entries)
    videos = tmp_path / "videos"
    videos.mkdir()
    fake_folder(index, videos, rng)
    meta = prepare_dataset(index, glossary_of(index), videos, tmp_path / "ds", PrepareOptions(split=method, seed=seed))
    dataset = read_dataset(tmp_path / "ds")
    where: dict[str, str] = {}
    for split, rows in dataset.splits.items():
        for row in rows:
            for key in (row.video_id, row.sha256, f"{row.url}#{row.frame_start}-{row.frame_end}"):
                assert where.setdefault(key, split) == split
    kept = sum(len(rows) for rows in dataset.splits.values())
    assert kept + sum(meta["dropped"].values()) == len(index.instances)
    if method == "signer":
        signers = {s: {r.signer for r in rows} for s, rows in dataset.splits.items()}
        assert not (signers["train"] & signers["test"]) and not (signers["train"] & signers["val"])
    labels = {r.gloss: r.label for rows in dataset.splits.values() for r in rows}
    assert all(meta["glosses"][label] == gloss for gloss, label in labels.items())


def test_a_stop_before_writing_writes_nothing(downloaded, tmp_path):
    index, videos = downloaded
    with pytest.raises(Stopped):
        prepare_dataset(index, glossary_of(index), videos, tmp_path / "ds", should_stop=lambda: True)
    assert not (tmp_path / "ds").exists()


def test_the_official_wlasl100_split_on_the_real_index(shared_data, tmp_path):
    index = load_index(shared_data / "wlasl" / "WLASL_v0.3.json")
    glossary = check_glossary(resolve_glossary("WLASL100", index), index).matched_glossary()
    videos = tmp_path / "videos"
    videos.mkdir()
    journal = ManifestJournal(videos)
    for inst in index.instances_of(list(glossary.glosses)):
        body = f"{inst.url}#{inst.frame_start}-{inst.frame_end}".encode()  # WLASL's reused sources collide
        (videos / f"{inst.video_id}.mp4").write_bytes(body)
        journal.rows[inst.video_id] = DownloadRow(
            inst.video_id, inst.gloss, inst.url, inst.host, inst.source, inst.split, "ok", path=f"{inst.video_id}.mp4",
            bytes=len(body), sha256=hashlib.sha256(body).hexdigest(), frames=40)
    journal.compact()
    meta = prepare_dataset(index, glossary, videos, tmp_path / "ds")
    counts = meta["counts"]
    assert meta["glosses"] == index.glosses[:100]
    assert counts["train"] + counts["val"] + counts["test"] + meta["dropped"]["duplicate"] == 2038
    # The oracle, straight from the JSON: one clip per (URL, frame range), the test copy first, then val.
    raw = json.loads((shared_data / "wlasl" / "WLASL_v0.3.json").read_text())[:100]
    sources: dict[tuple, list[str]] = {}
    for entry in raw:
        for inst in entry["instances"]:
            sources.setdefault((inst["url"], inst["frame_start"], inst["frame_end"]), []).append(inst["split"])
    expected = {s: 0 for s in ("train", "val", "test")}
    for splits in sources.values():
        expected[min(splits, key=["test", "val", "train"].index)] += 1
    assert {s: counts[s] for s in expected} == expected == {"train": 1419, "val": 338, "test": 257}
