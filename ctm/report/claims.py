"""The paper's qualitative claims, checked against the reproduced numbers: each holds, fails or is inconclusive.

A claim is a family of comparisons between two cells of a table ("A beats B", or "A is at least as good as B").
Each comparison is judged from an interval of the difference A - B at level 1 - ALPHA / m, m = the number of the
claim's comparisons (Bonferroni: the chance that any interval of the claim misses its true difference is at most
ALPHA). The interval is the paired hierarchical bootstrap over per-video predictions and training seeds
(ctm.report.paired) where both cells have predictions, else the unpaired interval from the two cells' own intervals
(ctm.report.stats.difference_interval, widened to the same level), labelled as such.

- "beats" (A > B): holds if the interval lies above 0, fails if it lies below 0, else inconclusive.
- "at least as good" (A >= B): fails if the interval lies below 0 (A is significantly worse); holds if its lower
  end is above -MARGIN (any loss is smaller than MARGIN points: non-inferiority); else inconclusive.

A claim fails if any comparison fails, holds if all hold, is "not evaluated" if a cell is missing (and none
fails), and is inconclusive otherwise. docs/report.md gives the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from ctm.fileio import save_json, save_text
from ctm.report import stability
from ctm.report.paired import REPLICATES, SEED, PairedBootstrap
from ctm.report.paper import PAPER_TABLES, TOP1
from ctm.report.stats import bonferroni_alpha, difference_interval, widen
from ctm.report.tables import REPRODUCED, table_name
from ctm.vocabulary import DATASET_DISPLAY_NAMES

HOLDS, FAILS, INCONCLUSIVE, NOT_EVALUATED = "holds", "fails", "inconclusive", "not evaluated"
BEATS, AT_LEAST = "beats", "at least as good as"
# Non-inferiority margin (points of top-1) of "at least as good": half of the paper's own gain of one CTM block over
# the baseline (Table 1: about 2.2 points), rounded; smaller losses are "as good".
MARGIN = 1.0
ALPHA = Fraction(1, 20)  # each claim's family-wise error rate
PAIRED, UNPAIRED = "paired bootstrap", "unpaired fallback"
# {cell name (the frames' `experiment` column): one 0/1 correctness Series per training seed, indexed by video}
Predictions = Mapping[str, Sequence[pd.Series] | None]


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
    """The verdict of one comparison from the interval [low, high] of better - worse (points)."""
    if relation == BEATS:
        return HOLDS if low > 0 else FAILS if high < 0 else INCONCLUSIVE
    if relation == AT_LEAST:
        return FAILS if high < 0 else HOLDS if low > -margin else INCONCLUSIVE
    raise ValueError(f"unknown relation {relation!r}")


def null_value(relation: str, margin: float = MARGIN) -> float:
    """The difference (points) that the relation's one-sided p-value tests against: 0 for "beats", -margin for
    "at least as good" (non-inferiority)."""
    if relation not in (BEATS, AT_LEAST):
        raise ValueError(f"unknown relation {relation!r}")
    return 0.0 if relation == BEATS else -margin


def combine(verdicts: list[str]) -> str:
    """A claim's verdict from its comparisons'."""
    if FAILS in verdicts:
        return FAILS
    if NOT_EVALUATED in verdicts:
        return NOT_EVALUATED
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def _cell(frames: Mapping[str, pd.DataFrame | None], table: str, row: str, column: str):
    df = frames.get(table)
    if df is None:
        return None
    hit = df[(df.row == row) & (df.column == column) & (df.kind == REPRODUCED)]
    if hit.empty or pd.isna(hit.iloc[0].reproduced):
        return None
    return hit.iloc[0]


def _name(cell) -> str | None:
    name = cell.get("experiment")
    return None if name is None or pd.isna(name) or name == "" else str(name)


def _r(x: float) -> float:
    return round(float(x), 4)


class _Cache:
    """One bootstrap per pair of cells, shared by the claims that compare them (only the level differs)."""

    def __init__(self, predictions: Predictions | None, replicates: int, seed: int):
        self.predictions, self.replicates, self.seed = predictions or {}, replicates, seed
        self.done: dict[tuple[str, str], PairedBootstrap] = {}

    def get(self, a: str | None, b: str | None) -> PairedBootstrap | None:
        runs_a = self.predictions.get(a) if a else None
        runs_b = self.predictions.get(b) if b else None
        if not runs_a or not runs_b:
            return None
        if (a, b) not in self.done:
            self.done[(a, b)] = PairedBootstrap(runs_a, runs_b, (a, b), self.replicates, self.seed)
        return self.done[(a, b)]


def evaluate_comparison(c: Comparison, frames: Mapping[str, pd.DataFrame | None],
                        predictions: Predictions | None = None, family: int = 1, replicates: int = REPLICATES,
                        seed: int = SEED, _cache: _Cache | None = None) -> dict:
    """One comparison of a claim of `family` comparisons: its interval at level 1 - ALPHA / family, by the paired
    bootstrap where both cells have predictions, else by the unpaired fallback (module docstring)."""
    paper_rows = PAPER_TABLES[c.table].rows
    pa, pb = paper_rows[c.better].number(c.column), paper_rows[c.worse].number(c.column)
    alpha = bonferroni_alpha(family, ALPHA)
    result = {"table": c.table, "column": c.column, "better": c.better, "worse": c.worse, "relation": c.relation,
              "better_label": paper_rows[c.better].label, "worse_label": paper_rows[c.worse].label,
              "paper_difference": None if pa is None or pb is None else round(pa - pb, 4),
              "family": family, "level": _r(1 - alpha)}
    a, b = _cell(frames, c.table, c.better, c.column), _cell(frames, c.table, c.worse, c.column)
    if a is None or b is None:
        return {**result, "method": None, "verdict": NOT_EVALUATED,
                "reason": f"{table_name(c.table)} has no reproduced value here"}
    name_a, name_b = _name(a), _name(b)
    result |= {"experiment_better": name_a, "experiment_worse": name_b,
               "reproduced_better": float(a.reproduced), "reproduced_worse": float(b.reproduced)}
    cache = _cache or _Cache(predictions, replicates, seed)
    paired = cache.get(name_a, name_b)
    if paired is not None:
        stats = paired.summary(alpha, null_value(c.relation), family)
        return {**result, "method": PAIRED, **stats,
                "verdict": verdict(stats["ci_low"], stats["ci_high"], c.relation)}
    d, low, high = difference_interval(a.reproduced, a.ci_low, a.ci_high, b.reproduced, b.ci_low, b.ci_high)
    low, high = widen(d, low, high, alpha)
    d, low, high = _r(d), _r(low), _r(high)
    return {**result, "method": UNPAIRED, "seeds_better": None, "seeds_worse": None, "videos": None,
            "difference": d, "ci_low": low, "ci_high": high, "p_value": None, "p_bonferroni": None,
            "mcnemar": None, "discordance": None, "correlation": None, "verdict": verdict(low, high, c.relation)}


def evaluate_claims(frames: Mapping[str, pd.DataFrame | None], predictions: Predictions | None = None,
                    claims: tuple[Claim, ...] = CLAIMS, replicates: int = REPLICATES, seed: int = SEED) -> list[dict]:
    """Every claim with its verdict and its comparisons', from the tables' frames ({table: frame or None}) and the
    cells' per-seed predictions ({cell name: [0/1 correctness Series per seed, indexed by video]}; a cell without
    any, or predictions=None, falls back to the unpaired rule)."""
    cache = _Cache(predictions, replicates, seed)
    out = []
    for claim in claims:
        m = len(claim.comparisons)
        comparisons = [evaluate_comparison(c, frames, predictions, m, replicates, seed, cache)
                       for c in claim.comparisons]
        out.append({"key": claim.key, "text": claim.text, "source": claim.source, "family": m,
                    "level": _r(1 - bonferroni_alpha(m, ALPHA)),
                    "verdict": combine([c["verdict"] for c in comparisons]), "comparisons": comparisons})
    return out


RULE = (f"Each comparison A vs B is decided from the per-video predictions of every training seed of both cells by a "
        f"paired hierarchical bootstrap ({REPLICATES} replicates, fixed seed): each replicate draws the test videos "
        f"with replacement, the same videos for A and B, and each cell's seeds with replacement, and takes A's mean "
        f"top-1 minus B's; the interval is the percentile interval. A claim's comparisons are one family: each "
        f"interval is at level 1 - {float(ALPHA):g}/m for a claim of m comparisons (Bonferroni), so the chance "
        f"that any of them misses is at most {float(ALPHA):.0%}. \"Beats\": holds if the interval is above 0, "
        f"fails if below 0, else inconclusive. \"At least as good\": fails if the interval is below 0, holds if its "
        f"lower end is above -{MARGIN:g} point (non-inferiority margin), else inconclusive. Equivalently, an "
        f"interval's lower end is above its null (0 for \"beats\", -{MARGIN:g} for \"at least as good\") exactly "
        f"when the one-sided bootstrap p-value times m is at most {float(ALPHA) / 2:g}. A claim "
        f"fails if any comparison fails and holds if all hold. A cell without predictions falls back to the "
        f"unpaired interval from the two cells' own intervals (Newcombe/MOVER, widened to the same level; marked "
        f"\"unpaired\"), which ignores the pairing and training randomness.")


def _fmt(v: float | None, signed: bool = True, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def _bound(v: float, margin: float = MARGIN) -> str:
    """An interval end with 2 decimals, or 4 where 2 would show it on a verdict's threshold (0 or -margin)."""
    shown = round(v, 2)
    return _fmt(v, digits=4) if shown in (0.0, -margin) and v != shown else _fmt(v)


def _p_text(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _seeds_line(results: list[dict]) -> str:
    counts = sorted({c[k] for r in results for c in r["comparisons"] if c.get("method") == PAIRED
                     for k in ("seeds_better", "seeds_worse")})
    fallback = sum(c.get("method") == UNPAIRED for r in results for c in r["comparisons"])
    if not counts:
        text = "Seeds per cell: no per-video predictions were given"
    else:
        text = "Seeds per cell: " + (f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}")
        text += " (the paired comparisons' cells)"
    if fallback:
        text += f"; {fallback} comparisons use the unpaired fallback"
    return text + "."


def to_markdown(results: list[dict], preset: str, synthetic: bool = True) -> str:
    lines = ["# The paper's claims, checked", ""]
    if synthetic:
        lines += [f"**PIPELINE CHECKS ON STAND-INS.** Preset `{preset}` is synthetic: these verdicts test the "
                  "pipeline on stand-in data whose classes differ only in temporal order. They neither confirm nor "
                  "refute the paper's claims, which are about its datasets.", ""]
    lines += [f"Preset: `{preset}`. {_seeds_line(results)}", "", RULE, ""]
    for r in results:
        lines += [f"## {r['verdict'].upper()}: {r['text']}", "",
                  f"Source: {r['source']}. Family: {r['family']} comparison{'s' if r['family'] > 1 else ''}, each "
                  f"interval at {100 * r['level']:.4g}%.", "",
                  "| Comparison | Dataset | Paper difference | Reproduced difference (interval) | Method | Seeds | "
                  "Videos | p x m (one-sided) | McNemar mid-p | Discordance | Correlation | Verdict |",
                  "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"]
        for c in r["comparisons"]:
            column = DATASET_DISPLAY_NAMES[PAPER_TABLES[c["table"]].columns[c["column"]].dataset]
            cells = ["-"] * 7
            if "difference" in c:
                repro = f"{_fmt(c['difference'])} ({_bound(c['ci_low'])} to {_bound(c['ci_high'])})"
                if c["method"] == PAIRED:
                    cells = ["paired", f"{c['seeds_better']} / {c['seeds_worse']}", f"{c['videos']}",
                             _p_text(c["p_bonferroni"]), _p_text(c["mcnemar"]["p_mid"]),
                             f"{100 * c['discordance']:.1f}%",
                             "-" if c["correlation"] is None else f"{c['correlation']:+.2f}"]
                else:
                    cells[0] = "unpaired (no predictions)"
            else:
                repro = c.get("reason", "")
            lines.append(f"| {table_name(c['table'])}: {c['better_label']} {c['relation']} {c['worse_label']} "
                         f"| {column} | {_fmt(c['paper_difference'])} | {repro} | " + " | ".join(cells)
                         + f" | {c['verdict']} |")
        lines.append("")
    lines += ["Seeds: A / B. p x m: the one-sided bootstrap p-value of \"A beats B\" (of \"A is worse by less than "
              f"{MARGIN:g} point\" for \"at least as good\") times the family size, capped at 1. McNemar: exact "
              "two-sided mid-p on the discordant videos averaged over seed pairs (a cross-check; not the verdict). "
              "Discordance: the fraction of videos on which A and B differ in correctness, averaged over seed pairs. "
              "Correlation: of A's and B's seed-mean correctness across videos.", ""]
    return "\n".join(lines)


def write_claims(frames: Mapping[str, pd.DataFrame | None], out_dir: str | Path, preset: str,
                 synthetic: bool = True, predictions: Predictions | None = None, seeds: list[int] | None = None,
                 params_hash: str | None = None, other_seeds: str | Path | None = None) -> list[dict]:
    """out_dir/claims.md and out_dir/claims.json (the rule, the margin, the level and every claim's verdict); with
    `other_seeds` (another seed set's claims.json, if it exists) the verdicts are compared (ctm.report.stability)."""
    results = evaluate_claims(frames, predictions)
    stable = stability.compare(results, other_seeds, seeds) if other_seeds is not None else None
    out_dir = Path(out_dir)
    save_text(to_markdown(results, preset, synthetic) + stability.to_markdown(stable), out_dir / "claims.md")
    save_json({"preset": preset, "synthetic": synthetic, "seeds": seeds, "params_hash": params_hash, "rule": RULE,
               "margin": MARGIN, "alpha": float(ALPHA), "replicates": REPLICATES, "bootstrap_seed": SEED,
               "claims": results, "stability": stable}, out_dir / "claims.json")
    return results
