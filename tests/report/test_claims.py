import json
import math
import statistics
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ctm.engine.metrics import top1_summary
from ctm.report.claims import (
    AT_LEAST,
    BEATS,
    CLAIMS,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MARGIN,
    NOT_EVALUATED,
    PAIRED,
    UNPAIRED,
    Claim,
    Comparison,
    combine,
    evaluate_claims,
    verdict,
    write_claims,
)
from ctm.report.stats import bonferroni_alpha, difference_interval, mean_interval, normal_quantile, t975, widen


def test_t_quantiles():
    assert t975(2) == pytest.approx(4.3027, abs=1e-4)
    assert t975(30) == pytest.approx(2.0423, abs=3e-3)  # Cornish-Fisher beyond the table
    assert t975(10_000) == pytest.approx(1.96, abs=1e-3)
    with pytest.raises(ValueError):
        t975(0)


def test_mean_interval_by_hand():
    mean, std, low, high = mean_interval([96.0, 97.0, 98.0])
    assert (mean, std) == (97.0, 1.0)
    assert (low, high) == pytest.approx((97 - 4.302653 / math.sqrt(3), 97 + 4.302653 / math.sqrt(3)))


def test_newcombe_interval_by_hand():
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> difference 0.2000, hybrid score interval 0.0524 to 0.3339.
    a, b = top1_summary(56, 70), top1_summary(48, 80)
    d, low, high = difference_interval(a["top1"], a["ci_low"], a["ci_high"], b["top1"], b["ci_low"], b["ci_high"])
    assert d == pytest.approx(20.0)
    assert (low, high) == pytest.approx((5.24, 33.39), abs=0.01)


def test_verdict_rule_on_hand_made_intervals():
    assert verdict(0.5, 3.0, BEATS) == HOLDS
    assert verdict(-3.0, -0.5, BEATS) == FAILS
    assert verdict(-1.0, 3.0, BEATS) == INCONCLUSIVE
    assert verdict(-MARGIN / 2, 2.0, AT_LEAST) == HOLDS  # any loss is within the margin
    assert verdict(-MARGIN * 3, 2.0, AT_LEAST) == INCONCLUSIVE
    assert verdict(-MARGIN / 2, -0.1, AT_LEAST) == FAILS  # significantly worse, even if by little
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([INCONCLUSIVE, FAILS, NOT_EVALUATED]) == FAILS
    assert combine([HOLDS, NOT_EVALUATED]) == NOT_EVALUATED


def frame(cells: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """A one-column table frame from {row: (correct, videos)}, intervals from ctm.engine.metrics."""
    rows = []
    for row, (correct, total) in cells.items():
        s = top1_summary(correct, total)
        rows.append({"row": row, "column": "top1", "kind": "reproduced", "reproduced": s["top1"],
                     "ci_low": s["ci_low"], "ci_high": s["ci_high"]})
    return pd.DataFrame(rows)


CLAIM = Claim("c", "b and c beat a", "test", (Comparison("table1", "tccm", "baseline", BEATS),
                                               Comparison("table1", "path2", "baseline", BEATS)))


@pytest.mark.parametrize(("n", "tccm", "path2", "expected"), [
    (1000, 700, 720, HOLDS),  # +10 and +12 points over a 60% baseline on 1000 videos: both intervals above 0
    (1000, 700, 610, INCONCLUSIVE),  # +1 point: the interval straddles 0
    (1000, 700, 500, FAILS),  # -10 points
    (100, 70, 72, INCONCLUSIVE),  # the same +10/+12 points on 100 videos are not significant
])
def test_claims_from_hand_made_numbers(n, tccm, path2, expected):
    frames = {"table1": frame({"baseline": (6 * n // 10, n), "tccm": (tccm, n), "path2": (path2, n)})}
    (result,) = evaluate_claims(frames, claims=(CLAIM,))
    assert result["verdict"] == expected
    first = result["comparisons"][0]
    assert first["difference"] == pytest.approx(100 * tccm / n - 60)
    assert first["ci_low"] < first["difference"] < first["ci_high"]
    assert first["paper_difference"] > 0  # the paper's own difference, from ctm.report.paper


def test_at_least_as_good_with_equal_results():
    claim = Claim("c", "3 blocks >= 1", "t", (Comparison("table3", "three", "one", AT_LEAST),))
    big = {"table3": frame({"one": (39000, 50000), "three": (38950, 50000)})}  # -0.1 point, interval ~ +-0.5
    small = {"table3": frame({"one": (78, 100), "three": (78, 100)})}  # equal, but the interval is +-11 points
    assert evaluate_claims(big, claims=(claim,))[0]["verdict"] == HOLDS
    assert evaluate_claims(small, claims=(claim,))[0]["verdict"] == INCONCLUSIVE


def test_group_cells_use_their_interval():
    """A 3-split mean's cell carries its own interval; the difference uses it (MOVER)."""
    claim = Claim("c", "ctm beats baseline", "t", (Comparison("table6", "ctm", "baseline", BEATS, "ucf101"),))
    m_b, _, lo_b, hi_b = mean_interval([90.0, 91.0, 92.0])
    m_c, _, lo_c, hi_c = mean_interval([95.0, 96.0, 97.0])
    df = pd.DataFrame([
        {"row": "baseline", "column": "ucf101", "kind": "reproduced", "reproduced": m_b, "ci_low": lo_b,
         "ci_high": hi_b},
        {"row": "ctm", "column": "ucf101", "kind": "reproduced", "reproduced": m_c, "ci_low": lo_c, "ci_high": hi_c},
    ])
    (result,) = evaluate_claims({"table6": df}, claims=(claim,))
    half = 4.302653 / math.sqrt(3) * statistics.stdev([90.0, 91.0, 92.0])
    assert result["comparisons"][0]["ci_low"] == pytest.approx(5.0 - math.sqrt(2) * half, abs=1e-4)
    assert result["verdict"] == HOLDS


def test_missing_tables_are_not_evaluated_and_files_are_written(tmp_path):
    results = write_claims({"table1": None}, tmp_path, "embedded")
    assert [r["key"] for r in results] == [c.key for c in CLAIMS]
    assert all(r["verdict"] == NOT_EVALUATED for r in results)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["margin"] == MARGIN and len(data["claims"]) == len(CLAIMS)
    md = (tmp_path / "claims.md").read_text()
    assert all(c.text in md for c in CLAIMS) and "NOT EVALUATED" in md


def test_bonferroni_and_widening():
    assert bonferroni_alpha(4) == Fraction(1, 80) and bonferroni_alpha(1) == Fraction(1, 20)
    with pytest.raises(ValueError):
        bonferroni_alpha(0)
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(1 - 0.0125 / 2) == pytest.approx(2.497705, abs=1e-6)
    low, high = widen(2.0, 0.0, 5.0, 0.05)  # 95% stays as it is
    assert (low, high) == pytest.approx((0.0, 5.0))
    low, high = widen(2.0, 0.0, 5.0, bonferroni_alpha(4))  # each arm times z(0.99375) / z(0.975)
    assert (low, high) == pytest.approx((2 - 2 * 2.497705 / 1.959964, 2 + 3 * 2.497705 / 1.959964), abs=1e-5)


def test_fallback_is_labelled_and_at_the_family_level():
    """Without predictions each comparison uses the unpaired interval, widened to level 1 - 0.05/m."""
    frames = {"table1": frame({"baseline": (600, 1000), "tccm": (700, 1000), "path2": (720, 1000)})}
    (result,) = evaluate_claims(frames, None, claims=(CLAIM,))
    first = result["comparisons"][0]
    assert result["family"] == 2 and first["level"] == result["level"] == 0.975
    assert first["method"] == UNPAIRED and first["p_value"] is None and first["seeds_better"] is None
    a, b = frames["table1"].iloc[1], frames["table1"].iloc[0]
    d, low95, high95 = difference_interval(a.reproduced, a.ci_low, a.ci_high, b.reproduced, b.ci_low, b.ci_high)
    z = normal_quantile(1 - 0.025 / 2)
    assert first["ci_low"] == pytest.approx(d - (d - low95) * z / 1.959964, abs=1e-4)
    assert first["ci_high"] == pytest.approx(d + (high95 - d) * z / 1.959964, abs=1e-4)


def run(correct: np.ndarray, prefix: str = "v") -> pd.Series:
    return pd.Series(correct.astype(int), index=[f"{prefix}{i:05d}" for i in range(len(correct))])


def predicted_frame(table: str, cells: dict[str, tuple[str, list[pd.Series]]]) -> pd.DataFrame:
    """A table frame whose cells ({row: (experiment, runs)}) show the seed-mean top-1 with a Wilson interval."""
    rows = []
    for row, (name, runs) in cells.items():
        n = len(runs[0])
        s = top1_summary(round(float(np.mean([r.sum() for r in runs]))), n)
        rows.append({"row": row, "column": "top1", "kind": "reproduced", "reproduced": s["top1"],
                     "ci_low": s["ci_low"], "ci_high": s["ci_high"], "experiment": name})
    return pd.DataFrame(rows)


def three_cells(n: int = 2000, seeds: int = 3, rng_seed: int = 0):
    """Baseline 60%; TCCM and Path 2 err where the baseline is right (negatively correlated, +4 points) or on the
    baseline's own errors and a few more (positively correlated, +4 points)."""
    rng = np.random.default_rng(rng_seed)
    base = np.zeros(n, dtype=int)
    base[: 6 * n // 10] = 1
    runs = {"base": [run(base) for _ in range(seeds)], "neg": [], "pos": []}
    for _ in range(seeds):
        neg = np.zeros(n, dtype=int)
        neg[36 * n // 100:] = 1  # the last 64% of the videos: 40% only it gets right, 36% only the baseline
        flip = rng.choice(n, size=n // 200, replace=False)  # seed-to-seed variation: 0.5% of the videos flip
        neg[flip] = 1 - neg[flip]
        pos = base.copy()
        pos[6 * n // 10: 64 * n // 100] = 1
        pos[flip] = 1 - pos[flip]
        runs["neg"].append(run(neg))
        runs["pos"].append(run(pos))
    return runs


def test_paired_rule_with_predictions():
    runs = three_cells()
    cells = {"baseline": ("base", runs["base"]), "tccm": ("neg", runs["neg"]), "path2": ("pos", runs["pos"])}
    frames = {"table1": predicted_frame("table1", cells)}
    (paired,) = evaluate_claims(frames, runs, claims=(CLAIM,))
    (unpaired,) = evaluate_claims(frames, None, claims=(CLAIM,))
    neg, pos = paired["comparisons"]
    for c in (neg, pos):
        assert c["method"] == PAIRED and c["seeds_better"] == c["seeds_worse"] == 3 and c["videos"] == 2000
        assert c["level"] == 0.975 and c["verdict"] == verdict(c["ci_low"], c["ci_high"], BEATS)
        assert (c["verdict"] == HOLDS) == (c["p_bonferroni"] <= 0.025)  # derivable from the p-value too
        assert c["experiment_better"] in ("neg", "pos") and c["experiment_worse"] == "base"
        assert c["difference"] == pytest.approx(4.0, abs=0.5)
    assert neg["correlation"] < 0 < pos["correlation"]
    assert neg["discordance"] > 0.5 > 0.1 > pos["discordance"]
    # errors on other videos (r < 0): the paired interval is wider than the unpaired one; on the same videos, narrower
    un_neg, un_pos = unpaired["comparisons"]
    assert neg["ci_high"] - neg["ci_low"] > un_neg["ci_high"] - un_neg["ci_low"]
    assert pos["ci_high"] - pos["ci_low"] < 0.5 * (un_pos["ci_high"] - un_pos["ci_low"])
    assert pos["verdict"] == HOLDS and pos["ci_low"] > 2


def test_family_size_sets_the_level():
    """The same comparison in a claim of 1 and of 3 comparisons: the interval of the larger family is wider."""
    runs = three_cells()
    cells = {"baseline": ("base", runs["base"]), "tccm": ("neg", runs["neg"]), "path2": ("pos", runs["pos"]),
             "ctm": ("pos", runs["pos"])}
    frames = {"table1": predicted_frame("table1", cells)}
    one = Claim("one", "t", "t", (Comparison("table1", "path2", "baseline"),))
    three = Claim("three", "t", "t", tuple(Comparison("table1", r, "baseline") for r in ("tccm", "path2", "ctm")))
    r1, r3 = evaluate_claims(frames, runs, claims=(one, three))
    c1, c3 = r1["comparisons"][0], r3["comparisons"][1]
    assert (c1["level"], c3["level"]) == (0.95, round(1 - 0.05 / 3, 4))
    assert c3["ci_low"] <= c1["ci_low"] and c3["ci_high"] >= c1["ci_high"]
    assert c3["difference"] == c1["difference"] and c3["p_value"] == c1["p_value"]
    assert c3["p_bonferroni"] == float(f"{min(1.0, 3 * c1['p_value']):.4g}") or c1["p_value"] > 0.3


def test_cells_without_predictions_fall_back_and_mismatches_are_errors():
    runs = three_cells(seeds=1)
    cells = {"baseline": ("base", runs["base"]), "tccm": ("neg", runs["neg"]), "path2": ("pos", runs["pos"])}
    frames = {"table1": predicted_frame("table1", cells)}
    (result,) = evaluate_claims(frames, {"base": runs["base"], "neg": runs["neg"], "pos": None}, claims=(CLAIM,))
    assert [c["method"] for c in result["comparisons"]] == [PAIRED, UNPAIRED]
    other = {**runs, "pos": [run(np.ones(2000), prefix="w")]}
    with pytest.raises(ValueError, match="pos vs base: no video is common"):
        evaluate_claims(frames, other, claims=(CLAIM,))


def test_claims_files_with_predictions(tmp_path):
    runs = three_cells()
    cells = {"baseline": ("base", runs["base"]), "tccm": ("neg", runs["neg"]), "path2": ("pos", runs["pos"])}
    frames = {"table1": predicted_frame("table1", cells)}
    write_claims(frames, tmp_path, "embedded", synthetic=True, predictions=runs)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["synthetic"] is True and data["alpha"] == 0.05 and data["replicates"] >= 1000
    first = data["claims"][0]
    assert first["key"] == "ctm_variants_beat_baseline" and first["family"] == 3
    comparisons = {(c["better"], c["method"]) for c in first["comparisons"]}
    assert comparisons == {("tccm", PAIRED), ("path2", PAIRED), ("ctm", None)}  # no CTM cell: not evaluated
    keys = {"method", "seeds_better", "seeds_worse", "videos", "difference", "ci_low", "ci_high", "level",
            "p_value", "p_bonferroni", "mcnemar", "discordance", "correlation", "verdict"}
    assert keys <= set(first["comparisons"][0])
    md = (tmp_path / "claims.md").read_text()
    assert "PIPELINE CHECKS ON STAND-INS" in md and "Seeds per cell: 3" in md
    assert "| paired | 3 / 3 | 2000 |" in md and "98.33%" in md
    write_claims(frames, tmp_path, "paper", synthetic=False, predictions=runs)
    assert "STAND-INS" not in (tmp_path / "claims.md").read_text()
