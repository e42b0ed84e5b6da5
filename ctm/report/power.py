"""What the claims' rule can decide at the paper's scale, if the paper's numbers reproduced exactly.

For every comparison of every claim (ctm.report.claims.CLAIMS), with the paper's published accuracies
(ctm.report.paper.PAPER_TABLES) and the paper's test videos (ctm.report.paper.paper_videos; all three splits for
the 3-split means of UCF-101 and HMDB-51):

- the unpaired rule (Newcombe's interval from the two Wilson intervals at the claim's Bonferroni level): its
  half-width and its verdict;
- the paired rule (one seed per cell, as on the paper preset; the bootstrap's normal approximation): per video the
  paired difference D is +1, 0 or -1, with mean d and variance r - d^2, r the discordance (the fraction of videos on
  which the two models differ in correctness, r >= |d|). The interval is d +- z sqrt((r - d^2) / N), z the claim's
  Bonferroni quantile, so "beats" holds iff r < r* = d^2 (N / z^2 + 1), and "at least as good" holds iff
  r < r* = d^2 + (d + margin)^2 N / z^2. The verdict is also given at typical discordances (RATES).

docs/report.md ("Power at the paper's scale") holds power_table()'s output; tests/report/test_power.py keeps it so.
"""

from __future__ import annotations

import math

from ctm.intervals import wilson_interval
from ctm.report.claims import ALPHA, AT_LEAST, CLAIMS, MARGIN, Claim, Comparison, verdict
from ctm.report.paper import PAPER_TABLES, PAPER_VIDEO_COUNTS, paper_videos
from ctm.report.stats import bonferroni_alpha, difference_interval, normal_quantile
from ctm.report.tables import table_name
from ctm.vocabulary import DATASET_DISPLAY_NAMES

RATES = (0.05, 0.10, 0.15, 0.20)  # typical discordances of two networks of ~78% top-1 that differ in one block
NOT_POSSIBLE = "n/a"  # a discordance below |d|: two models that differ by d disagree on at least |d| of the videos


def paper_test_videos(c: Comparison) -> int:
    """The paper's test videos for the comparison's column (a 3-split mean: the three splits' lists summed)."""
    dataset = PAPER_TABLES[c.table].columns[c.column].dataset
    splits = [1, 2, 3] if PAPER_VIDEO_COUNTS[dataset].per_split else None
    return paper_videos(dataset, splits)[1]


def paired_threshold(d: float, n: int, z: float, relation: str, margin: float = MARGIN) -> float | None:
    """r*, the largest discordance (fraction) under which a paired difference of d (fraction) on n videos is decided
    ("holds"); None if it never is (d <= 0 for "beats", d <= -margin for "at least as good")."""
    if relation == AT_LEAST:
        shift = d + margin / 100
        return d * d + shift * shift * n / (z * z) if shift > 0 else None
    return d * d * (n / (z * z) + 1) if d > 0 else None


def paired_verdict(d: float, r: float, n: int, z: float, relation: str, margin: float = MARGIN) -> str:
    """The paired rule's verdict for a difference d and a discordance r (fractions) on n videos."""
    if r < abs(d):
        return NOT_POSSIBLE
    half = z * math.sqrt(max(r - d * d, 0.0) / n)
    return verdict(100 * (d - half), 100 * (d + half), relation, margin)


def comparison_power(claim: Claim, c: Comparison, rates: tuple[float, ...] = RATES) -> dict:
    """One row of the power table (values in points or fractions as named)."""
    rows = PAPER_TABLES[c.table].rows
    pa, pb = rows[c.better].number(c.column), rows[c.worse].number(c.column)
    n, m = paper_test_videos(c), len(claim.comparisons)
    alpha = bonferroni_alpha(m, ALPHA)
    z = normal_quantile(1 - float(alpha) / 2)
    wa, wb = wilson_interval(pa / 100 * n, n, z), wilson_interval(pb / 100 * n, n, z)
    d, low, high = difference_interval(pa, 100 * wa[0], 100 * wa[1], pb, 100 * wb[0], 100 * wb[1])
    frac = (pa - pb) / 100
    return {"claim": claim.key, "table": c.table, "column": c.column, "better": c.better, "worse": c.worse,
            "relation": c.relation, "videos": n, "family": m, "z": z, "paper_difference": d,
            "unpaired_half_width": (high - low) / 2, "unpaired_verdict": verdict(low, high, c.relation),
            "paired_threshold": paired_threshold(frac, n, z, c.relation),
            "paired_verdicts": {r: paired_verdict(frac, r, n, z, c.relation) for r in rates}}


def power_rows(claims: tuple[Claim, ...] = CLAIMS, rates: tuple[float, ...] = RATES) -> list[dict]:
    return [comparison_power(claim, c, rates) for claim in claims for c in claim.comparisons]


def _threshold(r: float | None) -> str:
    return "never" if r is None else "any" if r >= 1 else f"{100 * r:.1f}%"


def power_table(claims: tuple[Claim, ...] = CLAIMS, rates: tuple[float, ...] = RATES) -> str:
    """The Markdown table of docs/report.md's "Power at the paper's scale" (one row per comparison of each claim)."""
    head = ["Claim", "Comparison", "Dataset", "Test videos", "m", "Paper difference", "Unpaired ±",
            "Unpaired verdict", "Paired r*"] + [f"Paired, r = {100 * r:g}%" for r in rates]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|---:|---:|---:|---:|---|---:|" + "---|" * len(rates)]
    for row in power_rows(claims, rates):
        rows = PAPER_TABLES[row["table"]].rows
        dataset = DATASET_DISPLAY_NAMES[PAPER_TABLES[row["table"]].columns[row["column"]].dataset]
        better, worse = rows[row["better"]].label, rows[row["worse"]].label
        cells = [f"`{row['claim']}`", f"{table_name(row['table'])}: {better} {row['relation']} {worse}", dataset,
                 f"{row['videos']:,}", f"{row['family']}", f"{row['paper_difference']:+.2f}",
                 f"±{row['unpaired_half_width']:.2f}", row["unpaired_verdict"], _threshold(row["paired_threshold"])]
        cells += [row["paired_verdicts"][r] for r in rates]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
