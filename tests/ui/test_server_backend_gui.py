"""The window on the server backend: the status bar names it, and a server gone away never freezes the GUI."""

from __future__ import annotations

import itertools
import time

import pytest

pytestmark = pytest.mark.gui


def test_status_names_server_and_gui_stays_responsive_when_it_goes_down(make_window, qtbot, tiny_model_dir,
                                                                        monkeypatch):
    from PySide6.QtCore import QTimer

    from signdesk.config import load_settings
    from signdesk.engine.vllm_standin import StandIn

    monkeypatch.setenv("SIGNDESK_API_KEY", "gui-key")
    stand_in = StandIn(tiny_model_dir, api_key="gui-key").start()
    try:
        settings = load_settings({"model.id": str(tiny_model_dir), "backend": "server", "server.url": stand_in.url,
                                  "server.timeout": 2.0, "server.retries": 2})
        window = make_window(settings, start=False)
        with qtbot.waitSignal(window.engine.loaded, timeout=30_000):
            window.start()
        host = stand_in.url.split("//")[1]
        assert window.status.device.text() == f"Device: server ({host})"
    finally:
        stand_in.stop()  # the server goes away
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    with qtbot.waitSignal(window.engine.reconfigure_failed, timeout=30_000) as failed:
        window.engine.set_adapter("signs-v2")  # the engine thread asks the server which adapters it serves
    timer.stop()
    message = failed.args[0]
    assert message.startswith("cannot reach the server at http://127.0.0.1") and "\n" not in message
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 5 and max(gaps) < 0.5  # the GUI thread kept running while the requests were retried
