"""What a new user trips over in the data commands: an offline download that "succeeded", a trim that
hid a bad whole video behind "left" and an unrelated yt-dlp warning, a repeated glossary word that
hid every other problem. Downloads run against the loopback server and a closed loopback port
(a real "connection refused"), never a faked fetch."""

from __future__ import annotations

import json
import socket
import urllib.error

import pytest

from signdesk.cli import main
from signdesk.data.download import download
from signdesk.data.fetch import error_for_exception
from signdesk.data.loopback import Route
from signdesk.data.youtube import classify_ytdlp_error


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once, as offline hosts are."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_index(wl, tmp_path, urls: list[str]):
    path = tmp_path / "WLASL_test.json"
    wl.make_index({"book": [wl.instance(f"{n:05d}", url) for n, url in enumerate(urls)]}, path)
    glossary = tmp_path / "words.txt"
    glossary.write_text("book\n")
    return path, glossary


def run_download(path, glossary, out, *extra: str) -> int:
    return main(["data", "download", "--wlasl", str(path), "--glossary", str(glossary), "--out", str(out),
                 "--host-delay", "0", "--retries", "0", "--timeout", "5", "--no-progress", *extra])


# ------------------------------------------------------------------------------------------ 1 offline


def test_an_offline_download_says_so_in_one_line_and_exits_1(wl, tmp_path, closed_port, capsys):
    path, glossary = write_index(wl, tmp_path, [f"http://127.0.0.2:{closed_port}/{n}.mp4" for n in range(48)])
    out = tmp_path / "videos"
    events = tmp_path / "events.jsonl"
    assert run_download(path, glossary, out, "--events", str(events)) == 1
    err = capsys.readouterr().err
    sentence = ("you seem to be offline: 0 of 48 clips downloaded, every failure was a network error; "
                "check your connection and run the same command again (it resumes)")
    assert err.rstrip("\n").splitlines()[-1] == f"signdesk: {sentence}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["offline"] and summary["verdict"] == sentence and summary["counts"]["error"] == 48
    assert summary["tried"] == 48 and summary["network_errors"] == 48
    finished = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert finished["event"] == "finished" and finished["verdict"] == sentence  # what the wizard shows


def test_a_few_clips_among_network_errors_is_still_offline_but_dead_links_are_not(wl, server, clips, tmp_path,
                                                                                  closed_port, capsys):
    good = server.add("/good.mp4", Route(body=clips["a"]))
    refused = [f"http://127.0.0.2:{closed_port}/{n}.mp4" for n in range(47)]
    path, glossary = write_index(wl, tmp_path, [good, *refused])
    assert run_download(path, glossary, tmp_path / "v1") == 1  # 1 of 48 is under 5 %
    assert "signdesk: you seem to be offline: 1 of 48 clips downloaded" in capsys.readouterr().err

    path, glossary = write_index(wl, tmp_path, [server.url(f"/gone-{n}.mp4") for n in range(48)])
    assert run_download(path, glossary, tmp_path / "v2") == 1  # nothing usable, but the links are dead
    err = capsys.readouterr().err
    assert "offline" not in err
    assert err.rstrip("\n").splitlines()[-1] == "signdesk: no clip downloaded: 48 links failed (dead 48)"

    # one dead link among the refused ones: not every failure is a network error, so not "offline"
    path, glossary = write_index(wl, tmp_path, [server.url("/gone.mp4"), *refused])
    assert run_download(path, glossary, tmp_path / "v3") == 1
    err = capsys.readouterr().err
    assert "offline" not in err and "no clip downloaded: 48 links failed (dead 1, error 47)" in err


def test_a_download_that_got_clips_is_not_offline_and_exits_0(wl, server, clips, tmp_path, closed_port):
    urls = [server.add(f"/{n}.mp4", Route(body=clips["a"] + bytes([n]))) for n in range(3)]
    path, glossary = write_index(wl, tmp_path, [*urls, f"http://127.0.0.2:{closed_port}/x.mp4"])
    assert run_download(path, glossary, tmp_path / "v") == 0
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert not summary["offline"] and summary["verdict"] == ""


def test_a_resumed_run_judges_only_what_it_tried(wl, server, clips, tmp_path, closed_port):
    """Clips kept from an earlier run are not "downloaded" by an offline re-run."""
    from signdesk.data.download import offline_sentence

    urls = [server.add(f"/{n}.mp4", Route(body=clips["a"] + bytes([n]))) for n in range(3)]
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", u) for n, u in enumerate(urls)]})
    download(index.instances, wl.fast_options(tmp_path))
    more = wl.make_index({"book": [*(wl.instance(f"{n:05d}", u) for n, u in enumerate(urls)),
                                   wl.instance("00009", f"http://127.0.0.2:{closed_port}/9.mp4")]})
    report = download(more.instances, wl.fast_options(tmp_path))
    assert (report.tried, report.tried_ok, report.network_errors) == (1, 0, 1)
    assert report.offline and report.verdict == offline_sentence(0, 1)


def test_the_verdict_rules():
    from signdesk.data.download import run_verdict

    counts = {"ok": 0, "dead": 0, "invalid": 0, "unsupported": 0, "error": 40}
    assert run_verdict(counts, tried=40, tried_ok=0, network_errors=40, stopped=False)[0]
    assert run_verdict(counts, tried=40, tried_ok=0, network_errors=40, stopped=True) == (False, "")  # a pause
    assert not run_verdict(counts, tried=40, tried_ok=0, network_errors=39, stopped=False)[0]  # one 5xx
    many = {**counts, "ok": 3, "error": 37}
    assert run_verdict(many, tried=40, tried_ok=3, network_errors=37, stopped=False) == (False, "")  # 7.5 %
    assert run_verdict({**counts, "error": 0}, tried=0, tried_ok=0, network_errors=0, stopped=False) == (False, "")


@pytest.mark.parametrize(("exc", "network"), [
    (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), True),
    (urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known")), True),
    (urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")), True),
    (TimeoutError("timed out"), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (urllib.error.HTTPError("http://x/a.mp4", 404, "Not Found", {}, None), False),
    (urllib.error.HTTPError("http://x/a.mp4", 503, "Service Unavailable", {}, None), False),
])
def test_network_errors_are_told_apart_from_answers(exc, network):
    assert error_for_exception(exc).network is network


def test_ytdlp_network_errors_are_told_apart_from_dead_videos():
    offline = classify_ytdlp_error("ERROR: [youtube] abc: Unable to download API page: <urlopen error [Errno -3] "
                                   "Temporary failure in name resolution>")
    assert offline.status == "error" and offline.network
    assert not classify_ytdlp_error("ERROR: [youtube] abc: Video unavailable").network
    assert not classify_ytdlp_error("ERROR: HTTP Error 503: Service Unavailable").network


# ------------------------------------------------------------------------------------------ 2 trim


def test_trim_calls_a_raw_file_that_is_not_a_video_invalid_and_does_not_talk_about_yt_dlp(
        wl, clips, tmp_path, capsys, monkeypatch):
    from signdesk.data import youtube

    # As on a machine without Deno or Node 22: trimming needs no JavaScript runtime, so no warning.
    monkeypatch.setattr(youtube, "js_runtime_status", lambda: ({}, "yt-dlp found no JavaScript runtime it can use"))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bQQoICA5Ns8.mp4").write_bytes(b"\x01\x02 not a video at all " * 300)
    (raw / "Xx0Yy1Zz2Aa.mp4").write_bytes(clips["numbered"])
    path = tmp_path / "index.json"
    wl.make_index({"spider": [wl.instance("67233", "https://youtu.be/bQQoICA5Ns8", start=3, end=30),
                              wl.instance("67234", "https://youtu.be/Xx0Yy1Zz2Aa", start=3, end=30),
                              wl.instance("67235", "https://youtu.be/NoSuchVid00", start=3, end=30)]}, path)
    glossary = tmp_path / "spider.txt"
    glossary.write_text("spider\n")
    out = tmp_path / "videos"
    assert main(["data", "trim", "--wlasl", str(path), "--glossary", str(glossary), "--raw", str(raw),
                 "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "JavaScript" not in err and "yt-dlp" not in err
    rows = wl.manifest_rows(out)
    assert rows["67234"]["status"] == "ok"
    assert rows["67233"]["status"] == "invalid"
    assert rows["67233"]["reason"] == "whole video bQQoICA5Ns8.mp4: not a known video container (6600 bytes), " \
                                      "not a video"
    assert "67235" not in rows  # no whole video at all: left for a download
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["counts"]["ok"], summary["counts"]["invalid"], summary["not_done"]) == (1, 1, 1)
    assert (raw / "bQQoICA5Ns8.mp4").exists()  # the user's folder is read-only to SignDesk
    # a good copy put in its place is cut by the next run
    (raw / "bQQoICA5Ns8.mp4").write_bytes(clips["numbered"])
    assert main(["data", "trim", "--wlasl", str(path), "--glossary", str(glossary), "--raw", str(raw),
                 "--out", str(out), "--no-progress"]) == 0
    assert wl.manifest_rows(out)["67233"]["status"] == "ok"


def test_trim_with_nothing_usable_says_so_and_exits_1(wl, tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bQQoICA5Ns8.mp4").write_text("<html>not a video</html>" * 100)
    path = tmp_path / "index.json"
    wl.make_index({"spider": [wl.instance("67233", "https://youtu.be/bQQoICA5Ns8", start=3, end=30)]}, path)
    (tmp_path / "g.txt").write_text("spider\n")
    assert main(["data", "trim", "--wlasl", str(path), "--glossary", str(tmp_path / "g.txt"), "--raw", str(raw),
                 "--out", str(tmp_path / "videos"), "--no-progress"]) == 1
    assert capsys.readouterr().err.rstrip("\n").splitlines()[-1] == "signdesk: no clip cut: 1 failed (invalid 1)"


# ------------------------------------------------------------------------------------------ 4 glossary check


def test_glossary_check_reports_repeats_and_unknown_words_together(wl, tmp_path, capsys):
    path = tmp_path / "index.json"
    wl.make_index({g: [wl.instance(f"0000{n}", f"http://127.0.0.1:9/{g}.mp4")]
                   for n, g in enumerate(("book", "drink", "hello"))}, path)
    words = tmp_path / "mine.txt"
    words.write_text("hello\nbook\nBOOK\ndrnk\nhello  # again\n")
    assert main(["data", "glossary", "check", str(words), "--wlasl", str(path)]) == 1
    out = capsys.readouterr().out
    assert "line 3: 'BOOK' repeats line 2" in out and "line 5: 'hello' repeats line 1" in out
    assert "line 4: 'drnk'  did you mean 'drink'?" in out
    assert main(["data", "glossary", "check", str(words), "--wlasl", str(path), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["duplicates"] == [{"line": 3, "word": "BOOK", "first_line": 2},
                                    {"line": 5, "word": "hello", "first_line": 1}]
    assert [u["word"] for u in result["unknown"]] == ["drnk"] and result["matched"] == 2
    # a download refuses the glossary, naming both problems in its one line
    assert main(["data", "download", "--wlasl", str(path), "--glossary", str(words), "--out",
                 str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'BOOK' repeats line 2" in err and "'drnk'" in err
