"""Settings apply without a restart where possible, persist, and the window comes back where it was."""

from __future__ import annotations

from PySide6.QtCore import QRect


def test_settings_round_trip_through_the_panel(make_window, qtbot, fake_interpreter):
    from signdesk.config import load_settings

    window = make_window(interpreter=fake_interpreter)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    panel = window.settings_panel
    panel.threshold.setValue(0.6)
    panel.top_k.setValue(3)
    panel.frames.setValue(12)
    panel.segmentation.setCurrentIndex(panel.segmentation.findData("continuous"))
    panel.stride.setValue(6)
    with qtbot.waitSignal(window.engine.reconfigured, timeout=5_000):
        panel.apply_button.click()

    saved = load_settings()  # a fresh read of the user's file
    assert saved["live.threshold"] == 0.6 and saved["top_k"] == 3 and saved["frames"] == 12
    assert saved["live.segmentation"] == "continuous" and saved["live.stride"] == 6
    assert fake_interpreter.configured[-1] == {"top_k": 3, "num_frames": 12}  # no reload for these
    assert window.live.model.transcript.threshold == 0.6
    assert panel.changes() == {}

    fresh = make_window(saved, interpreter=fake_interpreter, start=False)
    assert fresh.settings_panel.values()["live.stride"] == 6


def _adapter_folder(folder, base_model: str, glossary=None):
    """A PEFT adapter folder as far as SignDesk reads it before loading (config, weights file, metadata)."""
    import json

    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base_model}))
    (folder / "adapter_model.safetensors").write_bytes(b"")
    meta = {"base_model": {"id": base_model}, **({"glossary": glossary} if glossary else {})}
    (folder / "signdesk.json").write_text(json.dumps(meta))
    return folder


def test_adapter_switch_without_reload(make_window, qtbot, fake_interpreter, tmp_path):
    loads = []

    def loader(settings, progress, allow_download):
        loads.append(settings["model.id"])
        return fake_interpreter

    window = make_window(loader=loader)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    _adapter_folder(tmp_path / "my-adapter", window.settings["model.id"], ["hello", "water"])
    with qtbot.waitSignal(window.engine.reconfigured, timeout=5_000) as done:
        assert window.apply_settings({"model.adapter": str(tmp_path / "my-adapter")})
    assert fake_interpreter.adapter == str(tmp_path / "my-adapter")
    assert done.args[0].adapter == str(tmp_path / "my-adapter")
    assert "my-adapter" in window.status.model.text()
    assert loads == [window.settings["model.id"]]  # loaded once
    assert fake_interpreter.configured[-1]["glossary"] == ["hello", "water"]  # the adapter brought its signs

    with qtbot.waitSignal(window.engine.loaded, timeout=5_000):  # a device change reloads
        window.apply_settings({"device": "cpu"})
    assert len(loads) == 2


def test_an_adapter_for_another_base_model_reloads_with_that_model(make_window, qtbot, fake_interpreter, tmp_path):
    loads = []

    def loader(settings, progress, allow_download):
        from signdesk.engine.adapters import adapter_defaults

        loads.append(adapter_defaults(settings)[0]["model.id"])  # what the real loader completes
        return fake_interpreter

    window = make_window(loader=loader)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    adapter = _adapter_folder(tmp_path / "small-adapter", "OpenGVLab/InternVL3-1B-hf")
    with qtbot.waitSignal(window.engine.loaded, timeout=5_000):
        assert window.apply_settings({"model.adapter": str(adapter)})
    assert loads == [window.settings["model.id"], "OpenGVLab/InternVL3-1B-hf"]


def test_a_broken_adapter_is_refused_before_anything_changes(make_window, qtbot, fake_interpreter, tmp_path,
                                                              monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    window = make_window(interpreter=fake_interpreter)
    qtbot.waitUntil(lambda: window.banner.state == "ready", timeout=10_000)
    assert not window.apply_settings({"model.adapter": str(tmp_path / "nowhere")})
    assert "no such adapter folder" in warnings[0]


def test_a_wrong_value_is_refused_and_nothing_changes(make_window, qtbot, fake_interpreter, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    window = make_window(interpreter=fake_interpreter)
    before = window.settings["live.min_sign_s"]
    assert not window.apply_settings({"live.min_sign_s": 2.0, "live.max_sign_s": 1.0})
    assert not window.apply_settings({"top_k": 0, "live.threshold": 0.9})
    assert window.settings["live.min_sign_s"] == before and window.settings["live.threshold"] != 0.9
    assert "longest sign" in warnings[0] and "top_k" in warnings[1]


def test_geometry_and_layout_are_restored(make_window, qtbot, fake_interpreter):
    window = make_window(interpreter=fake_interpreter, start=False)
    window.resize(700, 520)  # the offscreen screen is 800x600
    window.move(40, 30)
    window.tabs.setCurrentIndex(1)
    window.live.transcript.set_text_scale(3.0)
    window.close()

    again = make_window(interpreter=fake_interpreter, start=False)
    assert (again.width(), again.height()) == (700, 520)
    assert again.tabs.currentIndex() == 1
    assert again.live.transcript.text_scale == 3.0


def test_geometry_off_every_screen_is_moved_back(make_window, qtbot, fake_interpreter, tmp_path):
    from signdesk.ui import window_state

    window = make_window(interpreter=fake_interpreter, start=False)
    window.setGeometry(QRect(20000, 15000, 800, 600))  # a monitor that is gone
    window.close()
    again = make_window(interpreter=fake_interpreter, start=False)
    assert window_state.on_some_screen(again.frameGeometry())


def test_damaged_state_file_is_ignored(make_window, qtbot, fake_interpreter, tmp_path):
    (tmp_path / "window.json").write_text("{not json")
    window = make_window(interpreter=fake_interpreter, start=False)
    assert window.isVisible()


def test_broken_settings_file_opens_with_defaults_and_says_so(tmp_path):
    from signdesk import paths
    from signdesk.ui.app import load_gui_settings

    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text("live:\n  threshold: 7\n")
    settings, error = load_gui_settings()
    assert error and "live.threshold" in error
    assert settings["live.threshold"] == 0.35
    assert settings.user_file == paths.settings_file()
