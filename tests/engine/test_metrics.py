import math

import pytest
import torch

from ctm.engine.metrics import (
    average_views,
    bootstrap_interval,
    confusion_matrix,
    per_class_accuracy,
    top1_summary,
    topk_correct,
    wilson_interval,
)


def test_wilson_interval_by_hand():
    # 80/100: centre (0.8 + z^2/200)/(1 + z^2/100), half z*sqrt(0.0016 + z^2/40000)/(1 + z^2/100)
    z = 1.959963984540054
    denom = 1 + z * z / 100
    centre = (0.8 + z * z / 200) / denom
    half = z * math.sqrt(0.8 * 0.2 / 100 + z * z / 40000) / denom
    low, high = wilson_interval(80, 100)
    assert low == pytest.approx(centre - half) and high == pytest.approx(centre + half)
    assert low == pytest.approx(0.7111, abs=1e-4) and high == pytest.approx(0.8666, abs=1e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 0)


def test_top1_summary_in_percent():
    s = top1_summary(3, 4)
    assert s["top1"] == 75.0 and s["ci_low"] < 75 < s["ci_high"] and s["num_videos"] == 4


def test_average_views_rules():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    p = logits.softmax(-1)
    assert torch.allclose(average_views(logits, "softmax_mean"), p.mean(0))
    assert torch.allclose(average_views(logits, "softmax_sum"), p.sum(0))
    assert torch.allclose(average_views(logits, "logit_mean"), torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError):
        average_views(logits, "max")


def hand_made():
    # 4 videos, 3 classes; scores chosen so that top-1 = videos 0 and 3, top-2 adds video 1
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.1, 0.4], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5]])
    labels = torch.tensor([0, 2, 0, 2])
    return scores, labels


def test_topk_by_hand():
    scores, labels = hand_made()
    assert topk_correct(scores, labels, 1).tolist() == [True, False, False, True]
    assert topk_correct(scores, labels, 2).tolist() == [True, True, False, True]
    assert topk_correct(scores, labels, 5).all()  # k capped at the number of classes


def test_confusion_and_per_class_by_hand():
    scores, labels = hand_made()
    cm = confusion_matrix(labels, scores.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 1]]
    assert per_class_accuracy(cm) == [50.0, None, 50.0]


def test_bootstrap_interval():
    flags = torch.tensor([1] * 80 + [0] * 20)
    low, high = bootstrap_interval(flags, samples=4000)
    assert 6 <= 80 - low <= 10 and 6 <= high - 80 <= 10  # about +-1.96 * 4 points
    assert bootstrap_interval(flags, samples=4000) == (low, high)  # seeded
    assert bootstrap_interval(torch.ones(10)) == (100.0, 100.0)
