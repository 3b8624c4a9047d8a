"""The Live tab on real signing: a stream of real signers (held-out clips, rests between signs) as the camera."""

from __future__ import annotations

import pytest

from signdesk.video.streams import score_spans


@pytest.mark.slow
def test_live_tab_writes_a_word_for_each_real_sign(make_window, qtbot, tiny_settings, short_real_stream):
    window = make_window(tiny_settings)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=60_000)
    live = window.live
    signing = []
    live.session.segmenter_status_changed.connect(lambda is_signing, _s: signing.append(is_signing))
    live.set_camera_file(short_real_stream.path, start=True)
    duration = short_real_stream.frame_count / short_real_stream.fps
    # the file loops: wait for the words of its first pass
    wanted = len(short_real_stream.signs)
    qtbot.waitUntil(lambda: live.model.rowCount() >= wanted, timeout=int(duration * 1000) + 15_000)
    assert True in signing  # the Signing badge was shown
    entries = [live.model.entry(i) for i in range(live.model.rowCount())]
    first_pass = [(e.start_s, e.end_s) for e in entries if e.start_s < duration]
    score = score_spans(short_real_stream.signs, first_pass)
    assert score.recall == 1.0 and score.precision == 1.0, (first_pass, short_real_stream.signs)
    assert all(e.text for e in entries)
    assert live.latencies and all(f["model_ms"] > 0 for f in live.latencies)
