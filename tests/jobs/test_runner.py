"""Background jobs as real child processes of ``python -m signdesk``: events, log, stop, kill, re-attach."""

from __future__ import annotations

import time

import pytest

from signdesk.jobs.runner import FAILED, FINISHED, RUNNING, STOPPED, Job, list_jobs


def wait_for_event(job: Job, name: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    seen: list[dict] = []
    while time.monotonic() < deadline:
        seen += job.new_events()
        for event in seen:
            if event["event"] == name:
                return event
        assert job.state().status == RUNNING, job.log_tail()
        time.sleep(0.05)
    raise AssertionError(f"no {name!r} event within {timeout} s; log:\n{job.log_tail()}")


def test_a_job_runs_to_the_end(tmp_path):
    job = Job.create("probe", ["job", "probe", "--steps", "3", "--delay", "0"], root=tmp_path).start()
    assert job.wait(120)
    state = job.state()
    assert (state.status, state.exit_code, state.message) == (FINISHED, 0, "finished")
    events = job.all_events()
    assert [e["event"] for e in events] == ["start", "progress", "progress", "progress", "finished"]
    assert [e["step"] for e in events if e["event"] == "progress"] == [1, 2, 3]
    assert "step 3/3" in job.log_tail()
    assert job.result_file.exists()
    assert [j.folder for j in list_jobs(tmp_path)] == [job.folder]


def test_a_failing_job_reports_its_exit_code_and_log_tail(tmp_path):
    job = Job.create("probe", ["job", "probe", "--steps", "1", "--delay", "0", "--fail"], root=tmp_path).start()
    job.wait(120)
    state = job.state()
    assert state.status == FAILED and state.exit_code == 1
    assert state.message == "failed (exit 1): probe job: failing on purpose (--fail)"


def test_bad_arguments_are_a_failure_named_bad_input(tmp_path):
    job = Job.create("probe", ["job", "probe", "--steps", "many"], root=tmp_path).start()
    job.wait(120)
    state = job.state()
    assert state.status == FAILED and state.exit_code == 2
    assert "bad input" in state.message and "invalid int value" in state.message


def test_stop_file_stops_cleanly(tmp_path):
    job = Job.create("probe", ["job", "probe", "--steps", "100000", "--delay", "0.02"], root=tmp_path).start()
    wait_for_event(job, "progress")
    state = job.stop(timeout=60)
    assert (state.status, state.exit_code, state.message) == (STOPPED, 3, "stopped by user")
    assert job.all_events()[-1]["event"] == "stopped"


def test_a_job_that_does_not_stop_is_killed(tmp_path):
    job = Job.create("probe", ["job", "probe", "--steps", "2", "--delay", "60"], root=tmp_path).start()
    wait_for_event(job, "start")
    state = job.stop(timeout=0.5)  # the probe sleeps 60 s per step: it cannot notice the stop file in time
    assert state.status == STOPPED and "forcefully" in state.message
    assert not job.is_alive()


def test_reattach_after_a_restart(tmp_path):
    started = Job.create("probe", ["job", "probe", "--steps", "100000", "--delay", "0.02"], root=tmp_path).start()
    wait_for_event(started, "progress")
    again = Job(started.folder)  # what a restarted app sees: only the folder
    assert again.state().status == RUNNING
    assert any(e["event"] == "progress" for e in again.new_events())
    again.request_stop()
    assert again.wait(60)
    assert again.state().status == STOPPED


def test_not_a_job_folder(tmp_path):
    from signdesk.errors import SignDeskError

    with pytest.raises(SignDeskError, match="not a job folder"):
        Job(tmp_path).spec()
