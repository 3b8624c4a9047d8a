"""Seeing and tuning motion detection: the motion meter, Hold still, the sensitivity setting, clip size."""

from __future__ import annotations

from itertools import pairwise

import pytest

from signdesk.ui.live_view import HOLD_STILL_TEXT
from signdesk.ui.motion_meter import percent


@pytest.fixture
def running_live(make_window, qtbot, fake_interpreter, camera_video):
    """A window whose Live tab plays the fake camera (two signs with rests, looped)."""
    window = make_window(interpreter=fake_interpreter, camera_file=str(camera_video))
    qtbot.waitUntil(lambda: window.live.session.state == "running", timeout=10_000)
    return window


def test_the_meter_follows_the_motion_while_the_camera_runs(running_live, qtbot):
    live = running_live.live
    session, meter = live.session, live.view.meter
    levels, states = [], []
    session.motion_measured.connect(lambda energy, threshold: levels.append((energy, threshold)))
    session.segmenter_status_changed.connect(lambda signing, collected: states.append((signing, int(collected * 10))))

    # the fake camera's signs lift the level above the threshold, and a sign is collected and ends;
    # meanwhile the meter keeps getting levels that the overlay does not hear of (nothing changed)
    qtbot.waitUntil(lambda: any(e > t for e, t in levels) and any(signing for signing, _ in states)
                    and states[-1][0] is False and len(levels) >= len(states) + 5, timeout=20_000)
    with qtbot.waitSignal(session.motion_measured, timeout=5_000) as measured:
        pass
    energy, threshold = measured.args
    assert (meter.energy, meter.threshold) == (energy, threshold)  # the view got this very level
    assert threshold >= 0.6 * 0.99  # the on-threshold at sensitivity 5, raised only by the rest floor
    assert meter.isVisible() and meter.levels >= len(levels)
    assert meter.accessibleName() == "Motion meter"
    assert meter.text() == f"Motion: {percent(energy)} % of the picture; a sign starts above {percent(threshold)} %"
    assert meter.fraction(threshold) == pytest.approx(1 / 3)
    assert all(a != b for a, b in pairwise(states))  # never the same state twice

    live.stop()
    assert meter.isHidden() and meter.threshold == 0.0


def test_hold_still_calibrates_and_says_how_much_the_scene_moves(make_window, qtbot, fake_interpreter,
                                                                   camera_video):
    window = make_window(interpreter=fake_interpreter, start=False)
    live = window.live
    assert not live.hold_button.isEnabled() and not live.calibrate()  # nothing to calibrate without a camera
    assert "at rest" in live.hold_button.toolTip()
    window._camera_file = str(camera_video)
    window.start()
    qtbot.waitUntil(live.hold_button.isEnabled, timeout=10_000)  # enabled once frames come

    notes = []
    live.status_message.connect(lambda text, ms: notes.append(text))
    with qtbot.waitSignal(live.session.calibration_finished, timeout=10_000) as finished:
        live.hold_button.click()
        assert live.view.calibrating and live.view.accessibleDescription() == HOLD_STILL_TEXT
        assert not live.hold_button.isEnabled()  # one calibration at a time
    floor = finished.args[0]
    expected = f"Calibrated: rest moves {percent(floor)} % of the picture"
    assert live.hint.text() == expected and notes == [expected]
    assert not live.view.calibrating and live.hold_button.isEnabled()
    meter = live.session.segment_thread.segmenter.meter
    assert meter.calibrated_floor == pytest.approx(floor)
    assert meter.on_threshold == pytest.approx(0.6 + 1.5 * floor)  # the rest floor raises the threshold


def test_the_sensitivity_setting_reaches_the_running_segmenter(running_live, qtbot):
    from signdesk.config import load_settings

    window = running_live
    thread = window.live.session.segment_thread
    assert thread.segmenter.meter.sensitivity == 5.0
    qtbot.waitUntil(lambda: window.live.view.meter.threshold > 0, timeout=5_000)
    before = window.live.view.meter.threshold  # 0.6 % plus the scene's rest floor
    panel = window.settings_panel
    assert panel.sensitivity.value() == 5.0 and panel.sensitivity.accessibleName()
    panel.sensitivity.setValue(9.0)
    assert panel.changes() == {"live.sensitivity": 9.0}
    panel.apply_button.click()
    # no restart: the same thread takes the new segmenter at its next frame
    qtbot.waitUntil(lambda: thread.segmenter.meter.sensitivity == 9.0, timeout=5_000)
    assert window.live.session.segment_thread is thread
    assert load_settings()["live.sensitivity"] == 9.0  # saved
    # the meter's tick moves with it: 0.6 % × 5/9 (the rest floor's part hardly moves meanwhile)
    qtbot.waitUntil(lambda: window.live.view.meter.threshold < before - 0.2, timeout=5_000)


def test_set_clip_size_gives_frames_and_clips_the_model_size(running_live, qtbot):
    live = running_live.live
    # the window gives the model's own size once it is loaded: after that, this test's size stays
    qtbot.waitUntil(lambda: running_live.banner.state == "ready", timeout=10_000)
    size = (48, 32)  # width, height: not square, so a swapped order fails
    live.set_clip_size(size)
    assert live.session.clip_size == size
    with qtbot.waitSignal(live.session.frame_captured, timeout=5_000,
                          check_params_cb=lambda f: f.clip_image is not None and f.clip_image.shape == (32, 48, 3)):
        pass
    # the segmenter hands those copies to the model's clips
    with qtbot.waitSignal(live.session.clip_segmented, timeout=20_000,
                          check_params_cb=lambda clip: all(f.shape == (32, 48, 3) for f in clip.frames)) as segmented:
        pass
    assert segmented.args[0].frames

    # a camera started later gets the size too; None turns the copies off
    live.start()
    with qtbot.waitSignal(live.session.frame_captured, timeout=10_000,
                          check_params_cb=lambda f: f.clip_image is not None and f.clip_image.shape == (32, 48, 3)):
        pass
    live.set_clip_size(None)
    with qtbot.waitSignal(live.session.frame_captured, timeout=5_000, check_params_cb=lambda f: f.clip_image is None):
        pass
