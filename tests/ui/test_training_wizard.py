"""The Training tab end to end: a loopback "WLASL" and the tiny offline model, real child-process jobs.

index → glossary → download → prepare → fine-tune → evaluate → use, ending with the Live tab on the new
adapter; pausing a download and a training run and resuming them; a failing job's log tail and retry;
closing the window during a job and re-attaching to it. Tests wait on signals and conditions only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signdesk.data.loopback import JUNK_114, LoopbackServer, Route

GLOSSES = ("book", "drink", "computer")
SPLITS = ("train", "train", "train", "train", "val", "test")  # per gloss: signer k+1 for instance k
JOB_S = 120_000  # generous ceilings for jobs on a busy 2-core machine (never a timed assertion)


@pytest.fixture(scope="module")
def sign_clips(tmp_path_factory) -> list[bytes]:
    """18 distinct small videos (every instance its own content, so that prepare keeps them all)."""
    from signdesk.video.synth import MOTIONS, motion_frames, write_video

    folder = tmp_path_factory.mktemp("wizard-clips")
    clips = []
    for n in range(len(GLOSSES) * len(SPLITS)):
        path = write_video(folder / f"{n}.mp4", motion_frames(MOTIONS[n % 3], 20, 64, 48, seed=n))
        clips.append(path.read_bytes())
    return clips


def serve_index(server: LoopbackServer, clips: list[bytes], folder: Path, *, latency_s: float = 0.0) -> Path:
    """A WLASL-style index whose links point at the loopback server: 3 glosses x 6 clips, one dead link
    and one junk answer; written to ``folder/WLASL_test.json``."""
    entries = []
    n = 0
    for g, gloss in enumerate(GLOSSES):
        instances = []
        for k, split in enumerate(SPLITS):
            url = server.add(f"/{gloss}-{k}.mp4", Route(body=clips[n], latency_s=latency_s))
            instances.append({"video_id": f"{g}{k:04d}", "url": url, "split": split, "signer_id": k + 1,
                              "source": "loopback", "frame_start": 1, "frame_end": -1, "fps": 25,
                              "bbox": [0, 0, 64, 48], "instance_id": k, "variation_id": 0})
            n += 1
        entries.append({"gloss": gloss, "instances": instances})
    server.add("/junk.mp4", Route(body=JUNK_114))
    entries[0]["instances"].append({**entries[0]["instances"][0], "video_id": "09998", "url": server.url("/gone.mp4")})
    entries[0]["instances"].append({**entries[0]["instances"][0], "video_id": "09999", "url": server.url("/junk.mp4")})
    path = folder / "WLASL_test.json"
    path.write_text(json.dumps(entries))
    return path


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_job_left_running(signdesk_home):
    """Jobs are processes, not threads: end any a failing test left behind."""
    yield
    from signdesk.jobs.runner import list_jobs

    for job in list_jobs():
        if job.is_alive():
            job.kill()


# ------------------------------------------------------------------------------------------ driving the pages


def set_index(qtbot, tab, path: Path) -> None:
    tab.go_to("index")
    page = tab.index_page
    with qtbot.waitSignal(page.stats_loaded, timeout=30_000) as loaded:
        page.path_edit.setText(str(path))
        page.path_edit.editingFinished.emit()
    assert loaded.args[0]["glosses"] == 3 and loaded.args[0]["instances"] == 20
    qtbot.waitUntil(lambda: page.complete and tab.next_button.isEnabled())


def set_glossary(qtbot, tab, words: str) -> dict:
    tab.next_button.click()
    page = tab.glossary_page
    assert tab.current_step == "glossary"
    with qtbot.waitSignal(page.checked, timeout=30_000,
                          check_params_cb=lambda r: r.get("glossary", "").endswith("-edited")) as checked:
        page.editor.setPlainText(words)
    return checked.args[0]


def run_job(qtbot, page, *, start=None, timeout: int = JOB_S):
    """Press the page's start button (or ``start``) and wait for its job to end; returns the JobState."""
    with qtbot.waitSignal(page.panel.job_ended, timeout=timeout) as ended:
        (start or page.panel.start_button).click()
    return ended.args[0]


def download_fast(tab) -> None:
    page = tab.download_page
    page.more.setChecked(True)
    page.host_delay.setValue(0.0)
    page.per_host.setValue(4)


def small_training(tab, *, max_steps: int, batch: int = 4) -> None:
    page = tab.finetune_page
    page.preset_buttons["quick"].click()
    page.advanced.setChecked(True)
    page.max_steps.setValue(max_steps)
    page.batch.setValue(batch)
    page.accum.setValue(1)
    page.frames.setValue(2)
    page.patience.setValue(0)
    page.device.setCurrentText("cpu")


# ------------------------------------------------------------------------------------------ the tests


def test_the_whole_wizard_from_the_index_to_the_live_tab(make_window, qtbot, tiny_settings, server, sign_clips,
                                                         tmp_path):
    index = serve_index(server, sign_clips, tmp_path)
    window = make_window(tiny_settings)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=60_000)
    tab = window.training
    window.tabs.setCurrentWidget(tab)

    # 1 index
    set_index(qtbot, tab, index)
    assert "20" in tab.index_page.fields["instances"].text()

    # 2 glossary: core-320 is mostly unknown to this small index; an edited list with a typo is flagged
    tab.next_button.click()
    glossary = tab.glossary_page
    qtbot.waitUntil(lambda: glossary.result is not None, timeout=30_000)
    assert not glossary.complete and glossary.unknown_list.count() > 300
    with qtbot.waitSignal(glossary.checked, timeout=30_000,
                          check_params_cb=lambda r: r["glossary"].endswith("-edited")) as checked:
        glossary.editor.setPlainText("# mine\nbook\ndrnk\ncomputer\nxyzzy\n")
    unknown = {u["word"]: u for u in checked.args[0]["unknown"]}
    assert set(unknown) == {"drnk", "xyzzy"} and unknown["drnk"]["suggestions"] == ["drink"]
    assert unknown["drnk"]["line"] == 3 and not glossary.complete and not tab.next_button.isEnabled()
    assert len(glossary.editor.extraSelections()) == 2  # the two lines are highlighted
    with qtbot.waitSignal(glossary.checked, timeout=30_000):
        glossary.use_suggestion(glossary.unknown_list.item(0))  # drnk -> drink
    with qtbot.waitSignal(glossary.checked, timeout=30_000, check_params_cb=lambda r: not r["unknown"]):
        glossary.remove_button.click()
    assert glossary.editor.toPlainText().split() == ["#", "mine", "book", "drink", "computer"]
    qtbot.waitUntil(lambda: glossary.complete and tab.next_button.isEnabled())
    assert Path(tab.state.glossary).read_text() == glossary.editor.toPlainText()  # saved where later steps read it

    # 3 download: progress, per-host success, the dead-link report
    tab.next_button.click()
    download = tab.download_page
    download_fast(tab)
    state = run_job(qtbot, download)
    assert state.status == "finished", download.panel.log.toPlainText()[-2000:]
    assert download.panel.status_label.text().startswith("<b>Finished")
    assert download.panel.progress.value() == 1000
    hosts = download.hosts_model.rows
    assert len(hosts) == 1 and hosts[0][0] == "127.0.0.1" and hosts[0][2] == 18 and hosts[0][3] == 2
    qtbot.waitUntil(lambda: len(download.failures) == 2, timeout=10_000)
    assert {r[3] for r in download.failures} == {"dead", "invalid"}
    assert "2 links failed" in download.report_summary.text()
    qtbot.waitUntil(lambda: tab.next_button.isEnabled())

    # 4 prepare: a failing job shows its exit code and log tail; Retry after fixing the settings
    tab.next_button.click()
    prepare = tab.prepare_page
    prepare.method.setCurrentIndex(prepare.method.findData("stratified"))
    prepare.min_per_gloss.setValue(50)
    failed = run_job(qtbot, prepare)
    assert failed.status == "failed" and failed.exit_code == 2
    assert prepare.panel.failure.isVisibleTo(prepare) and prepare.panel.retry_button.isVisibleTo(prepare)
    assert "Failed (exit 2" in prepare.panel.status_label.text()
    assert "no gloss" in prepare.panel.tail.toPlainText()  # the log's tail, with the real error line
    assert not prepare.complete
    prepare.method.setCurrentIndex(prepare.method.findData("official"))
    done = run_job(qtbot, prepare, start=prepare.panel.retry_button)
    assert done.status == "finished" and not prepare.panel.failure.isVisibleTo(prepare)
    qtbot.waitUntil(lambda: prepare.complete)
    assert prepare.chart.categories and set(prepare.chart.categories) == set(GLOSSES)
    assert "fewer than 5 training clips" in prepare.warnings.text()  # 4 per sign: all thin
    assert prepare.meta["counts"]["train"] == 12

    # 5 my signs: optional (none recorded here), so always done
    tab.next_button.click()
    assert tab.current_step == "mysigns" and tab.next_button.isEnabled()
    # 6 fine-tune: show command, live chart, a finished adapter
    tab.next_button.click()
    finetune = tab.finetune_page
    small_training(tab, max_steps=6)
    finetune.panel.command_button.click()
    dialog = finetune.panel.command_dialog
    text = dialog.text.toPlainText()
    assert text.startswith("signdesk train --dataset") and '"rank": 8' in text and "--resume" in text
    dialog.close()
    state = run_job(qtbot, finetune)
    assert state.status == "finished", finetune.panel.log.toPlainText()[-2000:]
    assert len(finetune.chart.losses) >= 2 and len(finetune.chart.accuracies) == 2  # 2 epochs of 3 steps
    assert finetune.stats["step"].text() == "6 / 6"
    qtbot.waitUntil(lambda: finetune.complete)
    adapter = tab.state.adapter
    assert (adapter / "adapter_model.safetensors").is_file()
    assert json.loads((adapter / "signdesk.json").read_text())["glossary"] == list(GLOSSES)

    # 7 evaluate: base against adapter
    tab.next_button.click()
    evaluate = tab.evaluate_page
    with qtbot.waitSignal(evaluate.report_shown, timeout=JOB_S):
        assert run_job(qtbot, evaluate).status == "finished"
    rows = {r[0]: r for r in evaluate.metrics_model.rows}
    assert rows["Top-1"][1].endswith("%") and rows["Top-1"][2].endswith("%")
    assert rows["Clips scored"][1:3] == ("3", "3")
    assert evaluate.chart.categories and len(evaluate.chart.sets) == 2
    qtbot.waitUntil(lambda: tab.next_button.isEnabled())

    # 8 use: one click, and the Live tab interprets with the new adapter
    tab.next_button.click()
    use = tab.use_page
    with qtbot.waitSignal(window.engine.reconfigured, timeout=60_000,
                          check_params_cb=lambda info: info.adapter in (str(adapter), adapter.name)):
        use.use_button.click()
    assert window.tabs.currentWidget() is window.live
    qtbot.waitUntil(lambda: window.engine.interpreter.glossary == list(GLOSSES), timeout=30_000)
    assert window.settings["model.adapter"] == str(adapter)
    assert window.engine.info.num_frames == 2
    assert adapter.name in window.status.model.text()
    qtbot.waitUntil(lambda: use.complete)


def test_pause_a_download_and_resume_it(make_window, qtbot, server, sign_clips, tmp_path):
    index = serve_index(server, sign_clips, tmp_path, latency_s=0.15)
    window = make_window(start=False)
    tab = window.training
    set_index(qtbot, tab, index)
    set_glossary(qtbot, tab, "book\ndrink\ncomputer\n")
    tab.next_button.click()
    page = tab.download_page
    page.workers.setValue(1)
    page.more.setChecked(True)
    page.per_host.setValue(1)
    page.host_delay.setValue(0.0)
    with qtbot.waitSignal(page.panel.job_ended, timeout=JOB_S) as ended:
        page.panel.start_button.click()
        qtbot.waitUntil(lambda: page._done >= 1, timeout=JOB_S)  # mid-download
        page.panel.stop_button.click()
    assert ended.args[0].status == "stopped"
    assert "Stopped by user" in page.panel.status_label.text() and not page.panel.failure.isVisibleTo(page)
    assert page.panel.start_button.text() == "&Resume download"
    paused = json.loads((tab.state.videos / "summary.json").read_text())
    assert paused["stopped"] and 0 < paused["not_done"] < 20
    assert "Paused" in page.panel.detail.text()
    assert tab.nav.item(2).toolTip().endswith("done") or tab.nav.item(2).toolTip().endswith("paused")

    assert run_job(qtbot, page).status == "finished"
    summary = json.loads((tab.state.videos / "summary.json").read_text())
    assert summary["not_done"] == 0 and summary["counts"]["ok"] == 18
    hits = [server.hit_count(f"/{g}-{k}.mp4") for g in GLOSSES for k in range(6)]
    assert sum(hits) <= 18 + 1, hits  # nothing fetched twice, but the clip interrupted by the pause


def test_stop_training_then_resume_it(make_window, qtbot, tiny_model_dir, tmp_path):
    from signdesk.config import load_settings
    from signdesk.training.synthetic import write_synthetic_dataset

    dataset = tmp_path / "synthetic"
    write_synthetic_dataset(dataset, signs=2, counts=(6, 2, 2), size=(64, 64))
    window = make_window(load_settings({"model.id": str(tiny_model_dir)}), start=False)
    tab = window.training
    tab.state.dataset_dir = str(dataset)
    tab.go_to("train")
    page = tab.finetune_page
    qtbot.waitUntil(lambda: page.panel.start_button.isEnabled())
    small_training(tab, max_steps=40, batch=1)
    with qtbot.waitSignal(page.panel.job_ended, timeout=JOB_S) as ended:
        page.panel.start_button.click()
        qtbot.waitUntil(lambda: len(page.chart.losses) >= 1 or page.panel.last_state is not None, timeout=JOB_S)
        assert page.panel.last_state is None, page.panel.tail.toPlainText()  # still training
        page.panel.stop_button.click()
    state = ended.args[0]
    assert state.status == "stopped" and state.exit_code == 3
    assert "Stopped by user" in page.panel.status_label.text() and not page.panel.failure.isVisibleTo(page)
    assert page.complete  # a stopped run still saves a usable adapter
    qtbot.waitUntil(lambda: page.resume_button.isEnabled())
    stopped_at = int(page.stats["step"].text().split("/")[0].replace(",", ""))
    assert stopped_at < 40

    assert run_job(qtbot, page, start=page.resume_button).status == "finished"
    assert "Resuming from" in page.panel.log.toPlainText() or page.panel.job.all_events()[0]["resume_from"]
    assert page.stats["step"].text() == "40 / 40"
    assert len(tab.state.train_runs) == 2
    qtbot.waitUntil(lambda: page.chart.history[0] != [], timeout=10_000)  # the first run's points are kept
    meta = json.loads((tab.state.adapter / "signdesk.json").read_text())
    assert meta["metrics"]["global_step"] == 40 and not meta["metrics"]["stopped"]


def test_closing_the_window_during_a_job_and_reattaching(make_window, qtbot, server, sign_clips, tmp_path):
    index = serve_index(server, sign_clips, tmp_path, latency_s=0.15)
    window = make_window(start=False)
    tab = window.training
    set_index(qtbot, tab, index)
    set_glossary(qtbot, tab, "book\ndrink\ncomputer\n")
    tab.next_button.click()
    page = tab.download_page
    page.workers.setValue(1)
    page.more.setChecked(True)
    page.per_host.setValue(1)
    page.host_delay.setValue(0.0)
    page.panel.start_button.click()
    qtbot.waitUntil(lambda: page._done >= 1, timeout=JOB_S)
    job = page.panel.job
    window.close()  # the job is a separate process: it goes on
    assert job.is_alive()

    again = make_window(start=False)
    tab2 = again.training
    assert tab2.current_step == "download"  # reopens where the user left it
    page2 = tab2.download_page
    qtbot.waitUntil(lambda: page2.panel.job is not None, timeout=10_000)
    assert page2.panel.job.folder == job.folder
    assert page2.panel.status in ("running", "finished")
    qtbot.waitUntil(lambda: page2.panel.last_state is not None, timeout=JOB_S)
    assert page2.panel.last_state.status == "finished"
    assert page2.hosts_model.rows[0][2] == 18
    assert tab2.state.workers == 1 and tab2.state.host_delay == 0.0  # the settings persisted too
    qtbot.waitUntil(lambda: tab2.nav.item(2).toolTip().endswith("done"))


def test_evaluate_page_shows_my_signs_and_direction_twins_apart(make_window):
    """The parts a report gives apart (my signs' held-out takes, direction twins) get rows of their own."""
    page = make_window(start=False).training.evaluate_page

    def result(top1: float, mine: float | None, twins: float | None) -> dict:
        r = {"top1": top1, "top5": 1.0, "class_top1": top1, "class_top5": 1.0, "clips": 48, "confused": []}
        if mine is not None:
            r["my_signs"] = {"top1": mine}
        if twins is not None:
            r["direction_twins"] = {"twin_top1": twins, "other_top1": 0.5}
        return r

    page.report = {"results": {"base": result(0.25, 0.0, 0.25), "adapter": result(0.9, 1.0, 0.975)}}
    page._show_report()
    rows = {r[0]: r[1:] for r in page.metrics_model.rows}
    assert rows["My signs top-1 (held-out takes)"] == ("0.0 %", "100.0 %", "+100.0 points")
    assert rows["Direction twins top-1"] == ("25.0 %", "97.5 %", "+72.5 points")
    assert rows["Other signs top-1"] == ("50.0 %", "50.0 %", "+0.0 points")

    page.report = {"results": {"base": result(0.25, None, None), "adapter": result(0.9, None, None)}}
    page._show_report()
    labels = [r[0] for r in page.metrics_model.rows]
    assert labels == ["Top-1", "Top-5", "Class top-1", "Class top-5", "Clips scored"]  # no empty parts
