"""The paper's qualitative claims, checked against the reproduced numbers: each holds, fails or is inconclusive.

A claim is a set of comparisons between two cells of a table ("A beats B", or "A is at least as good as B").
Each comparison is judged from the 95% interval of the difference A - B (ctm.report.stats.difference_interval):

- "beats" (A > B): holds if the interval lies above 0, fails if it lies below 0, else inconclusive.
- "at least as good" (A >= B): fails if the interval lies below 0 (A is significantly worse); holds if its lower
  end is above -MARGIN (any loss is smaller than MARGIN points: non-inferiority); else inconclusive.

A claim fails if any comparison fails, holds if all hold, is "not evaluated" if a cell is missing (and none
fails), and is inconclusive otherwise. docs/report.md gives the reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctm.fileio import save_json, save_text
from ctm.report.paper import DATASET_NAMES, PAPER_TABLES, TOP1
from ctm.report.stats import difference_interval
from ctm.report.tables import REPRODUCED, table_name

HOLDS, FAILS, INCONCLUSIVE, NOT_EVALUATED = "holds", "fails", "inconclusive", "not evaluated"
BEATS, AT_LEAST = "beats", "at least as good as"
# Non-inferiority margin (points of top-1) of "at least as good": half of the paper's own gain of one CTM block over
# the baseline (Table 1: about 2.2 points), rounded; smaller losses are "as good".
MARGIN = 1.0


@dataclass(frozen=True)
class Comparison:
    table: str
    better: str  # row key of the cell claimed better (or as good)
    worse: str
    relation: str = BEATS
    column: str = TOP1


@dataclass(frozen=True)
class Claim:
    key: str
    text: str  # the claim, in words
    source: str  # where the paper makes it
    comparisons: tuple[Comparison, ...]


def _beats_baseline(table: str, rows: list[str], column: str = TOP1) -> tuple[Comparison, ...]:
    return tuple(Comparison(table, r, "baseline", BEATS, column) for r in rows)


CLAIMS: tuple[Claim, ...] = (
    Claim("ctm_variants_beat_baseline", "Every CTM variant (Path 1, Path 2, both) beats the 2D baseline.",
          "Table 1; section 4.3", _beats_baseline("table1", ["tccm", "path2", "ctm"])),
    Claim("each_path_helps", "Each path alone helps: TCCM + shortcut and Path 2 + shortcut each beat the baseline.",
          "Table 1; section 4.3", _beats_baseline("table1", ["tccm", "path2"])),
    Claim("paths_collaborate", "The two paths together (CTM) are at least as good as either path alone.",
          "Table 1; section 4.3 (\"CTM obtain the best accuracy\")",
          (Comparison("table1", "ctm", "tccm", AT_LEAST), Comparison("table1", "ctm", "path2", AT_LEAST))),
    Claim("every_stage_beats_baseline", "A CTM block in any stage (Res2 to Res5) beats the baseline.",
          "Table 2; section 4.3 (\"all of the results are better than baseline\")",
          _beats_baseline("table2", ["res2", "res3", "res4", "res5"])),
    Claim("res5_weakest", "Res5 is the weakest placement: Res2, Res3 and Res4 each beat Res5.",
          "Table 2; section 4.3", tuple(Comparison("table2", r, "res5") for r in ("res2", "res3", "res4"))),
    Claim("more_blocks_at_least_as_good", "3 and 6 CTM blocks in Res4 are at least as good as 1 block.",
          "Table 3; section 4.3",
          (Comparison("table3", "three", "one", AT_LEAST), Comparison("table3", "six", "one", AT_LEAST))),
    Claim("ctm_beats_baseline_every_dataset", "CTM beats its 2D baseline on every dataset.",
          "Table 6; section 4.4 (\"consistently outperform the 2D CNN baseline\")",
          tuple(c for col in PAPER_TABLES["table6"].columns for c in _beats_baseline("table6", ["ctm"], col))),
)


def verdict(low: float, high: float, relation: str, margin: float = MARGIN) -> str:
    """The verdict of one comparison from the 95% interval [low, high] of better - worse (points)."""
    if relation == BEATS:
        return HOLDS if low > 0 else FAILS if high < 0 else INCONCLUSIVE
    if relation == AT_LEAST:
        return FAILS if high < 0 else HOLDS if low > -margin else INCONCLUSIVE
    raise ValueError(f"unknown relation {relation!r}")


def combine(verdicts: list[str]) -> str:
    """A claim's verdict from its comparisons'."""
    if FAILS in verdicts:
        return FAILS
    if NOT_EVALUATED in verdicts:
        return NOT_EVALUATED
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def _cell(frames: dict[str, pd.DataFrame | None], table: str, row: str, column: str):
    df = frames.get(table)
    if df is None:
        return None
    hit = df[(df.row == row) & (df.column == column) & (df.kind == REPRODUCED)]
    if hit.empty or pd.isna(hit.iloc[0].reproduced):
        return None
    return hit.iloc[0]


def evaluate_comparison(c: Comparison, frames: dict[str, pd.DataFrame | None]) -> dict:
    paper_rows = PAPER_TABLES[c.table].rows
    pa, pb = paper_rows[c.better].number(c.column), paper_rows[c.worse].number(c.column)
    result = {"table": c.table, "column": c.column, "better": c.better, "worse": c.worse, "relation": c.relation,
              "better_label": paper_rows[c.better].label, "worse_label": paper_rows[c.worse].label,
              "paper_difference": None if pa is None or pb is None else round(pa - pb, 4)}
    a, b = _cell(frames, c.table, c.better, c.column), _cell(frames, c.table, c.worse, c.column)
    if a is None or b is None:
        return {**result, "verdict": NOT_EVALUATED, "reason": f"{table_name(c.table)} has no reproduced value here"}
    d, low, high = difference_interval(a.reproduced, a.ci_low, a.ci_high, b.reproduced, b.ci_low, b.ci_high)
    return {**result, "reproduced_better": float(a.reproduced), "reproduced_worse": float(b.reproduced),
            "difference": d, "ci_low": low, "ci_high": high, "verdict": verdict(low, high, c.relation)}


def evaluate_claims(frames: dict[str, pd.DataFrame | None], claims: tuple[Claim, ...] = CLAIMS) -> list[dict]:
    """Every claim with its verdict and its comparisons', from the tables' frames ({table: frame or None})."""
    out = []
    for claim in claims:
        comparisons = [evaluate_comparison(c, frames) for c in claim.comparisons]
        out.append({"key": claim.key, "text": claim.text, "source": claim.source,
                    "verdict": combine([c["verdict"] for c in comparisons]), "comparisons": comparisons})
    return out


RULE = (f"Each comparison is judged from the 95% interval of the reproduced difference (Newcombe's hybrid score "
        f"interval from the two Wilson intervals; MOVER from a 3-split mean's interval). \"Beats\": holds if the "
        f"interval is above 0, fails if below 0, else inconclusive. \"At least as good\": fails if the interval is "
        f"below 0, holds if its lower end is above -{MARGIN:g} point (non-inferiority margin), else inconclusive. "
        f"A claim fails if any comparison fails and holds if all hold. One training run per model: the intervals "
        f"cover test-set sampling, not training randomness.")


def _fmt(v: float | None, signed: bool = True) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else (f"{v:+.2f}" if signed else f"{v:.2f}")


def to_markdown(results: list[dict], preset: str, synthetic: bool = True) -> str:
    lines = ["# The paper's claims, checked", "", f"Preset: `{preset}`. {RULE}", ""]
    if synthetic:
        lines += ["On a synthetic preset the verdicts test the pipeline on stand-in data, not the paper's claims on "
                  "its datasets.", ""]
    for r in results:
        lines += [f"## {r['verdict'].upper()}: {r['text']}", "", f"Source: {r['source']}.", "",
                  "| Comparison | Dataset | Paper difference | Reproduced difference (95% CI) | Verdict |",
                  "|---|---|---:|---:|---|"]
        for c in r["comparisons"]:
            column = DATASET_NAMES[PAPER_TABLES[c["table"]].columns[c["column"]].dataset]
            repro = (f"{_fmt(c['difference'])} ({_fmt(c['ci_low'])} to {_fmt(c['ci_high'])})"
                     if "difference" in c else c.get("reason", ""))
            lines.append(f"| {table_name(c['table'])}: {c['better_label']} {c['relation']} {c['worse_label']} "
                         f"| {column} | {_fmt(c['paper_difference'])} | {repro} | {c['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def write_claims(frames: dict[str, pd.DataFrame | None], out_dir: str | Path, preset: str,
                 synthetic: bool = True) -> list[dict]:
    """out_dir/claims.md and out_dir/claims.json (the rule, the margin and every claim's verdict)."""
    results = evaluate_claims(frames)
    out_dir = Path(out_dir)
    save_text(to_markdown(results, preset, synthetic), out_dir / "claims.md")
    save_json({"preset": preset, "rule": RULE, "margin": MARGIN, "claims": results}, out_dir / "claims.json")
    return results
