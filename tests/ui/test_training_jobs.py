"""The job panel and the tab's job rules, with the probe job (a child process that only counts)."""

from __future__ import annotations

import pytest

from signdesk.jobs.runner import Job

pytestmark = pytest.mark.usefixtures("no_job_left_running")

JOB_S = 60_000




@pytest.fixture
def panel(qtbot, runner):
    from signdesk.ui.job_panel import JobPanel

    widget = JobPanel(runner, noun="probe")
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()




def probe(*flags: str, kind: str = "probe") -> Job:
    return Job.create(kind, ["job", "probe", *flags]).start()


def test_a_finished_job_reports_its_events_and_log(qtbot, panel):
    events = []
    panel.events_received.connect(events.extend)
    with qtbot.waitSignal(panel.job_ended, timeout=JOB_S) as ended:
        panel.attach(probe("--steps", "3", "--delay", "0"))
    assert ended.args[0].status == "finished" and ended.args[0].exit_code == 0
    assert [e["event"] for e in events] == ["start", "progress", "progress", "progress", "finished"]
    assert "step 3/3" in panel.log.toPlainText()
    assert panel.status_label.text() == "<b>Finished.</b>" and not panel.failure.isVisibleTo(panel)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_a_failing_job_shows_its_exit_code_and_log_tail_with_retry(qtbot, panel):
    with qtbot.waitSignal(panel.job_ended, timeout=JOB_S) as ended:
        panel.attach(probe("--steps", "2", "--delay", "0", "--fail"))
    assert ended.args[0].status == "failed" and ended.args[0].exit_code == 1
    assert panel.failure.isVisibleTo(panel) and "Failed (exit 1)" in panel.status_label.text()
    tail = panel.tail.toPlainText()
    assert "step 2/2" in tail and "failing on purpose" in tail
    assert "failing on purpose" in panel.failure_label.text()
    with qtbot.waitSignal(panel.sig_retry_requested, timeout=1000):
        panel.retry_button.click()


def test_stop_is_clean_first_and_forceful_only_when_it_must(qtbot, panel):
    with qtbot.waitSignal(panel.job_ended, timeout=JOB_S) as ended:
        panel.attach(probe("--steps", "500", "--delay", "0.02"))
        qtbot.waitUntil(lambda: "step 2/" in panel.log.toPlainText(), timeout=JOB_S)
        panel.stop_button.click()
        assert panel.stop_button.text() == "&Force stop"
    assert ended.args[0].status == "stopped" and ended.args[0].exit_code == 3  # the job's own clean exit
    assert panel.status_label.text().startswith("<b>Stopped by user.</b>") and not panel.failure.isVisibleTo(panel)

    panel.stop_grace_ms = 200  # a job that does not look at the stop file in time is ended by force
    with qtbot.waitSignal(panel.job_ended, timeout=JOB_S) as ended:
        panel.attach(probe("--steps", "3", "--delay", "30"))
        qtbot.waitUntil(lambda: panel.job.is_alive() and panel.job.events_file.exists(), timeout=JOB_S)
        panel.stop_button.click()
    assert ended.args[0].status == "stopped" and "forcefully" in ended.args[0].message
    assert not panel.job.is_alive()


def test_the_log_view_is_bounded(panel):
    from signdesk.ui.job_panel import LOG_LINES

    for chunk in range(30):
        panel._append_log("".join(f"line {chunk * 200 + i}\n" for i in range(200)))
    assert panel.log.blockCount() <= LOG_LINES
    assert panel.log.toPlainText().endswith("line 5999")


def test_one_job_at_a_time_and_one_training_job_on_the_machine(qtbot, runner):
    from signdesk.config import load_settings
    from signdesk.ui.training_tab import TrainingTab

    tab = TrainingTab(load_settings(), runner)
    qtbot.addWidget(tab)
    download = tab.download_page.panel
    with qtbot.waitSignal(download.job_attached, timeout=JOB_S):
        assert tab.start_job("download", ["job", "probe", "--steps", "400", "--delay", "0.02"], download)
    prepare = tab.prepare_page.panel
    assert not tab.start_job("prepare", ["job", "probe"], prepare)
    assert "Download is running" in prepare.status_label.text()
    with qtbot.waitSignal(download.job_ended, timeout=JOB_S):
        download.stop_button.click()

    other = probe("--steps", "400", "--delay", "0.02", kind="train")  # as if another window were training
    train = tab.finetune_page.panel
    assert tab.start_job("train", ["job", "probe"], train)
    qtbot.waitUntil(lambda: "another training job is running" in train.status_label.text(), timeout=JOB_S)
    assert train.job is None and train.status == "idle"
    other.stop(10)
    tab.shutdown()


def test_the_wizard_reopens_where_it_was_and_is_keyboard_driven(qtbot, runner, tmp_path):
    from PySide6.QtCore import Qt

    from signdesk.config import load_settings
    from signdesk.ui.training_tab import TrainingTab

    state_file = tmp_path / "wizard.json"
    tab = TrainingTab(load_settings(), runner, state_file=state_file)
    qtbot.addWidget(tab)
    tab.show()
    with qtbot.waitActive(tab):
        tab.activateWindow()
    tab.nav.setFocus()
    tab.index_page.set_complete(True)  # as if the index had been read
    qtbot.waitUntil(tab.next_button.isEnabled)
    qtbot.keyClick(tab.nav, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert tab.current_step == "glossary"
    qtbot.keyClick(tab.nav, Qt.Key.Key_Down)  # the step list moves through the pages too
    assert tab.current_step == "download"
    tab.download_page.workers.setValue(7)
    tab.go_to("train")
    tab.finetune_page.preset_buttons["thorough"].click()
    tab.shutdown()

    again = TrainingTab(load_settings(), runner, state_file=state_file)
    qtbot.addWidget(again)
    assert again.current_step == "train" and again.nav.currentRow() == 5
    assert again.state.workers == 7 and again.download_page.workers.value() == 7
    assert again.state.preset == "thorough" and again.finetune_page.preset_buttons["thorough"].isChecked()
    assert again.finetune_page.rank.value() == 32
    again.shutdown()


def test_the_index_downloads_from_the_page_and_a_preset_needs_a_big_enough_index(qtbot, runner):
    import json

    from signdesk.config import load_settings
    from signdesk.data.loopback import LoopbackServer, Route
    from signdesk.ui.training_tab import TrainingTab

    entry = {"gloss": "book", "instances": [{"video_id": "00001", "url": "http://127.0.0.1:9/a.mp4", "split": "train",
                                             "signer_id": 1, "source": "x", "frame_start": 1, "frame_end": -1}]}
    body = json.dumps([entry, {**entry, "gloss": "drink"}]).encode()
    tab = TrainingTab(load_settings(), runner)
    qtbot.addWidget(tab)
    page = tab.index_page
    with LoopbackServer() as server:
        page.index_url = server.add("/WLASL_v0.3.json", Route(body=body, content_type="text/plain"))
        with qtbot.waitSignal(page.stats_loaded, timeout=JOB_S) as loaded:
            page.download_button.click()
        assert page.fetcher.join(5)
    assert loaded.args[0]["glosses"] == 2 and page.complete
    assert tab.state.index_path.endswith("WLASL_v0.3.json") and page.path_edit.text() == tab.state.index_path

    tab.go_to("glossary")
    glossary = tab.glossary_page
    with qtbot.waitSignal(glossary.check_failed, timeout=JOB_S) as failed:
        glossary.use_glossary("WLASL100")
    assert "needs 100 glosses" in failed.args[0] and not glossary.complete
    assert "needs 100 glosses" in glossary.message.text()
    tab.shutdown()
