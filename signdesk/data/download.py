"""``signdesk data download``: fetch, validate and (for YouTube) trim the clips of a glossary.

Work is planned as jobs, one per distinct source: a YouTube video is downloaded once for all the
instances cut from it, and a direct URL shared by several instances is fetched once. A fixed pool
of worker threads takes jobs from ``HostScheduler``, which lets at most ``per_host`` jobs run
against one host at a time and spaces their starts by ``host_delay`` seconds, while other hosts
keep the remaining workers busy. Every file lands under a temporary name, is validated, and only
then renamed to ``<video_id>.<ext>``; so an existing final file is always a complete one, and a
second run skips it. Each finished instance is appended to the manifest at once (see
``signdesk.data.manifest``), so a stop (Ctrl-C or the stop file) or even a crash leaves a
consistent manifest; instances not finished are simply not in it and are done by the next run.

The report ends with a verdict when a run got nothing worth keeping: "you seem to be offline" when
(almost) nothing came and every failure was a network error (so the user checks the connection
rather than blaming WLASL's dead links), or "no clip downloaded" when every link failed; the CLI
then exits 1.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signdesk import paths
from signdesk.atomicio import atomic_write_json
from signdesk.data import urls
from signdesk.data.events import Emit, no_events
from signdesk.data.fetch import USER_AGENT, FetchError, build_opener, fetch_to_file
from signdesk.data.index import Instance
from signdesk.data.manifest import DOWNLOAD_SUMMARY, STATUSES, DownloadRow, ManifestJournal
from signdesk.data.validate import (
    MIN_BYTES,
    MIN_FRAMES,
    ClipInfo,
    InvalidVideo,
    check_header,
    clip_files,
    suffix_for,
    validate_clip,
)
from signdesk.jobs.events import StopFlag, Stopped

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"  # temporary files, inside the output folder so renames stay on one disk
RAW_DIR = ".raw"  # whole YouTube videos waiting to be trimmed
FAILED = ("dead", "invalid", "unsupported")  # final verdicts that a plain re-run does not retry
OFFLINE_SHARE = 0.05  # below this share of usable clips, a run whose failures are all network errors is "offline"


@dataclass
class DownloadOptions:
    out: Path
    workers: int = 4
    per_host: int = 2  # jobs at once against one host
    host_delay: float = 0.5  # seconds between job starts on one host
    retries: int = 3  # extra attempts after a transient failure
    backoff: float = 2.0  # seconds before the first retry, doubled each time (plus jitter)
    timeout: float = 30.0  # socket timeout per request
    min_frames: int = MIN_FRAMES
    min_bytes: int = MIN_BYTES
    max_bytes: int = 500 << 20
    keep_raw: bool = False  # keep whole YouTube videos after trimming
    retry_failed: bool = False  # try again instances recorded as dead, invalid or unsupported
    give_up_after: int = 5  # failed jobs in a row after which a host is not tried again this run
    ytdlp_hosts: frozenset[str] = urls.YOUTUBE_HOSTS  # hosts fetched with yt-dlp instead of urllib
    cookies: Path | None = None  # a cookies.txt for yt-dlp
    user_agent: str = USER_AGENT
    raw_dir: Path | None = None  # whole YouTube videos from elsewhere (read-only; default <out>/.raw)
    offline: bool = False  # fetch nothing: only cut the whole videos already in the raw folder


@dataclass
class DownloadTask:
    """One source to fetch and the instances it serves (one unit of a download run, not a background job)."""

    key: str
    kind: str  # http | youtube
    url: str
    host: str
    instances: list[Instance]

    @property
    def group(self) -> str:
        return urls.host_group(self.host)


@dataclass
class DownloadReport:
    total: int
    counts: dict[str, int]  # per status, over the planned instances
    hosts: dict[str, dict[str, Any]]  # per host: counts per status, total, ok_rate
    stopped: bool
    not_done: int  # planned instances without a row (stopped before them)
    elapsed_s: float
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    tried: int = 0  # instances this run worked on (not skipped as done, not refused by their URL alone)
    tried_ok: int = 0  # of those, usable clips
    network_errors: int = 0  # of those, failures where no server answered (DNS, refused, reset, timeout)
    offline: bool = False  # nothing (or under 5 %) usable and every failure a network error
    verdict: str = ""  # one line for a run that got nothing worth keeping (the CLI then exits 1)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "counts": self.counts, "hosts": self.hosts, "stopped": self.stopped,
                "not_done": self.not_done, "elapsed_s": round(self.elapsed_s, 3), "bytes": self.bytes,
                "warnings": self.warnings, "tried": self.tried, "tried_ok": self.tried_ok,
                "network_errors": self.network_errors, "offline": self.offline, "verdict": self.verdict}


def offline_sentence(ok: int, tried: int) -> str:
    """What the CLI and the wizard both say about a run that only met network errors."""
    return (f"you seem to be offline: {ok:,} of {tried:,} clips downloaded, every failure was a network error; "
            "check your connection and run the same command again (it resumes)")


def run_verdict(counts: dict[str, int], *, tried: int, tried_ok: int, network_errors: int, stopped: bool,
                cut_only: bool = False) -> tuple[bool, str]:
    """(offline, verdict) of a run; the verdict is "" unless the run got nothing worth keeping.

    Offline: under OFFLINE_SHARE of this run's clips usable and every failure of this run a network
    error. Dead links (404/410), junk files or a refused format are the sites' fault, not the
    connection's, so a run with any of them is never called offline.
    """
    if stopped:
        return False, ""  # a pause is not a verdict: the next run goes on
    failed = tried - tried_ok
    if failed > 0 and network_errors == failed and tried_ok < OFFLINE_SHARE * tried:
        return True, offline_sentence(tried_ok, tried)
    failures = {s: n for s, n in counts.items() if s != "ok" and n}
    if counts.get("ok", 0) == 0 and failures:
        parts = ", ".join(f"{s} {n:,}" for s, n in failures.items())
        total = sum(failures.values())
        if cut_only:
            return False, f"no clip cut: {total:,} failed ({parts})"
        return False, f"no clip downloaded: {total:,} links failed ({parts})"
    return False, ""


class HostScheduler:
    """Hands out jobs so that each host gets at most ``per_host`` at once, spaced by ``delay``.

    Workers block in ``next_job`` only while every host with work left is busy or cooling down;
    ``None`` means no work is left, or a stop was requested.
    """

    def __init__(self, jobs: Iterable[DownloadTask], per_host: int, delay: float, stop: StopFlag) -> None:
        self._queues: dict[str, deque[DownloadTask]] = {}
        for job in jobs:
            self._queues.setdefault(job.group, deque()).append(job)
        self._active: Counter[str] = Counter()
        self._next_start: dict[str, float] = {}
        self._per_host = max(1, per_host)
        self._delay = max(0.0, delay)
        self._stop = stop
        self._cond = threading.Condition()
        self._turn = 0

    def next_job(self) -> DownloadTask | None:
        with self._cond:
            while True:
                if self._stop.is_set():
                    self._cond.notify_all()
                    return None
                groups = [g for g, q in self._queues.items() if q]
                if not groups:
                    return None
                now = time.monotonic()
                wait = None
                self._turn += 1
                # Rotate the starting host so that every host gets its turn.
                for g in groups[self._turn % len(groups):] + groups[: self._turn % len(groups)]:
                    if self._active[g] >= self._per_host:
                        continue
                    ready_at = self._next_start.get(g, 0.0)
                    if ready_at > now:
                        wait = ready_at - now if wait is None else min(wait, ready_at - now)
                        continue
                    self._active[g] += 1
                    self._next_start[g] = now + self._delay
                    return self._queues[g].popleft()
                # Nothing can start now: wake on a finished job, a host's delay, or (twice a second) a stop.
                self._cond.wait(min(wait, 0.5) if wait is not None else 0.5)

    def done(self, job: DownloadTask) -> None:
        with self._cond:
            self._active[job.group] -= 1
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan_jobs(instances: list[Instance], previous: dict[str, DownloadRow], options: DownloadOptions
              ) -> tuple[list[DownloadTask], list[DownloadRow], list[DownloadRow]]:
    """Split instances into jobs to run, rows already done (skipped), and rows decided without a request."""
    jobs: dict[str, DownloadTask] = {}
    done: list[DownloadRow] = []
    decided: list[DownloadRow] = []
    for inst in instances:
        prev = previous.get(inst.video_id)
        if prev is not None and prev.url == inst.url:
            if prev.status == "ok" and prev.path and _file_matches(options.out / prev.path, prev.bytes):
                done.append(prev)
                continue
            if prev.status in FAILED and not options.retry_failed:
                done.append(prev)
                continue
        problem = urls.url_problem(inst.url)
        if problem is None and urls.url_suffix(inst.url) == ".swf":
            problem = "a Flash .swf animation (aslpro): SignDesk does not download Flash"
        if problem is not None:
            decided.append(_row(inst, "unsupported", problem))
            continue
        host = urls.host_of(inst.url)
        if host in options.ytdlp_hosts:
            ytid = urls.youtube_id(inst.url)
            key = f"youtube:{ytid}" if ytid else "ytdlp:" + hashlib.sha1(inst.url.encode()).hexdigest()[:16]
            kind = "youtube"
        else:
            key, kind = urls.url_key(inst.url), "http"
        job = jobs.get(key)
        if job is None:
            jobs[key] = DownloadTask(key, kind, inst.url, host, [inst])
        else:
            job.instances.append(inst)
    return list(jobs.values()), done, decided


def _file_matches(path: Path, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False


def _row(inst: Instance, status: str, reason: str = "", *, kind: str = "http", attempts: int = 0,
         path: str | None = None, info: ClipInfo | None = None, frame_start: int | None = None,
         frame_end: int | None = None) -> DownloadRow:
    return DownloadRow(
        video_id=inst.video_id, gloss=inst.gloss, url=inst.url, host=inst.host, source=inst.source,
        split=inst.split, status=status, reason=reason, path=path,
        bytes=info.bytes if info else 0, sha256=info.sha256 if info else "",
        frames=info.frames if info else 0, fps=round(info.fps, 3) if info else 0.0,
        width=info.width if info else 0, height=info.height if info else 0,
        frame_start=inst.frame_start if frame_start is None else frame_start,
        frame_end=inst.frame_end if frame_end is None else frame_end,
        kind=kind, attempts=attempts, updated=_now(),
    )


class Downloader:
    """Runs the planned jobs on a worker pool; see the module docstring for the guarantees."""

    def __init__(self, options: DownloadOptions, *, emit: Emit = no_events, stop: StopFlag | None = None,
                 on_row: Callable[[DownloadRow], None] | None = None) -> None:
        self.options = options
        self.emit = emit
        self.stop = stop or StopFlag()
        self.on_row = on_row
        self.out = options.out
        self.partial = self.out / PARTIAL_DIR
        self.raw = options.raw_dir or self.out / RAW_DIR
        self._own_raw = options.raw_dir is None  # never delete files from a folder the user gave us
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._bytes = 0
        self._recorded: set[str] = set()
        self._host_failures: Counter[str] = Counter()  # failed jobs in a row, per politeness group
        self._host_last_error: dict[str, str] = {}
        self._host_last_network: dict[str, bool] = {}
        self._tried = 0  # rows of this run that needed the job to run (see DownloadReport.tried)
        self._tried_ok = 0
        self._network_errors = 0
        self._opener = build_opener()
        self.journal: ManifestJournal | None = None

    # ----------------------------------------------------------------------------------- running
    def run(self, instances: list[Instance]) -> DownloadReport:
        started = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        self._clean_partials()
        self.journal = ManifestJournal(self.out)
        jobs, done, decided = plan_jobs(instances, self.journal.rows, self.options)
        self._total = len(instances)
        self._done = len(done)
        warnings: list[str] = []
        if not self.options.offline and any(job.kind == "youtube" and job.key.startswith("youtube:")
                                            for job in jobs):
            # Only a run that downloads from YouTube needs yt-dlp's JavaScript runtime; trimming whole
            # videos already on disk does not, so it does not warn about it.
            from signdesk.data.youtube import js_runtime_status

            warning = js_runtime_status()[1]
            if warning:
                warnings.append(warning)
                self.emit({"event": "warning", "message": warning})
        self.emit({"event": "start", "command": "download", "out": str(self.out), "total": self._total,
                   "done": self._done, "jobs": len(jobs), "workers": self.options.workers})
        for row in decided:
            self._record(row, tried=False)
        scheduler = HostScheduler(jobs, self.options.per_host, self.options.host_delay, self.stop)
        threads = [threading.Thread(target=self._work, args=(scheduler,), name=f"download-{i}", daemon=True)
                   for i in range(max(1, min(self.options.workers, len(jobs))))] if jobs else []
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)  # a timed join keeps Ctrl-C deliverable on every platform
        except KeyboardInterrupt:
            self.stop.set("interrupted (Ctrl-C)")
            scheduler.wake()
            for thread in threads:
                thread.join()
        self.journal.compact()
        report = self._report(instances, started, warnings)
        atomic_write_json(self.out / DOWNLOAD_SUMMARY, report.to_json())
        self.emit({"event": "summary", **report.to_json()})
        self.emit({"event": "stopped" if report.stopped else "finished", "reason": self.stop.reason,
                   "counts": report.counts, "not_done": report.not_done, "offline": report.offline,
                   "verdict": report.verdict})
        return report

    def _work(self, scheduler: HostScheduler) -> None:
        while True:
            job = scheduler.next_job()
            if job is None:
                return
            try:
                self._run_job(job)
            except Stopped:
                pass
            except OSError as exc:  # a local problem (disk full, permissions): stop everything, say why
                log.exception("download job %s failed", job.key)
                self.stop.set(f"local error: {exc}")
            except Exception as exc:  # a bug must not take the other jobs down; it is recorded and logged
                log.exception("download job %s failed", job.key)
                for inst in job.instances:
                    if not self._has_row(inst):
                        self._record(_row(inst, "error", f"internal error: {type(exc).__name__}: {exc}",
                                          kind=job.kind))
            finally:
                scheduler.done(job)

    def _has_row(self, inst: Instance) -> bool:
        with self._lock:
            return inst.video_id in self._recorded

    def _record_all(self, instances: list[Instance], status: str, reason: str, *, network: bool = False,
                    **row: Any) -> None:
        """The same verdict for every instance a source serves (one URL can serve several)."""
        for inst in instances:
            self._record(_row(inst, status, reason, **row), network=network)

    def _record(self, row: DownloadRow, *, network: bool = False, tried: bool = True) -> None:
        """Journal one finished instance. ``network``: it failed without any server answering;
        ``tried``: it needed a job (a URL refused on sight tells nothing about the connection)."""
        assert self.journal is not None
        self.journal.record(row)
        network = network and row.status == "error"
        with self._lock:
            self._recorded.add(row.video_id)
            self._done += 1
            self._bytes += row.bytes
            if tried:
                self._tried += 1
                self._tried_ok += row.status == "ok"
                self._network_errors += network
            done = self._done
        if self.on_row:
            self.on_row(row)
        self.emit({"event": "progress", "done": done, "total": self._total,
                   "fraction": round(done / self._total, 4) if self._total else 1.0,
                   "video_id": row.video_id, "gloss": row.gloss, "status": row.status, "reason": row.reason,
                   "host": row.host, "network": network})

    # -------------------------------------------------------------------------------- one job
    def _run_job(self, job: DownloadTask) -> None:
        remaining = [inst for inst in job.instances if not self._adopt_existing(inst, job.kind)]
        if not remaining:
            return
        with self._lock:
            failures, last = self._host_failures[job.group], self._host_last_error.get(job.group, "")
            network = self._host_last_network.get(job.group, False)
        if failures >= self.options.give_up_after > 0:
            # A dead or blocking host: do not spend retries and timeouts on each of its links.
            reason = f"not tried: {job.host} failed {failures} times in a row (last: {last}); run again later"
            self._record_all(remaining, "error", reason, kind=job.kind, network=network)
            return
        if job.kind == "youtube":
            self._run_youtube(job, remaining)
        else:
            self._run_http(job, remaining)

    def _adopt_existing(self, inst: Instance, kind: str) -> bool:
        """A clip already in the folder (from an earlier run or another tool) is validated and kept."""
        for path in clip_files(self.out, inst.video_id):
            fs, fe = (1, -1) if kind == "youtube" else (inst.frame_start, inst.frame_end)
            try:
                info = validate_clip(path, min_frames=self.options.min_frames,
                                     min_bytes=self.options.min_bytes, frame_start=fs, frame_end=fe)
            except InvalidVideo:
                path.unlink(missing_ok=True)  # never let a bad file pass for a clip
                continue
            self._record(_row(inst, "ok", "", kind=kind, path=path.name, info=info,
                              frame_start=fs, frame_end=fe))
            return True
        return False

    def _retrying(self, action: Callable[[], Any], what: str) -> tuple[Any, int]:
        """Run ``action`` with retries for transient failures; returns (result, attempts)."""
        attempt = 0
        while True:
            attempt += 1
            if self.stop.is_set():
                raise Stopped()
            try:
                return action(), attempt
            except FetchError as exc:
                exc.attempts = attempt  # type: ignore[attr-defined]
                if not exc.transient or attempt > self.options.retries:
                    raise
                delay = exc.retry_after
                if delay is None:
                    delay = self.options.backoff * (2 ** (attempt - 1)) * (1 + 0.25 * random.random())
                log.info("%s: %s; retrying in %.1f s", what, exc.reason, delay)
                if self.stop.wait(delay):
                    raise Stopped() from None

    def _host_result(self, job: DownloadTask, error: FetchError | None) -> None:
        """Count failed jobs in a row per host; only errors (not a dead link) say the host is in trouble."""
        with self._lock:
            if error is None or error.status != "error":
                self._host_failures[job.group] = 0
            else:
                self._host_failures[job.group] += 1
                self._host_last_error[job.group] = error.reason
                self._host_last_network[job.group] = error.network

    def _run_http(self, job: DownloadTask, remaining: list[Instance]) -> None:
        opts = self.options
        tmp = self.partial / f"{remaining[0].video_id}.part"

        def fetch() -> Any:
            result = fetch_to_file(job.url, tmp, timeout=opts.timeout, max_bytes=opts.max_bytes,
                                   user_agent=opts.user_agent, opener=self._opener,
                                   should_stop=self.stop.is_set)
            try:
                check_header(tmp, min_bytes=opts.min_bytes)
            except InvalidVideo as exc:
                raise FetchError(exc.status, exc.reason) from None
            return result

        try:
            try:
                _, attempts = self._retrying(fetch, job.url)
            except FetchError as exc:
                self._host_result(job, exc)
                self._record_all(remaining, exc.status, exc.reason, attempts=getattr(exc, "attempts", 1),
                                 network=exc.network)
                return
            self._host_result(job, None)
            try:
                info = validate_clip(tmp, min_frames=1, min_bytes=opts.min_bytes)
            except InvalidVideo as exc:
                self._record_all(remaining, exc.status, exc.reason, attempts=attempts)
                return
            suffix = suffix_for(info.container)
            for pos, inst in enumerate(remaining):
                problem = _range_problem(inst.frame_start, inst.frame_end, info.frames, opts.min_frames)
                if problem:
                    self._record(_row(inst, "invalid", problem, attempts=attempts))
                    continue
                final = self.out / f"{inst.video_id}{suffix}"
                if pos == len(remaining) - 1:
                    tmp.replace(final)
                else:  # several instances share this URL: each gets its own file
                    copy_tmp = self.partial / f"{inst.video_id}.copy"
                    shutil.copyfile(tmp, copy_tmp)
                    copy_tmp.replace(final)
                self._record(_row(inst, "ok", attempts=attempts, path=final.name, info=info))
        finally:
            tmp.unlink(missing_ok=True)

    def _run_youtube(self, job: DownloadTask, remaining: list[Instance]) -> None:
        from signdesk.data.trim import TrimRange, trim_ranges
        from signdesk.data.youtube import download_source

        opts = self.options
        stem = job.key.split(":", 1)[1]  # a validated YouTube id, or a hash of the URL
        problems: list[str] = []
        source, attempts = self._existing_raw(stem, problems), 0
        if source is None and opts.offline:
            if problems:  # the whole video is there but unusable: say so, do not count it as "left"
                self._record_all(remaining, "invalid", problems[0], kind="youtube")
            return  # no whole video to cut: left for a later download
        if source is None:
            try:
                source, attempts = self._retrying(lambda: download_source(
                    job.url, self.raw, stem, timeout=opts.timeout, should_stop=self.stop.is_set,
                    cookies=opts.cookies, cache_dir=paths.cache_dir() / "yt-dlp"), job.url)
            except FetchError as exc:
                self._host_result(job, exc)
                if exc.status != "error" and self._own_raw:  # final verdict: no resume needed
                    for leftover in self.raw.glob(f"{stem}.*"):
                        leftover.unlink(missing_ok=True)
                self._record_all(remaining, exc.status, exc.reason, kind="youtube",
                                 attempts=getattr(exc, "attempts", 1), network=exc.network)
                return
            self._host_result(job, None)
        try:
            source_info = validate_clip(source, min_frames=1, min_bytes=opts.min_bytes)
        except InvalidVideo as exc:
            if self._own_raw:
                source.unlink(missing_ok=True)
            self._record_all(remaining, exc.status, f"downloaded video: {exc.reason}", kind="youtube",
                             attempts=attempts)
            return
        whole = [i for i in remaining if i.whole_video]
        cut = [i for i in remaining if not i.whole_video]
        for inst in whole:  # the clip is the whole video: a copy, no re-encoding
            final = self.out / f"{inst.video_id}{source.suffix}"
            copy_tmp = self.partial / f"{inst.video_id}.copy"
            copy_tmp.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy_tmp)
            self._finish_clip(inst, copy_tmp, final, attempts)
        if cut:
            ranges = [TrimRange(i.video_id, i.frame_start, i.frame_end, self.partial / f"{i.video_id}.mp4")
                      for i in cut]
            try:
                results = trim_ranges(source, ranges, should_stop=self.stop.is_set)
            except InterruptedError:
                raise Stopped() from None
            for inst in cut:
                result = results[inst.video_id]
                if result.error or result.dest is None:
                    reason = result.error or "nothing to cut"
                    self._record(_row(inst, "invalid", f"{reason} (source has {source_info.frames} frames)",
                                      kind="youtube", attempts=attempts))
                    continue
                self._finish_clip(inst, result.dest, self.out / f"{inst.video_id}.mp4", attempts,
                                  note=f"source ended at frame {source_info.frames}" if result.short else "")
        if self._own_raw and not opts.keep_raw and not self.stop.is_set():
            source.unlink(missing_ok=True)

    def _finish_clip(self, inst: Instance, tmp: Path, final: Path, attempts: int, note: str = "") -> None:
        """Validate a cut or copied clip under its temporary name, then rename it into place."""
        try:
            info = validate_clip(tmp, min_frames=self.options.min_frames, min_bytes=self.options.min_bytes)
        except InvalidVideo as exc:
            tmp.unlink(missing_ok=True)
            self._record(_row(inst, exc.status, f"clip {exc.reason}", kind="youtube", attempts=attempts))
            return
        tmp.replace(final)
        self._record(_row(inst, "ok", note, kind="youtube", attempts=attempts, path=final.name, info=info,
                          frame_start=1, frame_end=-1))

    def _existing_raw(self, stem: str, problems: list[str] | None = None) -> Path | None:
        """A whole source video kept from an earlier run (yt-dlp renames .part files only when complete).

        Files that are there but not usable videos are skipped; why goes into ``problems``."""
        if not self.raw.is_dir():
            return None
        for path in sorted(self.raw.glob(f"{stem}.*")):
            if path.suffix in (".part", ".ytdl", ".tmp") or ".part" in path.suffixes:
                continue
            try:
                validate_clip(path, min_frames=1, min_bytes=self.options.min_bytes)
            except InvalidVideo as exc:
                if problems is not None:
                    problems.append(f"whole video {path.name}: {exc.reason}")
                if self._own_raw:
                    path.unlink(missing_ok=True)
                continue
            return path
        return None

    def _clean_partials(self) -> None:
        """Leftovers of an interrupted run are never taken for clips: remove them before starting."""
        if self.partial.is_dir():
            for path in self.partial.iterdir():
                if path.is_file():
                    path.unlink(missing_ok=True)
        for path in self.out.glob(".*.trimming.*"):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------- report
    def _report(self, instances: list[Instance], started: float, warnings: list[str]) -> DownloadReport:
        assert self.journal is not None
        rows = self.journal.rows
        counts = dict.fromkeys(STATUSES, 0)
        hosts: dict[str, dict[str, Any]] = {}
        not_done = 0
        for inst in instances:
            row = rows.get(inst.video_id)
            host = hosts.setdefault(inst.host or "(none)", {**dict.fromkeys(STATUSES, 0), "not_done": 0})
            if row is None or row.url != inst.url:
                not_done += 1
                host["not_done"] += 1
                continue
            counts[row.status] += 1
            host[row.status] += 1
        for host in hosts.values():
            host["total"] = sum(host[s] for s in STATUSES) + host["not_done"]
            host["ok_rate"] = round(host["ok"] / host["total"], 4) if host["total"] else 0.0
        ordered = dict(sorted(hosts.items(), key=lambda kv: (-kv[1]["total"], kv[0])))
        stopped = self.stop.is_set()
        offline, verdict = run_verdict(counts, tried=self._tried, tried_ok=self._tried_ok,
                                       network_errors=self._network_errors, stopped=stopped,
                                       cut_only=self.options.offline)
        return DownloadReport(len(instances), counts, ordered, stopped, not_done, time.monotonic() - started,
                              self._bytes, warnings, tried=self._tried, tried_ok=self._tried_ok,
                              network_errors=self._network_errors, offline=offline, verdict=verdict)


def _range_problem(frame_start: int, frame_end: int, frames: int, min_frames: int) -> str:
    if frame_start > frames:
        return f"frame_start {frame_start} is after the clip's last frame ({frames})"
    last = frames if frame_end == -1 else min(frame_end, frames)
    if last - frame_start + 1 < min_frames:
        return f"only {last - frame_start + 1} frames in the sign's range (at least {min_frames} needed)"
    return ""


def format_summary(report: DownloadReport) -> str:
    """The end-of-run table for the terminal: success rate per host."""
    lines = [f"{'host':<40} {'total':>6} {'ok':>6} {'dead':>6} {'invalid':>7} {'unsupp.':>7} {'error':>6} "
             f"{'left':>5} {'ok %':>6}"]
    for host, c in report.hosts.items():
        lines.append(f"{host[:40]:<40} {c['total']:>6} {c['ok']:>6} {c['dead']:>6} {c['invalid']:>7} "
                     f"{c['unsupported']:>7} {c['error']:>6} {c['not_done']:>5} {100 * c['ok_rate']:>5.1f}%")
    counts = report.counts
    ok_rate = 100 * counts["ok"] / report.total if report.total else 0.0
    lines.append(f"{'all':<40} {report.total:>6} {counts['ok']:>6} {counts['dead']:>6} "
                 f"{counts['invalid']:>7} {counts['unsupported']:>7} {counts['error']:>6} "
                 f"{report.not_done:>5} {ok_rate:>5.1f}%")
    return "\n".join(lines)


def download(instances: list[Instance], options: DownloadOptions, *, emit: Emit = no_events,
             stop: StopFlag | None = None) -> DownloadReport:
    """Download, validate and trim ``instances`` into ``options.out``; see ``Downloader``."""
    return Downloader(options, emit=emit, stop=stop).run(instances)
