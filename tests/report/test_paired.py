"""The paired hierarchical bootstrap and McNemar's test (ctm.report.paired) on hand-made predictions."""

import hashlib
import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ctm.engine.metrics import top1_summary
from ctm.report.paired import (
    PairedBootstrap,
    align,
    bootstrap_numerators,
    mcnemar_midp,
    paired_difference,
    percentile_index,
)
from ctm.report.stats import difference_interval

KEYS = [f"v{i:04d}" for i in range(1000)]


def run(correct, keys=KEYS) -> pd.Series:
    return pd.Series(np.asarray(correct, dtype=int), index=list(keys))


def pattern(right: slice, n: int = 1000) -> np.ndarray:
    out = np.zeros(n, dtype=int)
    out[right] = 1
    return out


def test_identical_predictions_give_zero_and_a_zero_width_interval():
    a = run(pattern(slice(0, 700)))
    s = paired_difference([a], [a.copy()])
    assert (s["difference"], s["ci_low"], s["ci_high"]) == (0.0, 0.0, 0.0)
    assert s["p_value"] == 1.0  # no replicate is above 0
    assert s["discordance"] == 0.0 and s["correlation"] == 1.0
    assert s["mcnemar"] == {"n10": 0, "n01": 0, "p_mid": 1.0, "per_seed": [{"n10": 0, "n01": 0, "p_mid": 1.0}]}
    # several seeds, all the same predictions: resampling seeds changes nothing either
    s3 = paired_difference([a] * 3, [a] * 2)
    assert (s3["difference"], s3["ci_low"], s3["ci_high"]) == (0.0, 0.0, 0.0)


def test_a_right_where_b_wrong():
    """A = B except on 200 of 1000 videos that only A gets right: d = +20 points, per-video variance 0.2 * 0.8."""
    b = pattern(slice(0, 500))
    a = pattern(slice(0, 700))
    s = paired_difference([run(a)], [run(b)], replicates=4000)
    assert s["difference"] == 20.0
    half = 1.959964 * np.sqrt(0.2 * 0.8 / 1000) * 100  # 2.48 points
    assert s["ci_low"] == pytest.approx(20 - half, abs=0.3) and s["ci_high"] == pytest.approx(20 + half, abs=0.3)
    assert s["p_value"] == pytest.approx(1 / 4001, rel=1e-3)  # every replicate above 0
    assert (s["mcnemar"]["n10"], s["mcnemar"]["n01"]) == (200, 0)
    assert s["mcnemar"]["p_mid"] == float(f"{2.0**-200:.4g}")  # 2 * (0 + 0.5 * 2^-200), kept to 4 digits
    assert s["discordance"] == 0.2
    # all right against all wrong: every replicate is +100
    s = paired_difference([run(np.ones(1000))], [run(np.zeros(1000))])
    assert (s["difference"], s["ci_low"], s["ci_high"]) == (100.0, 100.0, 100.0)


def newcombe(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    sa, sb = top1_summary(int(a.sum()), len(a)), top1_summary(int(b.sum()), len(b))
    _, low, high = difference_interval(sa["top1"], sa["ci_low"], sa["ci_high"], sb["top1"], sb["ci_low"],
                                       sb["ci_high"])
    return low, high


def test_negatively_correlated_correctness_widens_the_paired_interval():
    """60% vs 55%: if A and B err on different videos (r < 0) the paired interval is wider than the unpaired
    (independent) one; if they err on the same videos (r > 0) it is narrower."""
    a = pattern(slice(0, 600))
    b_neg, b_pos = pattern(slice(450, 1000)), pattern(slice(0, 550))
    neg = paired_difference([run(a)], [run(b_neg)], replicates=4000)
    pos = paired_difference([run(a)], [run(b_pos)], replicates=4000)
    assert neg["difference"] == pos["difference"] == 5.0
    assert neg["correlation"] < -0.5 < 0.5 < pos["correlation"]
    low, high = newcombe(a, b_neg)
    assert neg["ci_high"] - neg["ci_low"] > 1.2 * (high - low)  # the unpaired rule is anti-conservative here
    assert pos["ci_high"] - pos["ci_low"] < 0.5 * (high - low)
    assert neg["ci_low"] < 0 < low  # ... and would call this "beats" where the paired rule cannot


def test_seeds_are_resampled_and_averaged():
    rng = np.random.default_rng(1)
    b = [run(rng.random(1000) < 0.6)]
    spread = [run(rng.random(1000) < p) for p in (0.5, 0.7, 0.9)]
    same = [run(rng.random(1000) < 0.7) for _ in range(3)]
    s_spread, s_same = paired_difference(spread, b), paired_difference(same, b)
    means = [100 * r.mean() for r in spread]
    assert s_spread["difference"] == pytest.approx(np.mean(means) - 100 * b[0].mean(), abs=1e-4)
    assert s_spread["top1_better"] == pytest.approx(np.mean(means), abs=1e-4)
    assert s_spread["seeds_better"] == 3 and s_spread["seeds_worse"] == 1
    # seed-to-seed variation (40 points) is in the interval; three similar seeds give a much narrower one
    assert s_spread["ci_high"] - s_spread["ci_low"] > 3 * (s_same["ci_high"] - s_same["ci_low"])
    assert len(s_spread["mcnemar"]["per_seed"]) == 1


def test_bootstrap_matches_the_direct_definition():
    """The integer bincount / matrix-product route equals the statistic computed from the same draws by indexing:
    mean of A over (drawn seeds x drawn videos) minus B's."""
    rng = np.random.default_rng(2)
    a, b = (rng.random((3, 40)) < 0.7).astype(np.int64), (rng.random((2, 40)) < 0.5).astype(np.int64)
    got = bootstrap_numerators(a, b, replicates=25, seed=7)
    videos_ss, a_ss, b_ss = np.random.SeedSequence(7).spawn(3)
    idx = np.random.Generator(np.random.PCG64(videos_ss)).integers(0, 40, size=(25, 40))
    sa = np.random.Generator(np.random.PCG64(a_ss)).integers(0, 3, size=(25, 3))
    sb = np.random.Generator(np.random.PCG64(b_ss)).integers(0, 2, size=(25, 2))
    for r in range(25):
        mean_a = Fraction(int(a[sa[r]][:, idx[r]].sum()), 3 * 40)
        mean_b = Fraction(int(b[sb[r]][:, idx[r]].sum()), 2 * 40)
        assert Fraction(int(got[r]), 3 * 2 * 40) == mean_a - mean_b


def correlated(seed: int = 3, n: int = 1000, seeds: int = 3) -> tuple[list[pd.Series], list[pd.Series]]:
    rng = np.random.default_rng(seed)
    hard = rng.random(n)  # per-video difficulty shared by both cells
    a = [run(hard + 0.1 * rng.random(n) < 0.75) for _ in range(seeds)]
    b = [run(hard + 0.1 * rng.random(n) < 0.72) for _ in range(seeds)]
    return a, b


def test_deterministic_and_golden():
    a, b = correlated()
    first = json.dumps(paired_difference(a, b, alpha=0.05 / 3), sort_keys=True)
    assert json.dumps(paired_difference(a, b, alpha=0.05 / 3), sort_keys=True) == first
    s = json.loads(first)
    # golden values: numpy's PCG64 from the fixed seed and integer sums; a change here changes every report
    assert (s["difference"], s["ci_low"], s["ci_high"], s["p_value"]) == (3.5333, 2.0333, 5.1, 0.0004998)
    assert (s["mcnemar"]["n10"], s["mcnemar"]["n01"], s["discordance"], s["correlation"]) == (42, 7, 0.0487, 0.9482)
    pb = PairedBootstrap(a, b)
    numerators = bootstrap_numerators(pb.a, pb.b)  # every replicate, in draw order, little-endian int64
    assert numerators[:5].tolist() == [294, 342, 372, 372, 408]
    assert hashlib.sha256(numerators.astype("<i8").tobytes()).hexdigest() == GOLDEN_SHA256
    assert paired_difference(a, b, alpha=0.05 / 3, seed=1)["ci_low"] != s["ci_low"]  # the seed is used


GOLDEN_SHA256 = "64ecd976226849804217f09f2f101b35aaf3c0ae9fd9c11af051815e124158dd"


def test_bonferroni_levels():
    assert percentile_index(2000, 0.05) == 50  # floor(2001 * 0.025)
    assert percentile_index(2000, Fraction(1, 20) / 4) == 12  # floor(2001 * 0.00625)
    assert percentile_index(1999, 0.05) == 50  # exact decimal alpha: 2000 * 0.025 is 50, not 49.999...
    with pytest.raises(ValueError, match="replicates"):
        percentile_index(30, 0.05 / 4)
    a, b = correlated()
    pb = PairedBootstrap(a, b)
    lows, highs = zip(*(pb.interval(Fraction(1, 20) / m) for m in (1, 2, 3, 4)), strict=True)
    assert list(lows) == sorted(lows, reverse=True) and list(highs) == sorted(highs)  # wider as m grows
    assert pb.interval(Fraction(1, 80)) == (pb.points(pb.numerators[11]), pb.points(pb.numerators[2000 - 12]))
    s = pb.summary(Fraction(1, 80), 0.0, 4)
    assert s["level"] == 0.9875 and s["p_bonferroni"] == float(f"{min(1.0, 4 * pb.p_value(0.0)):.4g}")


@pytest.mark.parametrize("shift", [0.60, 0.66, 0.70, 0.72, 0.74, 0.80])
def test_interval_and_p_value_agree(shift):
    """The lower end is above the null exactly when the one-sided p is at most alpha / 2 (module docstring)."""
    rng = np.random.default_rng(4)
    hard = rng.random(600)
    a = [run(hard + 0.2 * rng.random(600) < 0.7, KEYS[:600]) for _ in range(2)]
    b = [run(hard + 0.2 * rng.random(600) < shift, KEYS[:600])]
    pb = PairedBootstrap(a, b, replicates=999)
    for alpha in (Fraction(1, 20), Fraction(1, 40), Fraction(1, 80)):
        for null in (0.0, -1.0):
            low, _ = pb.interval(alpha)
            assert (low > null) == (pb.p_value(null) <= alpha / 2), (alpha, null)


def test_mcnemar_by_hand():
    # n10 = 8, n01 = 2: P(X < 2) = 11/1024, P(X = 2) = 45/1024 for X ~ Bin(10, 1/2): mid-p = 2 (11 + 22.5) / 1024
    assert mcnemar_midp(8, 2) == 67 / 1024 == mcnemar_midp(2, 8)
    assert mcnemar_midp(3, 0) == 1 / 8  # 2 * (0 + 0.5 / 8)
    assert mcnemar_midp(5, 5) == 1.0 and mcnemar_midp(0, 0) == 1.0
    assert mcnemar_midp(4000, 3000) < 1e-30  # large counts stay exact (integers), no overflow


def test_mcnemar_combined_over_seeds():
    """Combined test: the discordant counts averaged over every (A seed, B seed) pair, rounded half up."""
    a = [run(pattern(slice(0, 10), 20), KEYS[:20]), run(pattern(slice(0, 11), 20), KEYS[:20])]
    b = [run(pattern(slice(5, 12), 20), KEYS[:20])]
    m = PairedBootstrap(a, b).mcnemar()
    # seed 1: n10 = 5 (videos 0-4), n01 = 2 (10, 11); seed 2: n10 = 5, n01 = 1 (11): mean 5 and 1.5 -> 2
    assert [(p["n10"], p["n01"]) for p in m["per_seed"]] == [(5, 2)]
    assert (m["n10"], m["n01"]) == (5, 2) and m["p_mid"] == float(f"{mcnemar_midp(5, 2):.4g}")
    assert PairedBootstrap(a, b).summary()["discordance"] == round((5 + 1.5) / 20, 4)


def test_alignment():
    a = run(pattern(slice(0, 600)))
    b = run(pattern(slice(0, 500))).drop(index=KEYS[:10])  # ten videos missing from B's run: dropped
    x, y, keys, dropped = align([a], [b], ("mine", "theirs"))
    assert x.shape == y.shape == (1, 990) and dropped == 10 and keys == KEYS[10:]
    assert paired_difference([a], [b])["difference"] == pytest.approx(100 * (590 - 490) / 990, abs=1e-4)
    shuffled = a.sample(frac=1.0, random_state=0)  # order does not matter, keys do
    assert align([shuffled], [a])[0].tolist() == align([a], [a])[0].tolist()
    other = run(pattern(slice(0, 500)), [f"split2/{k}" for k in KEYS])
    with pytest.raises(ValueError, match="mine vs theirs: no video is common"):
        align([a], [other], ("mine", "theirs"))
    half = run(pattern(slice(0, 500)), KEYS[:900] + [f"x{i}" for i in range(100)])
    with pytest.raises(ValueError, match=r"mine vs theirs: not tested on the same videos: 200 of 1100.*100 only in"):
        align([a], [half], ("mine", "theirs"))
    with pytest.raises(ValueError, match="other than 0/1"):
        align([a], [run(np.full(1000, 2))])
    with pytest.raises(ValueError, match="more than once"):
        align([a], [pd.Series([1, 0], index=["v0000", "v0000"])])
    with pytest.raises(ValueError, match="has no run"):
        align([], [a], ("mine", "theirs"))
