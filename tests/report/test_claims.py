import json
import math
import statistics

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
    Claim,
    Comparison,
    combine,
    evaluate_claims,
    verdict,
    write_claims,
)
from ctm.report.stats import difference_interval, mean_interval, t975


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
    (result,) = evaluate_claims(frames, (CLAIM,))
    assert result["verdict"] == expected
    first = result["comparisons"][0]
    assert first["difference"] == pytest.approx(100 * tccm / n - 60)
    assert first["ci_low"] < first["difference"] < first["ci_high"]
    assert first["paper_difference"] > 0  # the paper's own difference, from ctm.report.paper


def test_at_least_as_good_with_equal_results():
    claim = Claim("c", "3 blocks >= 1", "t", (Comparison("table3", "three", "one", AT_LEAST),))
    big = {"table3": frame({"one": (39000, 50000), "three": (38950, 50000)})}  # -0.1 point, interval ~ +-0.5
    small = {"table3": frame({"one": (78, 100), "three": (78, 100)})}  # equal, but the interval is +-11 points
    assert evaluate_claims(big, (claim,))[0]["verdict"] == HOLDS
    assert evaluate_claims(small, (claim,))[0]["verdict"] == INCONCLUSIVE


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
    (result,) = evaluate_claims({"table6": df}, (claim,))
    half = 4.302653 / math.sqrt(3) * statistics.stdev([90.0, 91.0, 92.0])
    assert result["comparisons"][0]["ci_low"] == pytest.approx(5.0 - math.sqrt(2) * half)
    assert result["verdict"] == HOLDS


def test_missing_tables_are_not_evaluated_and_files_are_written(tmp_path):
    results = write_claims({"table1": None}, tmp_path, "embedded")
    assert [r["key"] for r in results] == [c.key for c in CLAIMS]
    assert all(r["verdict"] == NOT_EVALUATED for r in results)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["margin"] == MARGIN and len(data["claims"]) == len(CLAIMS)
    md = (tmp_path / "claims.md").read_text()
    assert all(c.text in md for c in CLAIMS) and "NOT EVALUATED" in md
