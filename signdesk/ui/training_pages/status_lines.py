"""The status line of each wizard page, computed from what is true now (no Qt here).

A page used to write its status line at the moment something happened, so a line written for an
earlier state stayed up after the state changed ("Download clips first" beside a finished download,
an old "Finished at step 12" under a new running job). Each page now calls its function below with
the current wizard and job state whenever any of it changes, and shows the result; nothing else
writes the line. ``job`` is the page's job panel status: idle, starting, running, stopping, finished,
stopped, failed or lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ACTIVE = ("starting", "running", "stopping")
FAILED_STATUSES = ("dead", "invalid", "unsupported", "error")
STATUS_NOTES = {"dead": "gone for good", "invalid": "not a usable video", "unsupported": "a format SignDesk does "
                "not fetch", "error": "may pass: tried again on the next run"}

DOWNLOAD_NEEDS = "Choose the index and a glossary without unknown words first (steps 1 and 2)."
PREPARE_NEEDS = "Download clips first (step 3)."
TRAIN_NEEDS = "Prepare a dataset first (step 4)."
EVALUATE_NEEDS = "Train an adapter first (step 5)."
GLOSSARY_NEEDS = "Choose the WLASL index first (step 1): the glossary is checked against it."


def sentence(text: str) -> str:
    """``text`` with a capital first letter (the CLI's lines start in lower case after ``signdesk:``)."""
    return text[:1].upper() + text[1:]


def duration(seconds: float | None) -> str:
    """``4 min 10 s``, ``2 h 05 min``; ``—`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


# ------------------------------------------------------------------------------------------ download
@dataclass(frozen=True)
class DownloadRun:
    """What the followed download job has reported so far (a new job starts from zero)."""

    total: int = 0
    done: int = 0
    ok: int = 0  # usable clips in this run
    failed: int = 0  # links that failed in this run
    rate: float | None = None  # clips per second
    eta_s: float | None = None


def _failed(counts: dict[str, Any]) -> int:
    return sum(int(counts.get(s, 0)) for s in FAILED_STATUSES)


def download_line(*, ready: bool, job: str, run: DownloadRun | None, summary: dict[str, Any] | None) -> str:
    """The download page's line: the run's progress, or how the last run ended, or what is missing."""
    if job in ACTIVE:
        if run is None or not run.total:
            return ""  # the panel says "Starting…" / "Running…" until the first progress event
        parts = [f"{run.ok:,} usable clips so far in this run"]
        if run.failed:
            parts.append(f"{run.failed:,} links failed")
        if run.rate:
            parts.append(f"{run.rate:.1f} clips/s")
        if job == "running":
            parts.append(f"about {duration(run.eta_s)} left" if run.eta_s is not None else "estimating the time left…")
        return " · ".join(parts)
    if not ready:
        return DOWNLOAD_NEEDS
    if not summary:
        return "Nothing downloaded yet."
    counts = summary.get("counts") or {}
    ok, failed = int(counts.get("ok", 0)), _failed(counts)
    not_done = int(summary.get("not_done", 0))
    if summary.get("offline") and summary.get("verdict"):
        return sentence(str(summary["verdict"]))  # the CLI's own sentence
    if job == "stopped" or summary.get("stopped"):
        return (f"Paused: {ok:,} usable clips of {int(summary.get('total', 0)):,}; {failed:,} links failed; "
                f"{not_done:,} not tried yet. Resume continues from here.")
    if ok == 0 and failed:
        return f"No clip downloaded: {failed:,} links failed." + (f" {not_done:,} not tried yet." if not_done else "")
    return f"{ok:,} usable clips of {int(summary.get('total', 0)):,}; {failed:,} links failed."


def download_report_line(*, summary: dict[str, Any] | None, failures: list[tuple[str, ...]] | None,
                         manifest: bool) -> str:
    """The line above the failed-links table. ``failures`` is None until the manifest was read."""
    if summary and summary.get("offline") and summary.get("verdict"):
        # Not "error 1,876 (may pass…)": every failure was the connection's, so say that.
        return sentence(str(summary["verdict"]))
    if failures is not None:
        counts: dict[str, int] = {}
        for row in failures:
            counts[row[3]] = counts.get(row[3], 0) + 1
    elif summary:
        counts = {s: int((summary.get("counts") or {}).get(s, 0)) for s in FAILED_STATUSES}
    else:
        return "Nothing downloaded yet." if not manifest else "Reading the report…"
    failed = sum(counts.values())
    if not failed:
        return "No failed links." if (manifest or summary) else "Nothing downloaded yet."
    nothing = bool(summary) and int((summary.get("counts") or {}).get("ok", 0)) == 0
    head = f"No clip downloaded: {failed:,} links failed" if nothing else f"{failed:,} links failed"
    return head + ": " + " · ".join(f"{s} {counts[s]:,} ({STATUS_NOTES[s]})" for s in FAILED_STATUSES
                                    if counts.get(s))


# ------------------------------------------------------------------------------------------ the other pages
def glossary_line(*, index_ok: bool, problem: str, pending: bool, result: dict[str, Any] | None) -> tuple[str, str]:
    """(kind, text) of the glossary page's check line; kind is ok, warn, error or "" (plain)."""
    if problem:
        return "error", problem
    if pending:
        return "", "Edited: checking soon…"
    if not index_ok:
        return "warn", GLOSSARY_NEEDS
    if result is None:
        return "", ""
    unknown = result.get("unknown") or []
    repeated = result.get("duplicates") or []
    matched, words = int(result.get("matched", 0)), int(result.get("words", 0))
    if unknown or repeated:
        parts = []
        if unknown:
            parts.append(f"{len(unknown)} of {words} words are not WLASL glosses")
        if repeated:
            parts.append(f"{len(repeated)} {'word repeats' if len(repeated) == 1 else 'words repeat'} an earlier line")
        return "error", f"{' and '.join(parts)}: fix or remove them (the list below suggests close spellings)."
    if matched < 2:
        return "warn", "A glossary needs at least two signs."
    return "ok", f"All {matched} words are WLASL glosses, with {int(result.get('instances', 0)):,} clips in the index."


def _after_job(*, job: str, ready: bool, needs: str, written: str) -> str:
    """Nothing while the job runs; what the step needs before it can run; where a finished job wrote."""
    if job in ACTIVE:
        return ""
    if not ready:
        return needs
    return written if job == "finished" else ""


def prepare_line(*, download_done: bool, job: str, prepared: bool, dataset: str) -> str:
    return _after_job(job=job, ready=download_done, needs=PREPARE_NEEDS,
                      written=f"Written to {dataset}." if prepared else "")


def prepare_summary(*, download_done: bool, prepared: bool) -> str | None:
    """The dataset summary when there is no dataset (None: the page shows the dataset's counts)."""
    if prepared:
        return None
    return "Not prepared yet." if download_done else ""


def train_note(event: dict[str, Any]) -> str | None:
    """What a training job's event says for the status line (None: the event says nothing new)."""
    kind = event.get("event")
    if kind == "start":
        return f"Resuming from {event['resume_from']}." if event.get("resume_from") else None
    if kind == "checkpoint":
        return f"Checkpoint saved at step {event.get('step')}."
    if kind == "stopping":
        return f"Stopping at step {event.get('step')}: saving a checkpoint and the adapter…"
    if kind in ("finished", "stopped"):
        metrics = event.get("metrics") or {}
        what = "Finished" if kind == "finished" else "Stopped by user"
        if metrics.get("global_step") is not None:
            what += f" at step {metrics['global_step']}"
        parts = [what]
        if event.get("adapter"):
            parts.append(f"adapter saved to {event['adapter']}")
        top1 = metrics.get("val_top1")
        best = (f" (best validation top-1 {100 * float(top1):.1f} % at step {metrics.get('best_step')})"
                if isinstance(top1, int | float) else "")
        return ": ".join(parts) + best + "."
    if kind == "failed":
        return str(event.get("error", "")) or None
    return None


def finetune_line(*, dataset_ok: bool, job: str, note: str) -> str:
    """``note``: what the page's current job last said (its checkpoints, how it ended); "" for none."""
    if job not in ACTIVE and not dataset_ok:
        return TRAIN_NEEDS
    return note


def evaluate_line(*, ready: bool, job: str, report: str) -> str:
    return _after_job(job=job, ready=ready, needs=EVALUATE_NEEDS,
                      written=f"Report written to {report}." if report else "")
