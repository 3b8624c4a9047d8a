"""``signdesk data ...`` end to end: exit codes, one-line errors, events for the GUI, files written."""

from __future__ import annotations

import json

import pytest

from signdesk.cli import main
from signdesk.data.loopback import Route


@pytest.fixture
def small_index(wl, server, clips, tmp_path):
    urls = {n: server.add(f"/{n}.mp4", Route(body=(clips["a"] if n < 3 else clips["b"]) + bytes([n])))
            for n in range(6)}
    i = wl.instance
    path = tmp_path / "WLASL_test.json"
    wl.make_index({
        "book": [i("00000", urls[0], split="train", signer=1), i("00001", urls[1], split="val", signer=2),
                 i("00002", urls[2], split="test", signer=3)],
        "drink": [i("00003", urls[3], split="train", signer=1), i("00004", urls[4], split="val", signer=2),
                  i("00005", urls[5], split="test", signer=3), i("00006", server.url("/gone.mp4"), signer=4)],
    }, path)
    glossary = tmp_path / "mine.txt"
    glossary.write_text("# two words\nBook\ndrink\n")
    return path, glossary


def test_stats_prints_json_and_a_bad_file_is_one_line_exit_2(small_index, tmp_path, capsys):
    path, _ = small_index
    assert main(["data", "stats", "--wlasl", str(path), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["glosses"], stats["instances"], stats["splits"]["val"]) == (2, 7, 2)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert main(["data", "stats", "--wlasl", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid JSON" in err


def test_glossary_check_lists_unknown_words_and_fails(small_index, tmp_path, capsys):
    path, glossary = small_index
    assert main(["data", "glossary", "check", str(glossary), "--wlasl", str(path)]) == 0
    assert "2 of 2 words are WLASL glosses" in capsys.readouterr().out
    glossary.write_text("book\ndrnk\n")
    assert main(["data", "glossary", "check", str(glossary), "--wlasl", str(path)]) == 1
    out = capsys.readouterr().out
    assert "line 2: 'drnk'  did you mean 'drink'?" in out
    assert main(["data", "glossary", "list"]) == 0
    assert "core-320" in capsys.readouterr().out


def test_download_then_prepare_as_the_gui_runs_them(small_index, tmp_path, capsys):
    path, glossary = small_index
    videos, dataset = tmp_path / "videos", tmp_path / "dataset"
    events = tmp_path / "events.jsonl"
    code = main(["data", "download", "--wlasl", str(path), "--glossary", str(glossary), "--out", str(videos),
                 "--workers", "3", "--host-delay", "0", "--retries", "0", "--events", str(events),
                 "--stop-file", str(tmp_path / "stop")])
    assert code == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert all("time" in e for e in lines)
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "finished"
    assert lines[-1]["counts"]["ok"] == 6 and lines[-1]["counts"]["dead"] == 1
    assert "127.0.0.1" in capsys.readouterr().err  # the per-host summary

    code = main(["data", "prepare", "--wlasl", str(path), "--glossary", str(glossary), "--videos", str(videos),
                 "--out", str(dataset), "--split", "stratified", "--seed", "3", "--min-per-gloss", "3",
                 "--events", str(tmp_path / "prep.jsonl"), "--stop-file", str(tmp_path / "stop"), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["clips"] == 6 and summary["split"] == {
        "method": "stratified", "seed": 3, "ratios": {"train": 0.7, "val": 0.15, "test": 0.15},
        "min_per_gloss": 3, "keep_rare": False}
    assert {p.name for p in dataset.iterdir()} == {"train.jsonl", "val.jsonl", "test.jsonl", "dataset.json",
                                                  "dropped.jsonl"}


def test_a_stop_file_present_at_start_stops_with_exit_3(small_index, tmp_path, capsys):
    path, glossary = small_index
    stop = tmp_path / "stop"
    stop.touch()
    code = main(["data", "download", "--wlasl", str(path), "--glossary", str(glossary), "--out",
                 str(tmp_path / "videos"), "--host-delay", "0", "--stop-file", str(stop), "--no-progress"])
    assert code == 3
    assert "stopped" in capsys.readouterr().err
    assert (tmp_path / "videos" / "manifest.jsonl").read_text() == ""


def test_an_unknown_glossary_word_stops_download_before_any_request(small_index, server, tmp_path, capsys):
    path, glossary = small_index
    glossary.write_text("book\nspaceship\n")
    code = main(["data", "download", "--wlasl", str(path), "--glossary", str(glossary), "--out", str(tmp_path / "v")])
    assert code == 2 and server.hits == {}
    assert "'spaceship'" in capsys.readouterr().err


def test_trim_cuts_youtube_instances_from_whole_videos_already_downloaded(wl, clips, tmp_path, capsys):
    raw = tmp_path / "raw_videos"
    raw.mkdir()
    (raw / "bQQoICA5Ns8.mp4").write_bytes(clips["numbered"])
    path = tmp_path / "index.json"
    wl.make_index({"spider": [wl.instance("67233", "https://youtu.be/bQQoICA5Ns8", start=3, end=30),
                              wl.instance("67234", "https://example.org/not-youtube.mp4")]}, path)
    out = tmp_path / "videos"
    glossary = tmp_path / "spider.txt"
    glossary.write_text("spider\n")
    code = main(["data", "trim", "--wlasl", str(path), "--glossary", str(glossary), "--raw", str(raw),
                 "--out", str(out), "--no-progress"])
    assert code == 0
    rows = wl.manifest_rows(out)
    assert set(rows) == {"67233"} and rows["67233"]["frames"] == 28
    assert main(["data", "trim", "--wlasl", str(path), "--raw", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err



def test_fetch_index_command(server, tmp_path, capsys):
    import json as _json

    from signdesk.cli import main as cli_main
    from signdesk.data.loopback import Route

    body = _json.dumps([{"gloss": "book", "instances": []}]).encode()
    url = server.add("/WLASL_v0.3.json", Route(body=body, content_type="application/json"))
    out, events = tmp_path / "index.json", tmp_path / "events.jsonl"
    assert cli_main(["data", "fetch-index", "--url", url, "--out", str(out), "--events", str(events)]) == 0
    assert out.read_bytes() == body
    kinds = [_json.loads(line)["event"] for line in events.read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "finished" and "progress" in kinds
    assert "saved the WLASL index" in capsys.readouterr().out
    missing = server.add("/gone.json", Route(status=404))
    assert cli_main(["data", "fetch-index", "--url", missing, "--out", str(tmp_path / "x.json")]) == 2
    assert "signdesk: error:" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
