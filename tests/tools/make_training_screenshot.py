"""Take docs/screenshots/training.png: the Training tab mid-training, in the real window under Xvfb.

    xvfb-run -s "-screen 0 1400x940x24" python tests/tools/make_training_screenshot.py [OUT.png [PAGES_DIR]]

Everything is local and generated: a loopback HTTP server plays the WLASL hosts (generated sign-like
videos, a few dead links), and the model is the tiny random-weight test model, so the numbers show the
window at work, not a real model's accuracy. The wizard is driven through its own pages: index,
glossary, download and prepare run as real jobs; then a training run is started and photographed
while it runs, and stopped. With PAGES_DIR, the stopped run is also evaluated and put to use, and
every page is saved there too (to review the whole tab).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GLOSSES = ("hello", "thank you", "please", "yes", "no", "help", "drink", "home")
SPLITS = ("train",) * 7 + ("val", "test")


def main() -> int:
    default = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "training.png"
    out = Path(sys.argv[1] if len(sys.argv) > 1 else default).resolve()
    pages_dir = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else None
    tmp = Path(tempfile.mkdtemp(prefix="signdesk-training-shot-"))
    os.environ["SIGNDESK_HOME"] = str(tmp / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from PySide6.QtCore import QEventLoop, QTimer

    from signdesk.config import load_settings
    from signdesk.data.loopback import JUNK_114, LoopbackServer, Route
    from signdesk.engine.testmodel import make_test_model
    from signdesk.ui.app import make_application
    from signdesk.ui.main_window import MainWindow
    from signdesk.video.synth import MOTIONS, motion_frames, write_video

    _app = make_application()

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def wait(condition, what: str, limit: float = 300.0) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}")
            spin(0.05)

    model = make_test_model(tmp / "tiny")
    server = LoopbackServer().start()
    entries = []
    for g, gloss in enumerate(GLOSSES):
        instances = []
        for k, split in enumerate(SPLITS):
            frames = motion_frames(MOTIONS[g % len(MOTIONS)], 20, 96, 72, seed=g * 100 + k)
            body = write_video(tmp / "clips" / f"{g}-{k}.mp4", frames).read_bytes()
            url = server.add(f"/{g}-{k}.mp4", Route(body=body))
            instances.append({"video_id": f"{g:02d}{k:03d}", "url": url, "split": split, "signer_id": k + 1,
                              "source": "demo", "frame_start": 1, "frame_end": -1, "fps": 25,
                              "bbox": [0, 0, 96, 72], "instance_id": k, "variation_id": 0})
        if g % 3 == 0:  # like the real index: some links are dead, some hosts answer junk
            instances.append({**instances[0], "video_id": f"{g:02d}900", "url": server.url(f"/gone-{g}.mp4")})
            server.add(f"/junk-{g}.mp4", Route(body=JUNK_114))
            instances.append({**instances[0], "video_id": f"{g:02d}901", "url": server.url(f"/junk-{g}.mp4")})
        entries.append({"gloss": gloss, "instances": instances})
    index = tmp / "WLASL_v0.3.json"
    index.write_text(json.dumps(entries))

    settings = load_settings({"model.id": str(model)})
    window = MainWindow(settings, state_file=tmp / "window.json")
    window.resize(1360, 900)
    window.move(20, 20)
    window.show()
    window.start()
    tab = window.training
    window.tabs.setCurrentWidget(tab)

    page = tab.index_page
    page.set_path(str(index))
    wait(lambda: page.complete, "the index statistics")
    tab.go_to("glossary")
    glossary = tab.glossary_page
    words = tmp / "everyday.txt"
    words.write_text("# greetings and everyday signs\n" + "\n".join(GLOSSES) + "\n", encoding="utf-8")
    glossary.use_glossary(str(words))
    wait(lambda: glossary.complete, "the glossary check")

    tab.go_to("download")
    download = tab.download_page
    download.workers.setValue(4)
    download.host_delay.setValue(0.0)
    download.per_host.setValue(4)
    download.start()
    wait(lambda: download.panel.last_state is not None, "the download")
    wait(lambda: download.complete, "the download report")

    tab.go_to("prepare")
    prepare = tab.prepare_page
    prepare.start()
    wait(lambda: prepare.panel.last_state is not None and prepare.complete, "the prepared dataset")

    tab.go_to("train")
    train = tab.finetune_page
    train.preset_buttons["standard"].click()
    train.advanced.setChecked(True)
    for widget, value in ((train.lr, 0.002), (train.max_steps, 400), (train.batch, 2), (train.accum, 1),
                          (train.frames, 4), (train.patience, 0), (train.rank, 16), (train.epochs, 20.0)):
        widget.setValue(value)
    train.advanced.setChecked(False)  # the chart matters more in the picture than the spin boxes
    train.device.setCurrentText("cpu")
    train.name_edit.setText("everyday-8-signs")
    train.name_edit.editingFinished.emit()
    train.start()
    wait(lambda: len(train.chart.accuracies) >= 6 and len(train.chart.losses) >= 25, "training progress")
    train.inner.parentWidget().parentWidget().verticalScrollBar().setValue(10_000)  # the chart in view
    spin(0.5)
    def grab(path: Path) -> Any:
        shot = window.screen().grabWindow(0, window.x(), window.y(), window.frameGeometry().width(),
                                          window.frameGeometry().height())
        path.parent.mkdir(parents=True, exist_ok=True)
        shot.save(str(path))
        return shot

    shot = grab(out)
    print(f"{out}: {shot.width()}x{shot.height()}, step {train.stats['step'].text()}, "
          f"{len(train.chart.losses)} loss points")
    job = train.panel.job
    train.panel.request_stop()
    wait(lambda: train.panel.last_state is not None, "the training job to stop", 120)
    if pages_dir is not None:
        tab.go_to("evaluate")
        tab.evaluate_page.start()
        wait(lambda: tab.evaluate_page.panel.last_state is not None and tab.evaluate_page.complete, "evaluation")
        tab.go_to("use")
        tab.use_page.use()
        wait(lambda: tab.use_page.complete, "the adapter in use")
        window.tabs.setCurrentWidget(tab)
        for step in tab.pages:
            tab.go_to(step)
            spin(0.3)
            grab(pages_dir / f"{list(tab.pages).index(step) + 1}-{step}.png")
    window.close()
    server.stop()
    if job is not None and job.is_alive():
        job.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
