"""Evaluation arithmetic and reports, on hand-made scores."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from signdesk.training.evaluate import format_summary, per_gloss_csv, render_chart, summarize, true_ranks

GLOSSES = ["a", "b", "c", "d", "e", "f"]


def scores_for(ranking_rows):
    """Scores whose ordering of the glosses is the given list per clip (first = best)."""
    scores = np.zeros((len(ranking_rows), len(GLOSSES)))
    for i, order in enumerate(ranking_rows):
        for position, gloss in enumerate(order):
            scores[i, GLOSSES.index(gloss)] = -position
    return scores


def test_instance_and_class_accuracy_and_confusions():
    rankings = [
        ["a", "b", "c", "d", "e", "f"],  # a: right
        ["b", "a", "c", "d", "e", "f"],  # a: rank 2 (top-5 only), confused with b
        ["b", "c", "d", "e", "f", "a"],  # a: rank 6 (missed), confused with b
        ["b", "a", "c", "d", "e", "f"],  # b: right
    ]
    labels = [0, 0, 0, 1]
    scores = scores_for(rankings)
    assert true_ranks(scores, labels).tolist() == [0, 1, 5, 0]
    result = summarize(scores, labels, GLOSSES, answer_lengths=[1, 1, 1, 2, 1, 1])
    assert result["clips"] == 4 and result["classes"] == 2
    assert result["top1"] == pytest.approx(2 / 4)
    assert result["top5"] == pytest.approx(3 / 4)
    assert result["class_top1"] == pytest.approx((1 / 3 + 1) / 2)  # mean over classes, not clips
    assert result["class_top5"] == pytest.approx((2 / 3 + 1) / 2)
    assert result["per_gloss"] == [
        {"gloss": "a", "clips": 3, "top1": pytest.approx(1 / 3), "top5": pytest.approx(2 / 3)},
        {"gloss": "b", "clips": 1, "top1": 1.0, "top5": 1.0},
    ]
    assert result["confused"] == [{"true": "a", "predicted": "b", "count": 2}]
    # loss: mean negative log-likelihood per answer token of the true gloss
    assert result["loss"] == pytest.approx(np.mean([0, 1, 5, 0 / 2]))


def test_ties_go_to_the_earlier_glossary_word():
    scores = np.zeros((1, 3))
    assert true_ranks(scores, [0]).tolist() == [0]
    assert true_ranks(scores, [2]).tolist() == [2]


def report():
    base = summarize(scores_for([["b", "a", "c", "d", "e", "f"], ["a", "b", "c", "d", "e", "f"]]), [0, 1], GLOSSES)
    adapter = summarize(scores_for([["a", "b", "c", "d", "e", "f"], ["b", "a", "c", "d", "e", "f"]]), [0, 1], GLOSSES)
    return {"dataset": {"name": "wlasl300"}, "split": "test", "frames": 8, "glossary_size": 6,
            "results": {"base": base, "adapter": adapter},
            "literature": {"subset": "wlasl300", "published": {"I3D (Li et al. 2020)": {"top1": 56.14}}}}


def test_summary_table_and_csv_side_by_side():
    text = format_summary(report())
    assert "base" in text and "adapter" in text
    assert "top-1                    0.0 %       100.0 %" in text
    assert "WLASL300 with the official split" in text and "56.1 %" in text
    rows = list(csv.DictReader(io.StringIO(per_gloss_csv(report()))))
    assert rows[0] == {"gloss": "a", "clips": "1", "base_top1": "0.0", "base_top5": "1.0", "adapter_top1": "1.0",
                       "adapter_top5": "1.0"}


def test_chart_is_a_png():
    from PIL import Image

    image = Image.open(io.BytesIO(render_chart(report())))
    assert image.format == "PNG" and image.width == 760 and image.height > 100
    # bars are drawn: the base model's grey and the adapter's blue both appear
    colors = {c for _, c in image.getcolors(maxcolors=100000)}
    assert (150, 150, 150) in colors and (31, 119, 180) in colors
