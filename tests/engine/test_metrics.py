import math

import pytest
import torch

from ctm.engine.metrics import average_views, top1_summary, wilson_interval


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
