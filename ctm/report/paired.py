"""Paired comparison of two cells from their per-video predictions over training seeds (docs/report.md, "Claims").

Each cell is a list of runs, one per training seed, each a pandas Series indexed by a video key (str) with 0/1
correctness (a 3-split group's runs are its splits concatenated, keys prefixed by the split). Both cells were tested
on the same videos, so the comparison is paired: it uses the videos present in every run of both cells.

- Point estimate: the mean over seeds of A's top-1 minus the mean over seeds of B's (points).
- Paired hierarchical bootstrap: each replicate draws the test videos with replacement (the same draw for A and B:
  that is the pairing) and, for a cell with two or more seeds, that cell's seeds with replacement (independently of
  the other cell's); the statistic is the mean correctness of A over (drawn seeds x drawn videos) minus B's. The
  interval is the percentile interval: at level 1 - alpha, the order statistics j and R + 1 - j of the R replicates,
  j = floor((R + 1) alpha / 2) (Davison & Hinkley 1997, 5.3). The one-sided p-value of "difference > null" is
  (1 + #{replicates <= null}) / (R + 1); the interval's lower end is above `null` exactly when p <= alpha / 2.
- McNemar's exact test (two-sided mid-p) as a cross-check: per seed pair (A's i-th run with B's i-th run) and
  combined on the discordant counts averaged over every pair of seeds, rounded to integers.
- Discordance: the fraction of videos on which A and B differ in correctness, averaged over every pair of seeds
  (n10 + n01) / N; with one seed each, McNemar's discordant pairs over N. It is the r of the power analysis
  (ctm.report.power): the per-video paired difference has variance r - d^2.
- Correlation: Pearson's correlation, across videos, of A's and B's seed-mean correctness (phi with one seed each).

Reproducibility: numpy's PCG64 from a fixed seed, every bootstrap sum in integers (counts of correct answers from
np.bincount draws and an integer matrix product), one division at the end, stored floats rounded to 4 decimals
(p-values to 4 significant digits): the same inputs give byte-identical results on any x86-64 machine with the same
numpy version (tests/report/test_paired.py pins a golden hash of the replicates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

REPLICATES = 2000
SEED = 20250025  # the bootstrap's fixed seed (issue 25)
MAX_UNPAIRED = 0.05  # the largest fraction of videos that may be absent from some run of the two cells
DIGITS = 4  # stored floats are rounded to this many decimals (p-values: significant digits)
_CHUNK_ELEMENTS = 1 << 21  # replicates are drawn in chunks of about this many video indices (memory)


def _r(x: float) -> float:
    return round(float(x), DIGITS)


def _p(x: float) -> float:
    """A p-value rounded to DIGITS significant digits (small ones stay visible)."""
    return float(f"{float(x):.{DIGITS}g}")


def align(runs_a: Sequence[pd.Series], runs_b: Sequence[pd.Series], names: tuple[str, str] = ("A", "B"),
          max_unpaired: float = MAX_UNPAIRED) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """(a, b, keys, dropped): the 0/1 correctness of every run of A (seeds x videos, int64) and of B on `keys`, the
    sorted videos present in every run of both cells; `dropped` videos of the union are absent from some run.

    ValueError (naming the cells) if a cell has no run, a run has repeated keys or values other than 0/1, no video is
    common to all runs, or more than `max_unpaired` of the videos are absent from some run (then the two cells were
    not tested on the same videos: more than missing or skipped videos differ)."""
    label = f"{names[0]} vs {names[1]}"
    for name, runs in zip(names, (runs_a, runs_b), strict=True):
        if len(runs) == 0:
            raise ValueError(f"{label}: {name} has no run with predictions")
        for i, run in enumerate(runs):
            if not run.index.is_unique:
                dup = run.index[run.index.duplicated()][:3].tolist()
                raise ValueError(f"{label}: run {i} of {name} lists videos more than once ({dup})")
    runs = list(runs_a) + list(runs_b)
    sets = [set(map(str, run.index)) for run in runs]
    union, common = set().union(*sets), set.intersection(*sets)
    if not common:
        raise ValueError(f"{label}: no video is common to every run of both cells ({len(union)} videos in all): "
                         "they were not tested on the same videos")
    dropped = len(union) - len(common)
    if dropped > max_unpaired * len(union):
        only_a = sorted(set().union(*sets[:len(runs_a)]) - set().union(*sets[len(runs_a):]))
        only_b = sorted(set().union(*sets[len(runs_a):]) - set().union(*sets[:len(runs_a)]))
        raise ValueError(
            f"{label}: not tested on the same videos: {dropped} of {len(union)} are absent from some run (at most "
            f"{max_unpaired:.0%} may be, as missing or skipped videos); {len(only_a)} only in {names[0]} "
            f"(e.g. {only_a[:3]}), {len(only_b)} only in {names[1]} (e.g. {only_b[:3]})")
    keys = sorted(common)

    def matrix(name: str, cell_runs: Sequence[pd.Series]) -> np.ndarray:
        rows = []
        for i, run in enumerate(cell_runs):
            values = run.set_axis(run.index.map(str)).reindex(keys).to_numpy()
            if pd.isna(values).any() or not np.isin(values, (0, 1)).all():
                bad = sorted({str(v) for v in values if pd.isna(v) or v not in (0, 1)})[:3]
                raise ValueError(f"{label}: run {i} of {name} has correctness values other than 0/1 ({bad})")
            rows.append(values.astype(np.int64))
        return np.vstack(rows)

    return matrix(names[0], runs_a), matrix(names[1], runs_b), keys, dropped


def mcnemar_midp(n10: int, n01: int) -> float:
    """McNemar's exact test, two-sided mid-p: 2 (P(X < k) + P(X = k) / 2), capped at 1, X ~ Binomial(n10 + n01, 1/2),
    k = min(n10, n01); computed in exact integer arithmetic (1.0 when there is no discordant pair)."""
    n, k = n10 + n01, min(n10, n01)
    if n10 < 0 or n01 < 0:
        raise ValueError(f"discordant counts must be >= 0, got {n10}, {n01}")
    if n == 0:
        return 1.0
    term, below = 1, 0  # C(n, i) for i = 0..k, and the sum of those below k
    for i in range(k):
        below += term
        term = term * (n - i) // (i + 1)
    return min(1.0, float(Fraction(2 * below + term, 2**n)))


def _round_half_up(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def _seed_counts(rng: np.random.Generator, seeds: int, replicates: int) -> np.ndarray:
    """(replicates, seeds) int64: how often each seed is drawn when `seeds` seeds are resampled with replacement
    (all ones for a single seed: nothing to resample)."""
    if seeds == 1:
        return np.ones((replicates, 1), dtype=np.int64)
    draws = rng.integers(0, seeds, size=(replicates, seeds))
    draws += (np.arange(replicates, dtype=np.int64) * seeds)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * seeds).reshape(replicates, seeds)


def bootstrap_numerators(a: np.ndarray, b: np.ndarray, replicates: int = REPLICATES, seed: int = SEED) -> np.ndarray:
    """The paired hierarchical bootstrap's replicates of mean(A) - mean(B) as integer numerators over
    seeds_a * seeds_b * videos (int64, in draw order). a, b: 0/1 int64 (seeds x videos) on the same videos."""
    (sa, n), (sb, nb) = a.shape, b.shape
    if n != nb or n == 0:
        raise ValueError(f"the two cells' predictions must cover the same videos ({n} vs {nb})")
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates}")
    videos_ss, a_ss, b_ss = np.random.SeedSequence(seed).spawn(3)
    videos_rng = np.random.Generator(np.random.PCG64(videos_ss))
    both = np.vstack([a, b]).astype(np.int64).T  # videos x (seeds_a + seeds_b)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    per_seed = []  # replicates x (seeds_a + seeds_b): correct answers of each run on the drawn videos
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        draws = videos_rng.integers(0, n, size=(size, n))
        draws += (np.arange(size, dtype=np.int64) * n)[:, None]
        weights = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)  # times each video is drawn
        per_seed.append(weights @ both)
    correct = np.vstack(per_seed)
    count_a = _seed_counts(np.random.Generator(np.random.PCG64(a_ss)), sa, replicates)
    count_b = _seed_counts(np.random.Generator(np.random.PCG64(b_ss)), sb, replicates)
    total_a = (count_a * correct[:, :sa]).sum(axis=1)  # correct answers over (drawn seeds x drawn videos)
    total_b = (count_b * correct[:, sa:]).sum(axis=1)
    return total_a * sb - total_b * sa


def percentile_index(replicates: int, alpha: float | Fraction) -> int:
    """j = floor((R + 1) alpha / 2): the interval is the j-th and (R + 1 - j)-th smallest replicate (1-based)."""
    alpha = alpha if isinstance(alpha, Fraction) else Fraction(repr(float(alpha)))  # 0.05 as the decimal 1/20
    j = math.floor((replicates + 1) * alpha / 2)
    if j < 1:
        raise ValueError(f"{replicates} bootstrap replicates cannot give a {1 - float(alpha):.4%} interval: "
                         f"use at least {math.ceil(2 / float(alpha))}")
    return j


class PairedBootstrap:
    """The paired comparison of cell A with cell B (module docstring); `summary` gives it at a level and a null."""

    def __init__(self, runs_a: Sequence[pd.Series], runs_b: Sequence[pd.Series], names: tuple[str, str] = ("A", "B"),
                 replicates: int = REPLICATES, seed: int = SEED, max_unpaired: float = MAX_UNPAIRED):
        self.names, self.replicates, self.seed = names, replicates, seed
        self.a, self.b, self.keys, self.dropped = align(runs_a, runs_b, names, max_unpaired)
        (self.seeds_a, self.videos), self.seeds_b = self.a.shape, self.b.shape[0]
        self.denominator = self.seeds_a * self.seeds_b * self.videos
        self.numerators = np.sort(bootstrap_numerators(self.a, self.b, replicates, seed))

    def points(self, numerator: int) -> float:
        """A numerator over `denominator` in points (one division)."""
        return 100 * int(numerator) / self.denominator

    @property
    def difference(self) -> float:
        """Mean over seeds of A's top-1 minus mean over seeds of B's, in points."""
        return self.points(int(self.a.sum()) * self.seeds_b - int(self.b.sum()) * self.seeds_a)

    def interval(self, alpha: float | Fraction) -> tuple[float, float]:
        """The percentile interval at level 1 - alpha (points, unrounded)."""
        j = percentile_index(self.replicates, alpha)
        return self.points(self.numerators[j - 1]), self.points(self.numerators[self.replicates - j])

    def p_value(self, null: float = 0.0) -> float:
        """One-sided p of "difference > null" (points): (1 + #{replicates <= null}) / (R + 1)."""
        bound = Fraction(null) * self.denominator / 100  # replicate <= null  <=>  numerator <= bound
        below = int(np.searchsorted(self.numerators, math.floor(bound), side="right"))
        return (1 + below) / (self.replicates + 1)

    def discordant(self) -> tuple[Fraction, Fraction]:
        """(n10, n01): videos A gets right and B wrong, and the reverse, averaged over every pair of seeds."""
        sum_a, sum_b = self.a.sum(axis=0), self.b.sum(axis=0)
        pairs = self.seeds_a * self.seeds_b
        return (Fraction(int((sum_a * (self.seeds_b - sum_b)).sum()), pairs),
                Fraction(int(((self.seeds_a - sum_a) * sum_b).sum()), pairs))

    def correlation(self) -> float | None:
        """Pearson's correlation of A's and B's seed-mean correctness across videos (None if either is constant)."""
        sum_a, sum_b, n = self.a.sum(axis=0), self.b.sum(axis=0), self.videos
        sa, sb = int(sum_a.sum()), int(sum_b.sum())
        cov = n * int((sum_a * sum_b).sum()) - sa * sb
        var_a, var_b = n * int((sum_a * sum_a).sum()) - sa * sa, n * int((sum_b * sum_b).sum()) - sb * sb
        return None if var_a == 0 or var_b == 0 else cov / math.sqrt(var_a * var_b)

    def mcnemar(self) -> dict:
        """McNemar's exact mid-p: combined (on the seed-averaged discordant counts, rounded) and per seed pair."""
        n10, n01 = self.discordant()
        c10 = _round_half_up(n10.numerator, n10.denominator)
        c01 = _round_half_up(n01.numerator, n01.denominator)
        per_seed = []
        for i in range(min(self.seeds_a, self.seeds_b)):
            p10 = int((self.a[i] * (1 - self.b[i])).sum())
            p01 = int(((1 - self.a[i]) * self.b[i]).sum())
            per_seed.append({"n10": p10, "n01": p01, "p_mid": _p(mcnemar_midp(p10, p01))})
        return {"n10": c10, "n01": c01, "p_mid": _p(mcnemar_midp(c10, c01)), "per_seed": per_seed}

    def summary(self, alpha: float | Fraction = Fraction(1, 20), null: float = 0.0, family: int = 1) -> dict:
        """The comparison as claims.json records it: interval at level 1 - alpha, one-sided p of "> null" (and
        times `family`, Bonferroni), McNemar, discordance and correlation; floats rounded to DIGITS decimals."""
        low, high = self.interval(alpha)
        n10, n01 = self.discordant()
        p = self.p_value(null)
        top1_a = 100 * int(self.a.sum()) / (self.seeds_a * self.videos)
        top1_b = 100 * int(self.b.sum()) / (self.seeds_b * self.videos)
        corr = self.correlation()
        return {"seeds_better": self.seeds_a, "seeds_worse": self.seeds_b, "videos": self.videos,
                "videos_dropped": self.dropped, "top1_better": _r(top1_a), "top1_worse": _r(top1_b),
                "difference": _r(self.difference), "ci_low": _r(low), "ci_high": _r(high),
                "level": _r(1 - float(alpha)), "null": _r(null), "p_value": _p(p),
                "p_bonferroni": _p(min(1.0, family * p)), "mcnemar": self.mcnemar(),
                "discordance": _r(float((n10 + n01) / self.videos)),
                "correlation": None if corr is None else _r(corr),
                "replicates": self.replicates, "bootstrap_seed": self.seed}


def paired_difference(runs_a: Sequence[pd.Series], runs_b: Sequence[pd.Series], alpha: float | Fraction = 0.05,
                      null: float = 0.0, names: tuple[str, str] = ("A", "B"), replicates: int = REPLICATES,
                      seed: int = SEED) -> dict:
    """PairedBootstrap(runs_a, runs_b, ...).summary(alpha, null): A - B with its interval, p-value and cross-checks."""
    return PairedBootstrap(runs_a, runs_b, names, replicates, seed).summary(alpha, null)


def cell_interval(runs: Sequence[pd.Series], alpha: float | Fraction = Fraction(1, 20), name: str = "cell",
                  replicates: int = REPLICATES, seed: int = SEED) -> tuple[float, float]:
    """The percentile interval (points, at level 1 - alpha) of one cell's mean top-1 over its runs: the hierarchical
    bootstrap above with nothing to compare against (the test videos and, with two or more, the cell's seeds drawn
    with replacement). It covers test-set sampling and training randomness together, as the claims' tests do."""
    nothing = [pd.Series(0, index=runs[0].index)]
    low, high = PairedBootstrap(runs, nothing, (name, "zero"), replicates, seed).interval(alpha)
    return _r(low), _r(high)
