"""The My signs page records takes from a video-file camera (keep / redo), lists and deletes them; a word
corrected in the Live transcript becomes a take (pytest-qt, offscreen, the real task thread)."""

from __future__ import annotations

import pytest

from signdesk.config import load_settings
from signdesk.mysigns.store import TakeStore
from signdesk.training.wizard_state import WizardState

SIGN_MS = 60_000  # a ceiling for a sign to be found on a busy machine (never a timed assertion)
TOLERANCE_S = 0.5


class Host:
    """The Training tab as a page sees it."""

    def __init__(self, folder, runner) -> None:
        self.state = WizardState(my_signs_dir=str(folder))
        self.settings = load_settings()
        self.runner = runner
        self.saved = 0

    def save_soon(self) -> None:
        self.saved += 1

    def start_job(self, *args, **kwargs) -> bool:
        raise AssertionError("the My signs page runs no job")

    def request_use(self, changes) -> None: ...

    def refresh_steps(self) -> None: ...

    def step_complete(self, step: str) -> bool:
        return True


@pytest.fixture
def runner():
    from signdesk.ui.workers import TaskRunner

    tasks = TaskRunner()
    yield tasks
    tasks.stop()
    tasks.join(5)


@pytest.fixture
def page(qtbot, tmp_path, runner):
    from signdesk.ui.training_pages.mysigns_page import MySignsPage

    widget = MySignsPage(Host(tmp_path / "mine", runner))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _tree(page) -> dict[str, int]:
    return {page.tree.topLevelItem(i).text(0): page.tree.topLevelItem(i).childCount()
            for i in range(page.tree.topLevelItemCount())}


def test_the_page_records_from_a_video_file_camera_with_keep_and_redo(page, qtbot, short_real_stream):
    assert page.complete  # an optional step
    page.word.setEditText("Book")
    page.use_video_file(short_real_stream.path)
    shown = []
    page.candidate_shown.connect(shown.append)
    with qtbot.waitSignal(page.candidate_shown, timeout=SIGN_MS):
        assert page.start_recording()
    assert page.keep_button.isEnabled() and page.redo_button.isEnabled()
    with qtbot.waitSignal(page.take_kept, timeout=SIGN_MS):
        page.keep_button.click()  # the first sign
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=SIGN_MS)
    page.redo_button.click()  # the second sign is thrown away
    assert not page.keep_button.isEnabled()
    qtbot.waitUntil(lambda: len(shown) == 3, timeout=SIGN_MS)
    with qtbot.waitSignal(page.take_kept, timeout=SIGN_MS):
        page.keep_button.click()  # the third
    qtbot.waitUntil(lambda: not page.recording, timeout=SIGN_MS)  # the file ended: recording stops by itself
    qtbot.waitUntil(lambda: _tree(page) == {"book": 2}, timeout=SIGN_MS)
    takes = sorted(TakeStore(page.folder).takes(), key=lambda t: t.stream_start)
    truth = short_real_stream.signs
    for take, sign in zip(takes, (truth[0], truth[2]), strict=True):
        assert abs(take.stream_start / short_real_stream.fps - sign.start_s) <= TOLERANCE_S, (take, sign)
        assert abs(take.stream_end / short_real_stream.fps - sign.end_s) <= TOLERANCE_S, (take, sign)
    assert "book: 2 takes; 8 more to reach 10" in page.count_label.text()


def test_the_page_deletes_one_take_a_word_or_all(page, qtbot, tmp_path):
    from signdesk.video.synth import motion_frames

    store = TakeStore(page.folder)
    for k in range(3):
        store.add_frames("grandma", motion_frames("circle", 24, 96, 96, seed=k), 25.0)
    store.add_frames("office", motion_frames("zigzag", 24, 96, 96), 25.0)
    with qtbot.waitSignal(page.takes_listed, timeout=SIGN_MS):
        page.refresh()
    assert _tree(page) == {"grandma": 3, "office": 1}
    one = page.tree.topLevelItem(0).child(1)
    doomed = one.toolTip(0)  # the take's id
    one.setSelected(True)
    assert page.delete_button.isEnabled()
    with qtbot.waitSignal(page.takes_listed, timeout=SIGN_MS):
        page.delete_button.click()
    assert _tree(page) == {"grandma": 2, "office": 1}
    assert doomed not in {t.video_id for t in store.takes()}
    assert not (store.clips_dir / f"{doomed}.mp4").exists()
    asked = []
    page.confirm = lambda text: asked.append(text) or True
    with qtbot.waitSignal(page.takes_listed, timeout=SIGN_MS):
        page.delete_all_button.click()
    assert asked and _tree(page) == {} and store.takes() == [] and not any(store.clips_dir.iterdir())
    assert not page.keep_corrections.isChecked()  # off by default
    page.keep_corrections.click()
    assert load_settings()["my_signs.keep_corrections"] is True  # saved, as a validated setting


def test_a_refused_take_says_why(page, qtbot, tmp_path):
    import numpy as np

    from signdesk.video.synth import write_video

    still = write_video(tmp_path / "still.mp4", np.full((40, 96, 96, 3), 80, np.uint8))
    page.word.setEditText("hello")
    with qtbot.waitSignal(page.take_refused, timeout=SIGN_MS) as refused:
        page.import_files([str(still)])
    assert refused.args[0].startswith("still.mp4: motionless")
    assert "motionless" in page.message.text()


def test_a_corrected_word_in_the_live_transcript_becomes_a_take(qtbot, tmp_path, runner):
    from PySide6.QtWidgets import QWidget

    from signdesk.ui.correction_takes import CorrectionTakes
    from signdesk.ui.transcript_model import TranscriptModel
    from signdesk.video.segment import MotionSegmenter
    from signdesk.video.synth import motion_frames

    segmenter, clips = MotionSegmenter(25.0), []
    frames = motion_frames("circle", 24, 96, 96, still_before=15, still_after=20, seed=1)
    for i, frame in enumerate(frames):
        clip = segmenter.feed(frame, i / 25.0, i, t=i / 25.0)
        if clip is not None:
            clips.append(clip)
    assert len(clips) == 1
    clip = clips[0]
    settings = load_settings({"my_signs.folder": str(tmp_path / "mine")})
    parent = QWidget()
    qtbot.addWidget(parent)
    model = TranscriptModel()
    takes = CorrectionTakes(settings, model, runner, parent)
    takes.remember(clip, 25.0)
    row, _ = model.add("help", 0.4, [("help", 0.4), ("cookie", 0.3)], clip.start_s, clip.end_s, clip.motion_id)
    with qtbot.waitSignal(takes.asked, timeout=5000) as asked:  # never asked before: the app asks, once
        model.correct(row, "cookie")
    assert asked.args[0].isVisible() and TakeStore(tmp_path / "mine").takes() == []
    with qtbot.waitSignal(takes.kept, timeout=SIGN_MS) as kept:
        asked.args[0].button(asked.args[0].StandardButton.Yes).click()
    take = kept.args[0]
    assert (take.gloss, take.origin) == ("cookie", "correction")
    assert load_settings()["my_signs.keep_corrections"] is True  # the answer was saved
    with qtbot.waitSignal(takes.kept, timeout=SIGN_MS):  # from now on without asking
        model.correct(row, "biscuit")
    assert {t.gloss for t in TakeStore(tmp_path / "mine").takes()} == {"cookie", "biscuit"}
    assert takes.question is None


def test_the_training_tab_has_a_my_signs_step_and_fine_tune_can_train_on_the_takes(qtbot, tmp_path, runner):
    from signdesk.training.wizard_state import STEPS
    from signdesk.ui.training_tab import TrainingTab
    from signdesk.video.synth import motion_frames

    tab = TrainingTab(load_settings(), runner, state_file=tmp_path / "wizard.json")
    qtbot.addWidget(tab)
    tab.state.my_signs_dir = str(tmp_path / "mine")
    assert STEPS.index("mysigns") == STEPS.index("prepare") + 1
    tab.go_to("mysigns")
    assert tab.stack.currentWidget() is tab.mysigns_page and tab.next_button.isEnabled()  # optional: always done
    page = tab.finetune_page
    tab.go_to("train")
    page.train_on.setCurrentIndex(page.train_on.findData("mine"))
    assert tab.state.train_on == "mine"
    assert "Record takes on the My signs page" in page.dataset_label.text()  # no takes yet
    store = TakeStore(tmp_path / "mine")
    for k in range(4):  # 2 train, 1 val, 1 test
        store.add_frames("grandma", motion_frames("circle", 24, 96, 96, seed=k), 25.0)
    page.refresh()
    assert "Training on <b>my signs</b>: 2 training and 1 validation takes of 1 word" in page.dataset_label.text()
    preview = page.command_preview()
    assert f"signdesk my-signs dataset --folder {tmp_path / 'mine'}" in preview
    assert f"--dataset {tmp_path / 'mine' / 'mixed' / 'alone'}" in preview
    tab.shutdown()
