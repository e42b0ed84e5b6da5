"""The power analysis at the paper's scale (ctm.report.power) and its table in docs/report.md."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctm.report.claims import AT_LEAST, BEATS, CLAIMS, HOLDS, INCONCLUSIVE, Claim, Comparison
from ctm.report.paired import PairedBootstrap
from ctm.report.paper import PAPER_TABLES
from ctm.report.power import (
    NOT_POSSIBLE,
    comparison_power,
    paired_threshold,
    paired_verdict,
    paper_test_videos,
    power_rows,
    power_table,
)
from ctm.report.stats import normal_quantile

DOC = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def test_docs_hold_the_rendered_table():
    text = DOC.read_text(encoding="utf-8")
    table = power_table()
    assert "## Power at the paper's scale" in text
    assert table in text, "docs/report.md's power table is stale: paste ctm.report.power.power_table()'s output"
    section = text.split("## Power at the paper's scale", 1)[1]
    assert table in section.split("\n## ", 1)[0]
    assert table.count("\n") == 2 + sum(len(c.comparisons) for c in CLAIMS)


def test_paper_video_counts():
    mk = Comparison("table1", "ctm", "baseline")
    assert paper_test_videos(mk) == 4700  # footnote 2: the validation videos the authors could download
    ucf = Comparison("table6", "ctm", "baseline", BEATS, "ucf101")
    assert paper_test_videos(ucf) == 3783 + 3734 + 3696  # the three splits' test lists of a 3-split mean


def test_unpaired_half_width_at_the_paper_scale():
    """One comparison (m = 1) at 95%: Newcombe's half-width ~ z sqrt(2 p (1 - p) / N) = 1.7 points at 78%, N 4700."""
    claim = Claim("c", "t", "t", (Comparison("table1", "ctm", "baseline"),))
    row = comparison_power(claim, claim.comparisons[0])
    rows = PAPER_TABLES["table1"].rows
    p = (rows["ctm"].value + rows["baseline"].value) / 200
    assert row["z"] == pytest.approx(1.959964, abs=1e-6) and row["family"] == 1
    assert row["unpaired_half_width"] == pytest.approx(100 * 1.96 * math.sqrt(2 * p * (1 - p) / 4700), abs=0.02)
    assert row["paper_difference"] == pytest.approx(rows["ctm"].value - rows["baseline"].value)


@pytest.mark.parametrize("relation", [BEATS, AT_LEAST])
def test_threshold_is_where_the_verdict_changes(relation):
    d, n, z = 0.008, 4700, normal_quantile(1 - 0.05 / 6)
    r_star = paired_threshold(d, n, z, relation)
    assert paired_verdict(d, r_star * 0.999, n, z, relation) == HOLDS
    assert paired_verdict(d, r_star * 1.001, n, z, relation) == INCONCLUSIVE
    expected = d * d * (n / z**2 + 1) if relation == BEATS else d * d + (d + 0.01) ** 2 * n / z**2
    assert r_star == pytest.approx(expected)
    assert paired_verdict(d, d / 2, n, z, relation) == NOT_POSSIBLE  # two models differing by d disagree on >= d
    assert paired_threshold(-0.02, n, z, relation) is None  # never decided


def test_every_comparison_has_a_row():
    rows = power_rows()
    assert [(r["claim"], r["better"], r["worse"], r["column"]) for r in rows] == [
        (claim.key, c.better, c.worse, c.column) for claim in CLAIMS for c in claim.comparisons]
    assert all(r["family"] == len(next(c for c in CLAIMS if c.key == r["claim"]).comparisons) for r in rows)


def discordant_runs(n: int, n10: int, n01: int) -> tuple[list[pd.Series], list[pd.Series]]:
    """One seed each; A right on n10 videos where B is wrong, B right on n01 where A is wrong, both right on 70%."""
    a, b = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    both = 7 * n // 10
    a[:both] = b[:both] = 1
    a[both:both + n10] = 1
    b[both + n10:both + n10 + n01] = 1
    keys = [f"v{i:05d}" for i in range(n)]
    return [pd.Series(a, index=keys)], [pd.Series(b, index=keys)]


@pytest.mark.parametrize(("n10", "n01", "expected"), [(113, 75, HOLDS), (207, 169, INCONCLUSIVE)])
def test_normal_approximation_agrees_with_the_bootstrap(n10, n01, expected):
    """A +0.8-point gain on 4700 videos at m = 3 (Res2 vs Res5): decided at 4% discordance, not at 8% (r* ~ 5.3%)."""
    n, alpha = 4700, 0.05 / 3
    d, r = (n10 - n01) / n, (n10 + n01) / n
    assert paired_verdict(d, r, n, normal_quantile(1 - alpha / 2), BEATS) == expected
    a, b = discordant_runs(n, n10, n01)
    low, high = PairedBootstrap(a, b, replicates=2000).interval(alpha)
    assert (HOLDS if low > 0 else INCONCLUSIVE) == expected and high > 0
