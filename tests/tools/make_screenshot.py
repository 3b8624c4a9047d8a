"""Take docs/screenshots/live.png: the real window under a real X server (Xvfb), with a transcript in it.

    xvfb-run -s "-screen 0 1360x820x24" python tests/tools/make_screenshot.py [OUT.png]

The camera is a generated video (a moving "hand" between rests), so no one's image is published; the
model is the tiny random-weight test model, so the words are random picks from a small glossary and
their confidences are low: it shows the window, not the model's accuracy.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GLOSSARY = ["hello", "thank you", "help", "yes", "no", "please", "eat", "drink", "home"]


def main() -> int:
    default = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "live.png"
    out = Path(sys.argv[1] if len(sys.argv) > 1 else default).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="signdesk-shot-"))
    os.environ["SIGNDESK_HOME"] = str(tmp / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from PySide6.QtCore import QEventLoop, QTimer

    from signdesk.config import load_settings
    from signdesk.engine.testmodel import make_test_model
    from signdesk.ui.app import make_application
    from signdesk.ui.main_window import MainWindow
    from signdesk.video.synth import motion_frames, write_video

    _app = make_application()  # kept alive until the end
    model = make_test_model(tmp / "tiny")
    parts = [motion_frames(m, 36, 640, 480, still_before=24, seed=i)
             for i, m in enumerate(("left-right", "circle", "up-down", "diagonal"))]
    video = write_video(tmp / "demo-camera.mp4", np.concatenate(parts), 30.0)
    glossary = tmp / "demo-glossary.txt"
    glossary.write_text("\n".join(GLOSSARY) + "\n", encoding="utf-8")
    settings = load_settings({"model.id": str(model), "glossary": str(glossary), "live.threshold": 0.112,
                              "top_k": 5})
    window = MainWindow(settings, camera_file=str(video), state_file=tmp / "window.json")
    window.resize(1320, 780)
    window.move(20, 20)
    window.show()
    window.start()

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    deadline = time.monotonic() + 180
    live = window.live
    while time.monotonic() < deadline:
        spin(0.05)
        if live.model.rowCount() >= 7 and live.view._signing and live.view._collected_s > 0.4:
            break
    row = live.model.rowCount() - 2
    index = live.model.index(row)
    live.transcript.list.setCurrentIndex(index)
    menu = live.transcript.alternatives_menu(row)  # what a click on a word shows: its top-k, to correct it
    rect = live.transcript.list.visualRect(index)
    menu.popup(live.transcript.list.viewport().mapToGlobal(rect.bottomLeft()))
    spin(0.4)
    screen = window.screen()
    shot = screen.grabWindow(0, window.x(), window.y(), window.frameGeometry().width(),
                             window.frameGeometry().height())
    shot.save(str(out))
    menu.close()
    print(f"{out}: {shot.width()}x{shot.height()}, {live.model.rowCount()} words")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
