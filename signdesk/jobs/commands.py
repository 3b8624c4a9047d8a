"""``signdesk job``: the child side of background jobs, a job list, and a probe job for self-checks."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from signdesk.jobs.runner import run_job_folder

    return run_job_folder(Path(args.folder), args.run_argv)  # signdesk.cli.main, set by the CLI's parser


def _list(args: argparse.Namespace) -> int:
    from signdesk.jobs.runner import list_jobs

    for job in list_jobs():
        state = job.state()
        print(f"{job.folder.name:<40} {job.kind:<10} {state.status:<9} {state.message}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    """A job that only counts: it proves the job machinery (events, log, stop file, exit codes) works."""
    from signdesk.jobs.events import EXIT_FAILED, EXIT_FINISHED, EXIT_STOPPED, EventWriter, StopFlag

    stop = StopFlag(args.stop_file)
    with EventWriter(args.events) as events:
        events.emit("start", total=args.steps)
        for step in range(1, args.steps + 1):
            if stop.is_set():
                events.emit("stopped", step=step - 1)
                print("stopped by user", flush=True)
                return EXIT_STOPPED
            time.sleep(args.delay)
            events.emit("progress", step=step, total=args.steps, fraction=step / args.steps)
            print(f"step {step}/{args.steps}", flush=True)
        if args.fail:
            print("probe job: failing on purpose (--fail)", flush=True)
            return EXIT_FAILED
        events.emit("finished", steps=args.steps, result=json.dumps({"ok": True}))
    return EXIT_FINISHED


def register(subparsers: argparse._SubParsersAction) -> None:
    job = subparsers.add_parser("job", help="background jobs (used by the app)")
    sub = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run a prepared job folder (the app starts jobs this way)")
    run.add_argument("folder")
    run.set_defaults(handler=_run)
    lst = sub.add_parser("list", help="jobs and how they ended")
    lst.set_defaults(handler=_list)
    probe = sub.add_parser("probe", help="a counting job that checks the job machinery")
    probe.add_argument("--steps", type=int, default=5)
    probe.add_argument("--delay", type=float, default=0.05)
    probe.add_argument("--fail", action="store_true", help="end with exit code 1")
    probe.add_argument("--events", help="JSON-lines progress file ('-' for stdout)")
    probe.add_argument("--stop-file", help="stop cleanly when this file appears")
    probe.set_defaults(handler=_probe)
