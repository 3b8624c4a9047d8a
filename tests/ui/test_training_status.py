"""The wizard's status lines follow the state: each is computed from what is true now, never left over.

Qt-free transition tests of every page's line function first (state A gives line X, state B line Y),
then the pages themselves with real child-process jobs: a download whose links are all dead, then
the same download with the network gone (a loopback port nothing listens on); a training job that
starts after an old finished one; the glossary page's list after *Use suggestion*; and the glossary
page at the window's minimum size with the Settings panel open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signdesk.ui.training_pages import status_lines as sl

pytestmark = pytest.mark.usefixtures("no_job_left_running")

JOB_S = 120_000  # ceilings for child processes on a busy 2-core machine, never a timed assertion


# ------------------------------------------------------------------------------------------ the line functions


def summary(ok: int, failed: dict[str, int], *, total: int | None = None, not_done: int = 0, stopped=False,
            offline=False, verdict="") -> dict:
    counts = {"ok": ok, "dead": 0, "invalid": 0, "unsupported": 0, "error": 0, **failed}
    return {"counts": counts, "total": total if total is not None else ok + sum(failed.values()) + not_done,
            "not_done": not_done, "stopped": stopped, "offline": offline, "verdict": verdict}


def test_download_line_transitions():
    # A: steps 1 and 2 not done → what is missing; B: done → nothing yet; C: a run → its progress
    assert sl.download_line(ready=False, job="idle", run=None, summary=None) == sl.DOWNLOAD_NEEDS
    assert sl.download_line(ready=True, job="idle", run=None, summary=None) == "Nothing downloaded yet."
    run = sl.DownloadRun(total=700, done=350, ok=0, failed=350, rate=7.0, eta_s=50)
    assert sl.download_line(ready=True, job="running", run=run, summary=None) == \
        "0 usable clips so far in this run · 350 links failed · 7.0 clips/s · about 50 s left"
    # D: every link failed → said plainly, not "Nothing downloaded yet"
    dead = summary(0, {"dead": 650, "invalid": 50})
    assert sl.download_line(ready=True, job="failed", run=run, summary=dead) == "No clip downloaded: 700 links failed."
    assert sl.download_report_line(summary=dead, failures=None, manifest=True) == \
        "No clip downloaded: 700 links failed: dead 650 (gone for good) · invalid 50 (not a usable video)"
    # E: offline → the CLI's sentence, in both lines, instead of "error 1,876 (may pass…)"
    sentence = ("you seem to be offline: 0 of 1,876 clips downloaded, every failure was a network error; "
                "check your connection and run the same command again (it resumes)")
    offline = summary(0, {"error": 1876}, offline=True, verdict=sentence)
    assert sl.download_line(ready=True, job="failed", run=None, summary=offline) == "Y" + sentence[1:]
    report = sl.download_report_line(summary=offline, failures=[("1", "g", "h", "error", "refused")] * 1876,
                                     manifest=True)
    assert report == "Y" + sentence[1:] and "may pass" not in report
    # F: a paused run, then a good one
    paused = summary(136, {"dead": 20}, not_done=500, stopped=True)
    assert sl.download_line(ready=True, job="stopped", run=None, summary=paused) == \
        "Paused: 136 usable clips of 656; 20 links failed; 500 not tried yet. Resume continues from here."
    assert sl.download_line(ready=True, job="finished", run=None, summary=summary(136, {"dead": 20})) == \
        "136 usable clips of 156; 20 links failed."
    assert sl.download_report_line(summary=None, failures=None, manifest=False) == "Nothing downloaded yet."
    assert sl.download_report_line(summary=summary(3, {}), failures=[], manifest=True) == "No failed links."


def test_the_other_pages_lines_transitions():
    assert sl.prepare_line(download_done=False, job="idle", prepared=False, dataset="/d") == sl.PREPARE_NEEDS
    assert sl.prepare_line(download_done=True, job="idle", prepared=False, dataset="/d") == ""
    assert sl.prepare_line(download_done=True, job="running", prepared=True, dataset="/d") == ""
    assert sl.prepare_line(download_done=True, job="finished", prepared=True, dataset="/d") == "Written to /d."
    assert sl.prepare_summary(download_done=False, prepared=False) == ""
    assert sl.prepare_summary(download_done=True, prepared=False) == "Not prepared yet."
    assert sl.prepare_summary(download_done=True, prepared=True) is None

    assert sl.finetune_line(dataset_ok=False, job="idle", note="") == sl.TRAIN_NEEDS
    assert sl.finetune_line(dataset_ok=True, job="idle", note="") == ""
    done = sl.train_note({"event": "finished", "adapter": "/a", "metrics": {"global_step": 12, "val_top1": 0.5,
                                                                          "best_step": 9}})
    assert done == "Finished at step 12: adapter saved to /a (best validation top-1 50.0 % at step 9)."
    assert sl.finetune_line(dataset_ok=True, job="finished", note=done) == done
    assert sl.train_note({"event": "finished"}) == "Finished."
    assert sl.train_note({"event": "step", "step": 3}) is None

    assert sl.evaluate_line(ready=False, job="idle", report="") == sl.EVALUATE_NEEDS
    assert sl.evaluate_line(ready=True, job="finished", report="/a/eval-test") == "Report written to /a/eval-test."
    assert sl.evaluate_line(ready=True, job="running", report="/a/eval-test") == ""

    assert sl.glossary_line(index_ok=False, problem="", pending=False, result=None) == ("warn", sl.GLOSSARY_NEEDS)
    assert sl.glossary_line(index_ok=True, problem="", pending=True, result=None) == ("", "Edited: checking soon…")
    both = {"matched": 3, "words": 4, "unknown": [{"line": 4, "word": "drnk"}],
            "duplicates": [{"line": 5, "word": "book", "first_line": 2}]}
    assert sl.glossary_line(index_ok=True, problem="", pending=False, result=both) == (
        "error", "1 of 4 words are not WLASL glosses and 1 word repeats an earlier line: fix or remove them "
                 "(the list below suggests close spellings).")
    fine = {"matched": 3, "words": 3, "instances": 18, "unknown": [], "duplicates": []}
    assert sl.glossary_line(index_ok=True, problem="", pending=False, result=fine)[0] == "ok"


# ------------------------------------------------------------------------------------------ the pages






def write_index(folder: Path, urls: dict[str, list[str]]) -> Path:
    entries = [{"gloss": gloss, "instances": [
        {"video_id": f"{g}{k:04d}", "url": url, "split": "train", "signer_id": k + 1, "source": "loopback",
         "frame_start": 1, "frame_end": -1, "fps": 25, "bbox": [0, 0, 64, 48], "instance_id": k, "variation_id": 0}
        for k, url in enumerate(links)]} for g, (gloss, links) in enumerate(urls.items())]
    path = folder / "WLASL_test.json"
    path.write_text(json.dumps(entries))
    return path


def make_tab(runner, tmp_path, qtbot, **state):
    from signdesk.config import load_settings
    from signdesk.training.wizard_state import WizardState
    from signdesk.ui.training_tab import TrainingTab

    state_file = tmp_path / "wizard.json"
    WizardState(**state).save(state_file)
    tab = TrainingTab(load_settings(), runner, state_file=state_file)
    qtbot.addWidget(tab)
    return tab


def test_the_download_page_says_what_the_last_run_got(qtbot, runner, tmp_path):
    from signdesk.data.download import offline_sentence
    from signdesk.data.loopback import LoopbackServer
    from signdesk.training.wizard_state import download_argv

    server = LoopbackServer().start()  # no routes: every link is a 404
    index = write_index(tmp_path, {g: [server.url(f"/{g}-{k}.mp4") for k in range(6)] for g in ("book", "drink")})
    glossary = tmp_path / "words.txt"
    glossary.write_text("book\ndrink\n")
    tab = make_tab(runner, tmp_path, qtbot, page=2, index_path=str(index), glossary=str(glossary),
                   videos_dir=str(tmp_path / "videos"), host_delay=0.0)
    page = tab.download_page
    try:
        # A: the index and the glossary are still being checked (child processes)
        assert page.panel.detail.text() == sl.DOWNLOAD_NEEDS and not page.panel.start_button.isEnabled()
        # B: both checked: the line follows by itself, without leaving the page
        qtbot.waitUntil(lambda: tab.step_complete("index") and tab.step_complete("glossary"), timeout=JOB_S)
        assert page.panel.detail.text() == "Nothing downloaded yet."
        assert page.report_summary.text() == "Nothing downloaded yet." and page.panel.start_button.isEnabled()

        # C: every link is dead: the job fails (exit 1) and both lines say nothing came
        with qtbot.waitSignal(page.report_loaded, timeout=JOB_S,
                              check_params_cb=lambda n: n == 12 and page.panel.last_state is not None):
            page.panel.start_button.click()
        assert page.panel.last_state.exit_code == 1
        assert page.panel.detail.text() == "No clip downloaded: 12 links failed."
        assert page.report_summary.text() == "No clip downloaded: 12 links failed: dead 12 (gone for good)"
        assert not page.complete

        # D: the network is gone (the port now refuses), dead links tried again: offline, in the CLI's words
        server.stop()
        page.more.setChecked(True)
        page.retry_failed.setChecked(True)
        argv = [*download_argv(tab.state), "--retries", "0"]  # no backoff: refused at once, every time
        with qtbot.waitSignal(page.report_loaded, timeout=JOB_S,
                              check_params_cb=lambda n: n == 12 and page.panel.last_state is not None):
            assert tab.start_job("download", argv, page.panel)
        sentence = offline_sentence(0, 12)
        assert page.panel.detail.text() == "Y" + sentence[1:]
        assert page.report_summary.text() == "Y" + sentence[1:]
        assert "may pass" not in page.report_summary.text()
        assert sentence in page.panel.failure_label.text()  # the job's own last line, in the failure box
    finally:
        server.stop()
        tab.shutdown()


def test_a_new_job_never_shows_the_last_job_s_ending(qtbot, runner, tmp_path):
    dataset = tmp_path / "dataset"
    tab = make_tab(runner, tmp_path, qtbot, page=4, dataset_dir=str(dataset))
    page = tab.finetune_page
    panel = page.panel
    try:
        # A: no dataset → what is missing; B: prepared (as the prepare step leaves it) → that line goes
        assert panel.detail.text() == sl.TRAIN_NEEDS
        dataset.mkdir()
        (dataset / "dataset.json").write_text(json.dumps({"counts": {"train": 4, "val": 1, "glosses": 2}}))
        page.refresh()
        assert panel.detail.text() == ""
        assert "Prepare a dataset first" not in page.dataset_label.text()

        # C: a job that finished (the probe job: a child process that counts, then "finished")
        with qtbot.waitSignal(panel.job_ended, timeout=JOB_S):
            assert tab.start_job("train", ["job", "probe", "--steps", "2", "--delay", "0"], panel)
        assert panel.detail.text() == "Finished."
        # D: a new job starts: its line is its own, not the old "Finished."
        with qtbot.waitSignal(panel.job_attached, timeout=JOB_S):
            assert tab.start_job("train", ["job", "probe", "--steps", "500", "--delay", "0.02"], panel)
        qtbot.waitUntil(lambda: "step 2/" in panel.log.toPlainText(), timeout=JOB_S)
        assert panel.status == "running" and panel.detail.text() == ""
        with qtbot.waitSignal(panel.job_ended, timeout=JOB_S):
            panel.stop_button.click()
        assert panel.detail.text() == "Stopped by user."  # this job's own ending
    finally:
        tab.shutdown()


def test_use_suggestion_merges_a_repeat_and_the_list_follows_at_once(qtbot, runner, tmp_path):
    index = write_index(tmp_path, {g: ["http://127.0.0.1:9/x.mp4"] for g in ("hello", "book", "drink")})
    glossary = tmp_path / "mine.txt"
    glossary.write_text("hello\nhelo\nbook\nbook\nxyzzy\n")
    tab = make_tab(runner, tmp_path, qtbot, page=1, index_path=str(index), glossary=str(glossary))
    page = tab.glossary_page
    try:
        qtbot.waitUntil(lambda: page.result is not None, timeout=JOB_S)
        # unknown words AND the repeat, together: a repeat does not stop the check
        items = [page.unknown_list.item(i).text() for i in range(page.unknown_list.count())]
        assert items == ["line 2: 'helo'  (did you mean 'hello'?)", "line 4: 'book'  repeats line 3",
                         "line 5: 'xyzzy'"]
        assert "1 word repeats an earlier line" in page.message.text() and not page.complete

        page.unknown_list.setCurrentRow(0)
        with qtbot.waitSignal(page.checked, timeout=JOB_S) as checked:
            page.suggest_button.click()  # helo → hello, which is already line 1: merged, not repeated
            assert page.editor.toPlainText() == "hello\nbook\nbook\nxyzzy\n"
            # the list follows at once (before the check comes back), with the new line numbers
            items = [page.unknown_list.item(i).text() for i in range(page.unknown_list.count())]
            assert items == ["line 3: 'book'  repeats line 2", "line 4: 'xyzzy'"]
        assert checked.args[0]["duplicates"] == [{"line": 3, "word": "book", "first_line": 2}]
        assert [u["word"] for u in checked.args[0]["unknown"]] == ["xyzzy"]

        with qtbot.waitSignal(page.checked, timeout=JOB_S, check_params_cb=lambda r: not r["unknown"]):
            page.remove_button.click()
            assert page.unknown_list.count() == 0
        assert page.editor.toPlainText() == "hello\nbook\n"
        qtbot.waitUntil(lambda: page.complete)
        assert "All 2 words are WLASL glosses" in page.message.text()
    finally:
        tab.shutdown()


def test_the_glossary_waits_for_the_index_and_then_checks_itself(qtbot, runner, tmp_path):
    glossary = tmp_path / "mine.txt"
    glossary.write_text("book\ndrink\n")
    tab = make_tab(runner, tmp_path, qtbot, page=1, index_path=str(tmp_path / "later.json"), glossary=str(glossary))
    page = tab.glossary_page
    try:
        assert "Choose the WLASL index first" in page.message.text()
        index = write_index(tmp_path, {g: ["http://127.0.0.1:9/x.mp4"] for g in ("book", "drink")})
        index.rename(tmp_path / "later.json")
        with qtbot.waitSignal(page.checked, timeout=JOB_S):
            tab.go_to("glossary")  # the page is shown again (or an earlier step changed)
        assert "Choose the WLASL index first" not in page.message.text()
        assert "All 2 words are WLASL glosses" in page.message.text()
    finally:
        tab.shutdown()


def test_the_glossary_page_fits_beside_the_settings_panel(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QLabel, QWidget

    index = write_index(tmp_path, {g: ["http://127.0.0.1:9/x.mp4"] for g in ("book", "drink")})
    glossary = tmp_path / "a-glossary-file-with-a-rather-long-name-in-a-deep-folder.txt"
    glossary.write_text("book\ndrnk\nspaceship\n")
    window = make_window(start=False)
    tab = window.training
    window.tabs.setCurrentWidget(tab)
    window.settings_dock.show()
    tab.state.index_path = str(index)
    tab.go_to("glossary")
    page = tab.glossary_page
    with qtbot.waitSignal(page.checked, timeout=JOB_S):
        page.use_glossary(str(glossary))
    window.resize(window.minimumSizeHint())  # the smallest the window gets, with the panel open
    qtbot.waitUntil(lambda: window.size() == window.minimumSizeHint())
    qtbot.wait(50)  # let the layouts settle after the resize
    assert "2 of 3 words are not WLASL glosses" in page.message.text()
    viewport = page.scroll.viewport()
    for widget in [page.message, *page.inner.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        left = widget.mapTo(viewport, QPoint(0, 0)).x()
        assert left >= 0 and left + widget.width() <= viewport.width(), (
            f"{type(widget).__name__} {widget.accessibleName()!r} is cut off: {left}+{widget.width()} > "
            f"{viewport.width()}")
        if isinstance(widget, QLabel) and widget.wordWrap():  # and never cut off at the bottom
            assert widget.height() >= widget.heightForWidth(widget.width()), widget.accessibleName()
    assert not page.scroll.horizontalScrollBar().isVisible()
