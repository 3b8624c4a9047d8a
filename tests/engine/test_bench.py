"""``signdesk bench``: one run measures every visual profile and CPU arithmetic on the same clip."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_bench_measures_each_profile_and_arithmetic_against_quality_float32(capsys, tiny_model_dir):
    from signdesk.cli import main

    assert main(["bench", "--model", str(tiny_model_dir), "--runs", "1", "--glossary-size", "40",
                 "--arithmetic", "float32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {(r["profile"], r["arithmetic"]): r for r in report["rows"]}
    assert report["rows"][0]["profile"] == "quality" and report["rows"][0]["arithmetic"] == "float32"
    assert set(rows) == {("quality", "float32"), ("balanced", "float32"), ("fast", "float32")}
    quality, balanced, fast = (rows[(p, "float32")] for p in ("quality", "balanced", "fast"))
    assert quality["speedup_vs_quality_float32"] == 1.0
    # fewer visual tokens per frame and fewer frames: the prompts shrink in that order
    assert quality["prompt_tokens"] > balanced["prompt_tokens"] > fast["prompt_tokens"]
    assert fast["frames"] < balanced["frames"] == quality["frames"]
    assert balanced["frame_size"][0] * 2 == quality["frame_size"][0]
    for row in rows.values():
        m = row["medians_ms"]
        assert m["total_ms"] >= m["model_ms"] > 0 and 0 <= row["non_model_share"] <= 1
        assert row["scored"] <= 40
    assert report["baseline"]["ratios"]["vocab_vs_generate"] > 0


def test_bench_with_one_profile_still_measures_the_baseline(capsys, tiny_model_dir):
    from signdesk.cli import main

    assert main(["bench", "--model", str(tiny_model_dir), "--runs", "1", "--glossary-size", "20",
                 "--arithmetic", "float32", "--profile", "fast"]) == 0
    out = capsys.readouterr().out
    lines = [line.split()[:2] for line in out.splitlines() if line.startswith(("quality", "fast", "balanced"))]
    assert lines == [["quality", "float32"], ["fast", "float32"]]
