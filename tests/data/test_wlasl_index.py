"""The WLASL index: validation with positions and fields, statistics, and the real file's counts."""

from __future__ import annotations

import json

import pytest

from signdesk.data import urls
from signdesk.data.index import IndexFormatError, index_stats, load_index, parse_index


@pytest.fixture
def good(wl):
    return lambda video_id, **kw: wl.instance(video_id, f"https://example.org/{video_id}.mp4", **kw)


def test_a_valid_index_loads_with_glosses_in_file_order(wl, good):
    index = wl.make_index({"book": [good("00001"), good("00002", split="test")], "drink": [good("00003")]})
    assert index.glosses == ["book", "drink"]
    assert index.class_index == {"book": 0, "drink": 1}
    assert [i.video_id for i in index.instances_of(["drink", "book"])] == ["00003", "00001", "00002"]
    assert not index.problems


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"video_id": "../../etc/passwd"}, "video_id"),
        ({"video_id": "a/b"}, "video_id"),
        ({"video_id": 12345}, "video_id"),
        ({"url": ""}, "url"),
        ({"split": "dev"}, "split"),
        ({"frame_start": 0}, "frame_start"),
        ({"frame_start": "1"}, "frame_start"),
        ({"frame_end": 0}, "frame_end"),
        ({"frame_start": 10, "frame_end": 5}, "frame_end"),
        ({"signer_id": "7"}, "signer_id"),
        ({"fps": True}, "fps"),
        ({"bbox": [1, 2, 3]}, "bbox"),
    ],
)
def test_a_malformed_instance_is_reported_with_position_and_field_and_left_out(wl, good, bad, field):
    broken = {**good("00009"), **bad}
    index = wl.make_index({"book": [good("00001")], "drink": [good("00002"), broken]})
    assert [i.video_id for i in index.instances] == ["00001", "00002"]
    (problem,) = index.problems
    assert (problem.entry, problem.instance, problem.field, problem.gloss) == (1, 1, field, "drink")
    assert str(problem).startswith(f"entry 1 ('drink'), instance 1, field '{field}':")


def test_malformed_entries_and_repeated_ids_are_reported(good):
    data = [
        {"gloss": "book", "instances": [good("00001")]},
        "not an object",
        {"gloss": "", "instances": []},
        {"gloss": "book", "instances": []},
        {"gloss": "cup", "instances": "nope"},
        {"gloss": "drink", "instances": [good("00001"), 7]},
    ]
    index = parse_index(data, None)
    found = {(p.entry, p.field) for p in index.problems}
    assert found == {(1, "entry"), (2, "gloss"), (3, "gloss"), (4, "instances"), (5, "video_id"), (5, "instances")}
    assert index.glosses == ["book", "drink"]
    assert index.class_index["drink"] == 5  # positions are kept: they are class indices


def test_file_errors_are_one_line_and_strict_mode_refuses_problems(tmp_path, good):
    with pytest.raises(IndexFormatError, match="no such file"):
        load_index(tmp_path / "missing.json")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"gloss": "book",')
    with pytest.raises(IndexFormatError, match="not valid JSON at line 1"):
        load_index(bad_json)
    not_list = tmp_path / "dict.json"
    not_list.write_text("{}")
    with pytest.raises(IndexFormatError, match="JSON list"):
        load_index(not_list)
    path = tmp_path / "index.json"
    path.write_text(json.dumps([{"gloss": "book", "instances": [good("00001"), {**good("00002"), "split": "x"}]}]))
    assert len(load_index(path).instances) == 1
    with pytest.raises(IndexFormatError, match=r"entry 0 \('book'\), instance 1, field 'split'"):
        load_index(path, strict=True)


def test_stats_count_splits_hosts_signers_and_youtube(wl, good):
    instance = wl.instance
    index = wl.make_index({
        "book": [good("00001", signer=1), instance("00002", "https://www.youtube.com/watch?v=abcdefghijk",
                                                   split="val", signer=2, start=5, end=50)],
        "drink": [instance("00003", "https://youtu.be/abcdefghijk", split="test", signer=2),
                  instance("00004", "http://www.aslpro.com/x.swf", signer=3)],
    })
    stats = index_stats(index)
    assert stats["glosses"] == 2 and stats["instances"] == 4 and stats["signers"] == 3
    assert stats["splits"] == {"train": 2, "val": 1, "test": 1}
    assert stats["hosts"] == {"example.org": 1, "www.youtube.com": 1, "youtu.be": 1, "www.aslpro.com": 1}
    assert stats["youtube"] == {"instances": 2, "videos": 1, "trimmed": 1}


def test_url_helpers_refuse_what_must_not_be_fetched():
    assert urls.youtube_id("https://www.youtube.com/watch?v=ZEyH-t5ALCs&t=3") == "ZEyH-t5ALCs"
    assert urls.youtube_id("https://youtu.be/bQQoICA5Ns8") == "bQQoICA5Ns8"
    assert urls.youtube_id("https://www.youtube.com/embed/bQQoICA5Ns8") == "bQQoICA5Ns8"
    assert urls.youtube_id("https://www.youtube.com/watch?v=../../x") is None
    assert urls.youtube_id("https://evil.example/watch?v=bQQoICA5Ns8") is None
    assert urls.url_problem("https://example.org/a.mp4") is None
    for bad in ("file:///etc/passwd", "ftp://example.org/a.mp4", "javascript:alert(1)", "http:///nohost",
                "http://exa mple.org/a.mp4", "http://example.org:99999/a"):
        assert urls.url_problem(bad), bad
    assert urls.url_key("http://WWW.Example.org/a.mp4") == urls.url_key("https://www.example.org/a.mp4")
    assert urls.url_key("https://youtu.be/bQQoICA5Ns8") == urls.url_key(
        "https://www.youtube.com/watch?v=bQQoICA5Ns8")
    assert not urls.is_safe_video_id("..") and not urls.is_safe_video_id("a.b") and urls.is_safe_video_id("00123")


def test_the_real_index_has_the_published_counts(shared_data):
    index = load_index(shared_data / "wlasl" / "WLASL_v0.3.json", strict=True)
    stats = index_stats(index)
    assert stats["glosses"] == 2000
    assert stats["instances"] == 21083
    assert stats["splits"] == {"train": 14289, "val": 3916, "test": 2878}
    assert stats["signers"] == 119
    assert stats["youtube"]["instances"] == 5135 and stats["youtube"]["videos"] == 3250
    assert stats["hosts"]["www.youtube.com"] == 4321 and stats["hosts"]["www.aslpro.com"] == 1736
    assert not stats["problems"]
