"""The job contract's readers and stop request: ``EventTail``, ``LogTail``, ``StopFlag``."""

from __future__ import annotations

import json
import threading
import time

from signdesk.jobs.events import EventTail, EventWriter, LogTail, StopFlag, file_size


def test_event_tail_returns_each_complete_event_once_and_waits_for_a_partial_line(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read() == [] and not tail.more  # no file yet
    with EventWriter(path) as writer:
        writer.emit("start", total=2)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"event": "progress", "step"')  # a line still being written
    assert [e["event"] for e in tail.read()] == ["start"]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(': 1}\nnot json\n[1, 2]\n{"event": "finished"}\n')  # a torn line and a non-object are skipped
    assert [e["event"] for e in tail.read()] == ["progress", "finished"]
    assert tail.read() == [] and tail.offset == file_size(path)
    assert [e["event"] for e in EventTail(path).read()] == ["start", "progress", "finished"]


def test_event_tail_with_a_limit_reads_in_bounded_steps_and_skips_an_absurd_line(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps({"event": "step", "step": n}) + "\n" for n in range(100)]
    path.write_text("x" * 300 + "\n" + "".join(lines), encoding="utf-8")
    tail = EventTail(path, limit=256)
    steps, reads = [], 0
    while True:
        steps += [e["step"] for e in tail.read()]
        reads += 1
        if not tail.more:
            break
    assert steps == list(range(100)) and reads > 10
    assert EventTail(path, file_size(path)).read() == []  # started at the end: only what comes later


def test_log_tail_replays_the_end_from_a_line_start_and_never_splits_a_character(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("".join(f"line {n} é\n" for n in range(1000)), encoding="utf-8")
    tail = LogTail(path, limit=100, replay=50)
    text = ""
    while True:
        text += tail.read()
        if not tail.more:
            break
    assert text and text.startswith("line ") and text.endswith("line 999 é\n") and "\ufffd" not in text
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("more\n")
    assert tail.read() == "more\n"
    whole = LogTail(path, limit=64 * 1024)
    assert whole.read().startswith("line 0 é\n")


def test_stop_flag_from_code_or_the_stop_file_keeps_the_first_reason(tmp_path):
    stop_file = tmp_path / "stop"
    stop = StopFlag(stop_file)
    assert not stop.is_set() and not stop.wait(0.01)
    stop_file.touch()
    assert stop.is_set() and "stop file" in stop.reason
    stop.set("interrupted (Ctrl-C)")
    assert stop.reason.startswith("stop file")

    other = StopFlag()
    threading.Timer(0.05, other.set, args=("interrupted (Ctrl-C)",)).start()
    started = time.monotonic()
    assert other.wait(10.0) and time.monotonic() - started < 5.0 and other.reason == "interrupted (Ctrl-C)"
