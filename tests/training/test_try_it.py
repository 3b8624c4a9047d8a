"""The README's "try training" path, command for command: it must learn with no settings of one's own.

A new user types exactly these (from the folder they work in), on a CPU, with the offline test model:

    signdesk model make-test tiny-model
    signdesk synth-dataset demo-data
    signdesk train --dataset demo-data --out my-adapter --model tiny-model
    signdesk evaluate --dataset demo-data --adapter my-adapter

With the real defaults (tuned for InternVL3-2B on WLASL: rate 2e-4, 3 epochs of 16-clip steps) the tiny
random model stays at chance; ``train`` must pick up the settings the synthetic dataset recommends.
"""

from __future__ import annotations

import json
import time

import pytest

from signdesk.cli import main

pytestmark = pytest.mark.slow

README_COMMANDS = [
    ["model", "make-test", "tiny-model"],
    ["synth-dataset", "demo-data"],
    ["train", "--dataset", "demo-data", "--out", "my-adapter", "--model", "tiny-model"],
    ["evaluate", "--dataset", "demo-data", "--adapter", "my-adapter"],
]


def test_the_readme_try_it_commands_learn(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    outputs = []
    for argv in README_COMMANDS:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"signdesk {' '.join(argv)} -> {code}\n{err[-2000:]}"
        outputs.append((out, err))
    seconds = time.monotonic() - started
    train_err = outputs[2][1]
    assert "demo-data/train.yaml" in train_err  # train says whose settings it used
    report = json.loads((tmp_path / "my-adapter" / "eval-test" / "metrics.json").read_text())
    base, adapter = report["results"]["base"], report["results"]["adapter"]
    assert report["split"] == "test" and adapter["clips"] == 24  # held-out clips, 4 signs: chance is 25 %
    assert base["top1"] <= 0.5, base
    assert adapter["top1"] >= 0.75, (adapter, train_err[-3000:])
    print(f"\nREADME try-it path: base top-1 {base['top1']:.3f}, adapter top-1 {adapter['top1']:.3f}, "
          f"{seconds:.1f} s for all four commands")
