"""YouTube instances: yt-dlp run for real (generic extractor) against loopback, cut by frame range."""

from __future__ import annotations

import pytest

from signdesk.data import youtube
from signdesk.data.download import download
from signdesk.data.loopback import Route
from signdesk.jobs.events import Stopped
from signdesk.video.decode import probe_video, read_clip
from signdesk.video.synth import read_frame_number


def frame_numbers(path) -> list[int]:
    count = probe_video(path).frame_count
    return [read_frame_number(f) for f in read_clip(path, count).frames]


@pytest.fixture
def yt_options(wl):
    """Route loopback URLs through yt-dlp, as YouTube URLs are in real runs."""
    return lambda out, **kw: wl.fast_options(out, ytdlp_hosts=frozenset({"127.0.0.1"}), **kw)


def test_one_source_video_serves_every_instance_cut_from_it(wl, server, clips, tmp_path, yt_options):
    url = server.add("/watch/long.mp4", Route(body=clips["numbered"]))  # frames numbered 0..119
    i = wl.instance
    index = wl.make_index({
        "book": [i("00001", url, start=11, end=30), i("00002", url, start=100, end=-1)],
        "drink": [i("00003", url, start=1, end=8), i("00004", url), i("00005", url, start=200, end=240)],
    })
    out = tmp_path / "out"
    report = download(index.instances, yt_options(out))
    rows = wl.manifest_rows(out)
    assert server.hit_count("/watch/long.mp4") <= 2  # yt-dlp's probe + the download, once for all five
    assert {vid: r["status"] for vid, r in rows.items()} == {
        "00001": "ok", "00002": "ok", "00003": "ok", "00004": "ok", "00005": "invalid"}
    assert "frame_start 200 is after" in rows["00005"]["reason"]
    # Frame-exact cuts: WLASL's 1-based inclusive ranges are source frames start-1 .. end-1.
    assert frame_numbers(out / "00001.mp4") == list(range(10, 30))
    assert frame_numbers(out / "00002.mp4") == list(range(99, 120))
    assert frame_numbers(out / "00003.mp4") == list(range(0, 8))
    assert (out / "00004.mp4").read_bytes() == clips["numbered"]  # whole video: copied, not re-encoded
    for vid in ("00001", "00002", "00003", "00004"):
        assert (rows[vid]["kind"], rows[vid]["frame_start"], rows[vid]["frame_end"]) == ("youtube", 1, -1)
    assert rows["00001"]["frames"] == 20
    assert not any((out / ".raw").iterdir())  # the whole video is not kept unless asked
    assert report.counts["ok"] == 4

    server.reset_counts()
    download(index.instances, yt_options(out))
    assert server.hits == {}  # a second run fetches nothing


def test_keep_raw_keeps_the_whole_video_and_a_dead_link_is_dead(wl, server, clips, tmp_path, yt_options):
    url = server.add("/watch/v.mp4", Route(body=clips["numbered"]))
    index = wl.make_index({"book": [wl.instance("00001", url, start=5, end=20),
                                    wl.instance("00002", server.url("/watch/removed"))]})
    download(index.instances, yt_options(tmp_path, keep_raw=True))
    rows = wl.manifest_rows(tmp_path)
    assert rows["00001"]["status"] == "ok"
    assert rows["00002"]["status"] == "dead" and "404" in rows["00002"]["reason"]
    assert server.hit_count("/watch/removed") == 1  # not retried
    (raw,) = (tmp_path / ".raw").iterdir()
    assert raw.read_bytes() == clips["numbered"]


def test_trim_command_path_cuts_from_a_folder_of_whole_videos_without_touching_it(wl, clips, tmp_path):
    raw = tmp_path / "raw_videos"
    raw.mkdir()
    (raw / "bQQoICA5Ns8.mp4").write_bytes(clips["numbered"])
    index = wl.make_index({"spider": [wl.instance("67233", "https://youtu.be/bQQoICA5Ns8", start=3, end=-1),
                                      wl.instance("67234", "https://www.youtube.com/watch?v=AAAAAAAAAAA")]})
    out = tmp_path / "out"
    report = download(index.instances, wl.fast_options(out, raw_dir=raw, offline=True, keep_raw=True))
    assert frame_numbers(out / "67233.mp4") == list(range(2, 120))
    assert report.not_done == 1  # no whole video for the second: left for a real download
    assert (raw / "bQQoICA5Ns8.mp4").read_bytes() == clips["numbered"]


def test_a_stop_during_a_youtube_download_raises_stopped(server, clips, tmp_path):
    url = server.add("/watch/slow.mp4", Route(body=clips["numbered"], trickle_s=0.001))
    with pytest.raises(Stopped):
        youtube.download_source(url, tmp_path, "x", should_stop=lambda: True)


@pytest.mark.parametrize(
    ("message", "status", "transient", "words"),
    [
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", "dead", False,
         "Video unavailable"),
        ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", "dead", False, "Private"),
        ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot", "error", False, "--cookies"),
        ("ERROR: Unable to download webpage: <urlopen error timed out>", "error", True, "timed out"),
        ("ERROR: [generic] Unsupported URL: https://example.org", "unsupported", False, "Unsupported"),
        ("ERROR: [youtube] abc: HTTP Error 503: Service Unavailable", "error", True, "503"),
    ],
)
def test_ytdlp_errors_are_classified(message, status, transient, words):
    err = youtube.classify_ytdlp_error(message)
    assert (err.status, err.transient) == (status, transient)
    assert words in err.reason and "\n" not in err.reason


def test_a_missing_javascript_runtime_is_explained(monkeypatch, wl, tmp_path):
    from types import SimpleNamespace

    from yt_dlp.globals import supported_js_runtimes

    class Missing:
        info = None

    class TooOld:
        info = SimpleNamespace(name="node", version="20.1.0", supported=False)

    monkeypatch.setattr(supported_js_runtimes, "value", {"deno": Missing, "node": TooOld})
    runtimes, warning = youtube.js_runtime_status.__wrapped__()
    assert runtimes == {}
    assert "node 20.1.0 is too old" in warning and "install Deno" in warning and "Node.js 22" in warning
    err = youtube.classify_ytdlp_error("ERROR: [youtube] abc: Requested format is not available", js_missing=True)
    assert err.status == "error" and "install Deno" in err.reason

    class Fine:
        info = SimpleNamespace(name="deno", version="2.5.0", supported=True)

    monkeypatch.setattr(supported_js_runtimes, "value", {"deno": Fine, "node": TooOld})
    assert youtube.js_runtime_status.__wrapped__() == ({"deno": {}}, None)

    # The download says so once, up front, when it has YouTube work to do (stopped before any request).
    from signdesk.jobs.events import StopFlag

    monkeypatch.setattr(youtube, "js_runtime_status", lambda: ({}, "no runtime: install Deno"))
    events: list[dict] = []
    index = wl.make_index({"book": [wl.instance("00001", "https://www.youtube.com/watch?v=AAAAAAAAAAA")]})
    stop = StopFlag()
    stop.set("test: no network")
    download(index.instances, wl.fast_options(tmp_path), emit=events.append, stop=stop)
    assert [e["message"] for e in events if e["event"] == "warning"] == ["no runtime: install Deno"]
    # Cutting whole videos already on disk (``trim``) needs no runtime: no warning.
    events.clear()
    download(index.instances, wl.fast_options(tmp_path, offline=True, raw_dir=tmp_path / "none"),
             emit=events.append)
    assert [e for e in events if e["event"] == "warning"] == []
