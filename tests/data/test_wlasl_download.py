"""Direct-link downloads against a loopback server that behaves like WLASL's hosts."""

from __future__ import annotations

import _thread
import itertools
import threading
import time

import pytest

from signdesk.data.download import Downloader, DownloadTask, HostScheduler, download, format_summary
from signdesk.data.loopback import JUNK_114, Route
from signdesk.data.manifest import read_download_manifest
from signdesk.data.validate import validate_clip
from signdesk.jobs.events import StopFlag


def serve(server, routes: dict[str, Route]) -> dict[str, str]:
    return {path: server.add(path, route) for path, route in routes.items()}


def test_every_kind_of_answer_gets_the_right_status(wl, server, clips, tmp_path):
    u = serve(server, {
        "/ok.mp4": Route(body=clips["a"]),
        "/junk.mp4": Route(body=JUNK_114),  # served as video/mp4, like the real junk host
        "/gone.mp4": Route(status=410),
        "/page.mp4": Route(body=b"<html>" + b"x" * 4000, content_type="text/html; charset=utf-8"),
        "/few.mp4": Route(body=clips["few"]),
        "/flaky.mp4": Route(body=clips["b"], fail_first=2),
        "/truncated.mp4": Route(body=clips["a"]),
        "/redirect": Route(redirect="/ok2.mp4"),
        "/ok2.mp4": Route(body=clips["b"]),
        "/to-ftp": Route(redirect="ftp://127.0.0.1/x.mp4"),
        "/loop": Route(redirect="/loop"),
        "/forbidden.mp4": Route(status=403),
        "/down.mp4": Route(status=500),
        "/junk-mp4.mp4": Route(body=b"\x00\x00\x00\x18ftypmp42".ljust(114, b"\x00")),  # looks like MP4
    })
    server.routes["/truncated.mp4"].truncate = True
    i = wl.instance
    index = wl.make_index({"book": [
        i("00001", u["/ok.mp4"]), i("00002", u["/junk.mp4"]), i("00003", server.url("/missing.mp4")),
        i("00004", u["/gone.mp4"]), i("00005", u["/page.mp4"]), i("00006", u["/few.mp4"]),
        i("00007", u["/flaky.mp4"]), i("00008", u["/truncated.mp4"]), i("00009", u["/redirect"]),
        i("00010", u["/to-ftp"]), i("00011", u["/loop"]), i("00012", u["/forbidden.mp4"]),
        i("00013", u["/down.mp4"]), i("00014", "http://www.aslpro.com/main/b/book.swf"),
        i("00015", "file:///etc/passwd"), i("00016", u["/junk-mp4.mp4"]),
    ]})
    out = tmp_path / "out"
    report = download(index.instances, wl.fast_options(out, retries=2))
    rows = wl.manifest_rows(out)
    status = {vid: (row["status"], row["reason"]) for vid, row in rows.items()}
    assert status["00001"] == ("ok", "")
    assert status["00002"][0] == "invalid" and "114 bytes" in status["00002"][1]
    assert status["00016"] == ("invalid", "only 114 bytes: too small to be a video (a junk placeholder)")
    assert status["00003"] == ("dead", "HTTP 404 Not Found")
    assert status["00004"] == ("dead", "HTTP 410 Gone")
    assert status["00005"] == ("invalid", "the server sent a web page (text/html), not a video")
    assert status["00006"][0] == "invalid" and "only 4 frames" in status["00006"][1]
    assert status["00007"] == ("ok", "") and rows["00007"]["attempts"] == 3
    assert status["00008"][0] == "error" and "truncated" in status["00008"][1]
    assert status["00009"] == ("ok", "")
    assert status["00010"][0] == "unsupported" and "ftp" in status["00010"][1]
    assert status["00011"][0] == "dead" and "redirect" in status["00011"][1]
    assert status["00012"] == ("dead", "HTTP 403 Forbidden")
    assert status["00013"][0] == "error" and "HTTP 500" in status["00013"][1]
    assert status["00014"][0] == "unsupported" and "swf" in status["00014"][1]
    assert status["00015"][0] == "unsupported" and "http(s)" in status["00015"][1]
    # No retries for permanent failures; the whole retry budget for transient ones.
    assert server.hit_count("/missing.mp4") == 1 and server.hit_count("/gone.mp4") == 1
    assert server.hit_count("/forbidden.mp4") == 1 and server.hit_count("/junk.mp4") == 1
    assert server.hit_count("/truncated.mp4") == 3 and server.hit_count("/down.mp4") == 3
    assert server.hit_count("/flaky.mp4") == 3
    # Only validated clips are on disk, under their video id, and the manifest describes them.
    assert sorted(p.name for p in out.glob("*.mp4")) == ["00001.mp4", "00007.mp4", "00009.mp4"]
    for vid in ("00001", "00007", "00009"):
        row = rows[vid]
        info = validate_clip(out / row["path"])
        assert (row["bytes"], row["sha256"], row["frames"]) == (info.bytes, info.sha256, info.frames) != (0, "", 0)
    assert not any((out / ".partial").iterdir())
    assert report.counts == {"ok": 3, "dead": 4, "invalid": 4, "unsupported": 3, "error": 2}
    local = report.hosts["127.0.0.1"]
    assert (local["total"], local["ok"], local["ok_rate"]) == (14, 3, round(3 / 14, 4))
    assert report.hosts["www.aslpro.com"]["unsupported"] == 1
    assert "127.0.0.1" in format_summary(report)


def test_a_host_failing_again_and_again_is_given_up_for_this_run(wl, server, clips, tmp_path):
    down = [server.add(f"/down/{n}.mp4", Route(status=503)) for n in range(8)]
    fine = server.add("/fine.mp4", Route(body=clips["a"]))
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", u) for n, u in enumerate(down)]})
    other = wl.make_index({"cup": [wl.instance("00100", fine.replace("127.0.0.1", "localhost"))]})
    report = download(index.instances + other.instances,
                      wl.fast_options(tmp_path, workers=1, per_host=1, retries=1, give_up_after=3))
    assert sum(server.hit_count(f"/down/{n}.mp4") for n in range(8)) == 3 * 2  # 3 jobs, 2 attempts each
    rows = wl.manifest_rows(tmp_path)
    skipped = [r for r in rows.values() if r["reason"].startswith("not tried")]
    assert len(skipped) == 5 and all(r["status"] == "error" for r in skipped)
    assert "127.0.0.1 failed 3 times in a row (last: HTTP 503" in skipped[0]["reason"]
    assert rows["00100"]["status"] == "ok" and report.counts["error"] == 8  # other hosts carry on
    server.reset_counts()
    download(index.instances, wl.fast_options(tmp_path, workers=1, retries=0, give_up_after=0))
    assert sum(server.hits.values()) == 8  # errors are tried again by the next run


def test_a_success_in_between_keeps_a_host_in_the_run(wl, server, clips, tmp_path):
    links = []
    for n in range(4):
        links.append(server.add(f"/bad/{n}.mp4", Route(status=503)))
        links.append(server.add(f"/good/{n}.mp4", Route(body=clips["a"] + bytes([n]))))
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", u) for n, u in enumerate(links)]})
    download(index.instances, wl.fast_options(tmp_path, workers=1, per_host=1, retries=0, give_up_after=2))
    rows = wl.manifest_rows(tmp_path)
    assert not [r for r in rows.values() if r["reason"].startswith("not tried")]
    assert sum(server.hits.values()) == 8


def test_requests_carry_a_browser_user_agent_and_a_referer(wl, server, clips, tmp_path):
    url = server.add("/ok.mp4", Route(body=clips["a"]))
    download(wl.make_index({"book": [wl.instance("00001", url)]}).instances, wl.fast_options(tmp_path))
    headers = {k.lower(): v for k, v in server.request_headers["/ok.mp4"].items()}
    assert headers["user-agent"].startswith("Mozilla/5.0")
    assert headers["referer"] == url.rsplit("/", 1)[0] + "/"


def test_a_stalled_server_times_out_and_a_slow_one_completes(wl, server, clips, tmp_path):
    stalled = server.add("/stalled.mp4", Route(body=clips["a"], stall=True))
    slow = server.add("/slow.mp4", Route(body=clips["a"], trickle_s=0.002))
    index = wl.make_index({"book": [wl.instance("00001", stalled), wl.instance("00002", slow)]})
    download(index.instances, wl.fast_options(tmp_path, timeout=0.3, retries=1))
    rows = wl.manifest_rows(tmp_path)
    assert (rows["00001"]["status"], rows["00001"]["reason"], rows["00001"]["attempts"]) == ("error", "timed out", 2)
    assert rows["00002"]["status"] == "ok"


def test_an_oversized_body_is_refused(wl, server, clips, tmp_path):
    url = server.add("/big.mp4", Route(body=clips["numbered"]))
    download(wl.make_index({"book": [wl.instance("00001", url)]}).instances,
             wl.fast_options(tmp_path, max_bytes=len(clips["numbered"]) - 1))
    row = wl.manifest_rows(tmp_path)["00001"]
    assert row["status"] == "invalid" and "larger than" in row["reason"]


def test_one_url_shared_by_instances_is_fetched_once(wl, server, clips, tmp_path):
    url = server.add("/shared.mp4", Route(body=clips["a"]))
    index = wl.make_index({"before": [wl.instance("00001", url)], "past": [wl.instance("00002", url, start=3)]})
    download(index.instances, wl.fast_options(tmp_path))
    rows = wl.manifest_rows(tmp_path)
    assert server.hit_count("/shared.mp4") == 1
    assert rows["00001"]["status"] == rows["00002"]["status"] == "ok"
    assert (tmp_path / "00001.mp4").read_bytes() == (tmp_path / "00002.mp4").read_bytes() == clips["a"]
    assert (rows["00002"]["frame_start"], rows["00002"]["frame_end"]) == (3, -1)  # range kept for the file


def test_a_second_run_skips_valid_files_and_redoes_bad_ones(wl, server, clips, tmp_path):
    urls = [server.add(f"/{n}.mp4", Route(body=clips["a" if n % 2 else "b"])) for n in range(4)]
    dead = server.url("/dead.mp4")
    index = wl.make_index({"book": [wl.instance(f"0000{n}", url) for n, url in enumerate(urls)]
                           + [wl.instance("00009", dead)]})
    download(index.instances, wl.fast_options(tmp_path))
    first = wl.manifest_rows(tmp_path)
    server.reset_counts()
    events: list[dict] = []
    report = Downloader(wl.fast_options(tmp_path), emit=events.append).run(index.instances)
    assert sum(server.hits.values()) == 0  # nothing fetched again, not even the dead link
    assert events[0]["event"] == "start" and events[0]["done"] == 5
    assert report.counts["ok"] == 4 and wl.manifest_rows(tmp_path) == first

    (tmp_path / "00001.mp4").unlink()  # a lost clip
    (tmp_path / "00002.mp4").write_bytes(clips["a"][:1500])  # a clip damaged after the fact
    report = download(index.instances, wl.fast_options(tmp_path))
    assert server.hits == {"/1.mp4": 1, "/2.mp4": 1}
    assert report.counts["ok"] == 4
    assert (tmp_path / "00002.mp4").read_bytes() == clips["b"]

    server.reset_counts()
    download(index.instances, wl.fast_options(tmp_path, retry_failed=True))
    assert server.hits == {"/dead.mp4": 1}  # asked for: dead links are tried again


def test_leftovers_of_a_killed_run_are_never_taken_for_clips(wl, server, clips, tmp_path):
    url = server.add("/a.mp4", Route(body=clips["a"]))
    good = server.add("/b.mp4", Route(body=clips["b"]))
    (tmp_path / ".partial").mkdir()
    (tmp_path / ".partial" / "00001.part").write_bytes(clips["a"][:2000])
    (tmp_path / "00001.mp4").write_bytes(clips["a"][:2000])  # renamed by some other tool, truncated
    (tmp_path / "00002.mp4").write_bytes(clips["b"])  # complete, but no manifest row yet
    (tmp_path / "manifest.jsonl").write_text('{"video_id": "00003", "status": "ok", "pa')  # torn last line
    index = wl.make_index({"book": [wl.instance("00001", url), wl.instance("00002", good)]})
    download(index.instances, wl.fast_options(tmp_path))
    rows = wl.manifest_rows(tmp_path)
    assert server.hits == {"/a.mp4": 1}  # the complete file was validated and kept, not fetched
    assert rows["00001"]["status"] == rows["00002"]["status"] == "ok"
    assert (tmp_path / "00001.mp4").read_bytes() == clips["a"]
    assert not list((tmp_path / ".partial").iterdir())


def _folder_is_consistent(folder) -> dict:
    rows = read_download_manifest(folder)
    for row in rows.values():
        if row.status == "ok":
            assert validate_clip(folder / row.path).sha256 == row.sha256
    on_disk = {p.stem for p in folder.glob("*.mp4")}
    assert on_disk == {vid for vid, row in rows.items() if row.status == "ok"}
    return rows


def test_a_stop_file_stops_cleanly_and_the_next_run_finishes(wl, server, clips, tmp_path):
    urls = [server.add(f"/{n}.mp4", Route(body=clips["a"] + bytes([n]))) for n in range(10)]
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", url) for n, url in enumerate(urls)]})
    stop_file = tmp_path / "stop"
    out = tmp_path / "out"

    def emit(event: dict) -> None:
        if event["event"] == "progress" and event["done"] == 3:
            stop_file.touch()

    events: list[dict] = []
    report = Downloader(wl.fast_options(out, workers=1), emit=lambda e: (events.append(e), emit(e)),
                        stop=StopFlag(stop_file)).run(index.instances)
    assert report.stopped and 3 <= 10 - report.not_done < 10
    assert events[-1]["event"] == "stopped" and "stop file" in events[-1]["reason"]
    rows = _folder_is_consistent(out)
    assert len(rows) == 10 - report.not_done
    stop_file.unlink()
    server.reset_counts()
    report = download(index.instances, wl.fast_options(out))
    assert not report.stopped and report.counts["ok"] == 10
    left = {f"/{n}.mp4" for n in range(10) if f"{n:05d}" not in rows}
    assert server.hits == dict.fromkeys(left, 1)  # exactly the instances the stopped run did not finish
    assert len(_folder_is_consistent(out)) == 10


def test_ctrl_c_stops_cleanly(wl, server, clips, tmp_path):
    urls = [server.add(f"/{n}.mp4", Route(body=clips["b"] + bytes([n]))) for n in range(8)]
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", url) for n, url in enumerate(urls)]})
    interrupted = threading.Event()
    stop = StopFlag()

    def emit(event: dict) -> None:
        if event["event"] == "progress" and not interrupted.is_set():
            interrupted.set()
            _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread
            stop.wait(30)  # hold this worker until the main thread has turned Ctrl-C into a stop

    report = Downloader(wl.fast_options(tmp_path, workers=1), emit=emit, stop=stop).run(index.instances)
    assert stop.reason == "interrupted (Ctrl-C)"
    assert report.stopped and report.not_done > 0
    _folder_is_consistent(tmp_path)


def test_events_are_json_ready_and_end_with_a_summary(wl, server, clips, tmp_path):
    import json

    urls = [server.add(f"/{n}.mp4", Route(body=clips["a"] + bytes([n]))) for n in range(3)]
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", u) for n, u in enumerate(urls)]
                           + [wl.instance("00009", server.url("/nope.mp4"))]})
    events: list[dict] = []
    download(index.instances, wl.fast_options(tmp_path), emit=events.append)
    json.dumps(events)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-2:] == ["summary", "finished"]
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["done"] for e in progress] == [1, 2, 3, 4] and progress[-1]["fraction"] == 1.0
    assert sorted(e["status"] for e in progress) == ["dead", "ok", "ok", "ok"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["hosts"]["127.0.0.1"]["ok"] == 3 and summary["counts"]["dead"] == 1


def test_one_host_never_gets_more_than_per_host_requests_at_once(wl, server, clips, tmp_path):
    urls = [server.add(f"/{n}.mp4", Route(body=clips["a"] + bytes([n]), latency_s=0.05)) for n in range(8)]
    index = wl.make_index({"book": [wl.instance(f"{n:05d}", u) for n, u in enumerate(urls)]})
    download(index.instances, wl.fast_options(tmp_path, workers=4, per_host=1))
    assert server.max_active == 1
    assert len(wl.manifest_rows(tmp_path)) == 8


def _job(n: int, host: str) -> DownloadTask:
    return DownloadTask(f"{host}/{n}", "http", f"http://{host}/{n}", host, [])


@pytest.mark.parametrize("per_host", [1, 2])
def test_the_scheduler_keeps_hosts_within_their_limit_and_others_busy(per_host):
    jobs = [_job(n, "a.example") for n in range(6)] + [_job(n, "b.example") for n in range(6)]
    scheduler = HostScheduler(jobs, per_host=per_host, delay=0.0, stop=StopFlag())
    lock = threading.Condition()
    active = {"a.example": 0, "b.example": 0}
    peak = {"a.example": 0, "b.example": 0}

    def worker() -> None:
        while (job := scheduler.next_job()) is not None:
            with lock:
                active[job.host] += 1
                peak[job.host] = max(peak[job.host], active[job.host])
                lock.notify_all()
                # Hold the job until more work could overlap with it (or briefly, when none can).
                lock.wait_for(lambda job=job: active[job.host] > per_host, timeout=0.05)
                active[job.host] -= 1
            scheduler.done(job)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == {"a.example": per_host, "b.example": per_host}


def test_the_scheduler_spaces_job_starts_on_one_host():
    jobs = [_job(n, "a.example") for n in range(3)]
    scheduler = HostScheduler(jobs, per_host=3, delay=0.05, stop=StopFlag())
    starts = []
    while (job := scheduler.next_job()) is not None:
        starts.append(time.monotonic())
        scheduler.done(job)
    assert len(starts) == 3
    assert all(b - a >= 0.05 for a, b in itertools.pairwise(starts))


def test_a_stop_releases_workers_waiting_for_a_busy_host():
    stop = StopFlag()
    scheduler = HostScheduler([_job(n, "a.example") for n in range(3)], per_host=1, delay=0.0, stop=stop)
    first = scheduler.next_job()
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(scheduler.next_job()))
    waiter.start()
    stop.set("test")
    scheduler.wake()
    waiter.join()
    assert first is not None and got == [None]
