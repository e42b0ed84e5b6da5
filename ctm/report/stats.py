"""The report's statistics: the interval of a mean over splits, the interval of a difference of two results (the
claims' fallback where a cell has no per-video predictions; ctm.report.paired is the paired rule), normal quantiles
and the Bonferroni split of a claim's error rate.

All values are in percent. The single-run interval (Wilson's score interval on top-1) comes from
ctm.intervals; docs/report.md explains each choice.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

from ctm.intervals import Z95

# Two-sided 95% quantiles of Student's t (0.975 quantile) for 1..10 degrees of freedom.
_T975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105, 5: 2.570581836,
         6: 2.446911851, 7: 2.364624252, 8: 2.306004135, 9: 2.262157163, 10: 2.228138852}


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom (Cornish-Fisher beyond 10: error < 0.003)."""
    if df < 1:
        raise ValueError(f"a t quantile needs at least 1 degree of freedom, got {df}")
    if df in _T975:
        return _T975[df]
    z = Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_interval(values: list[float]) -> tuple[float, float, float, float]:
    """(mean, sample std, low, high): the t interval of the mean of n >= 2 values, mean +- t(n-1) * std / sqrt(n)."""
    if len(values) < 2:
        raise ValueError(f"a mean's interval needs at least two values, got {values}")
    mean, std = statistics.fmean(values), statistics.stdev(values)
    half = t975(len(values) - 1) * std / math.sqrt(len(values))
    return mean, std, mean - half, mean + half


def difference_interval(a: float, a_low: float, a_high: float,
                        b: float, b_low: float, b_high: float) -> tuple[float, float, float]:
    """(a - b, low, high): the 95% interval of a difference from the two results' own 95% intervals.

    MOVER (Zou & Donner 2008); with Wilson intervals it is Newcombe's hybrid score interval (1998, method 10):
    low = d - sqrt((a - a_low)^2 + (b_high - b)^2), high = d + sqrt((a_high - a)^2 + (b - b_low)^2).
    It assumes independent results; both models are tested on the same videos, whose correctness is positively
    correlated, so the interval is wider than a paired one would be (conservative)."""
    d = a - b
    low = d - math.sqrt((a - a_low) ** 2 + (b_high - b) ** 2)
    high = d + math.sqrt((a_high - a) ** 2 + (b - b_low) ** 2)
    return d, low, high


def normal_quantile(p: float) -> float:
    """The p quantile of the standard normal distribution (statistics.NormalDist: plain Python, the same everywhere)."""
    return statistics.NormalDist().inv_cdf(p)


def bonferroni_alpha(family: int, alpha: Fraction = Fraction(1, 20)) -> Fraction:
    """Each of `family` comparisons' error rate when their family's is at most `alpha`: alpha / family (exact)."""
    if family < 1:
        raise ValueError(f"a family has at least one comparison, got {family}")
    return Fraction(alpha) / family


def widen(d: float, low: float, high: float, alpha: float | Fraction) -> tuple[float, float]:
    """A 95% interval [low, high] around d stretched to level 1 - alpha: each arm times z(1 - alpha/2) / z(0.975).
    Exact for normal (Wald) intervals, close for Wilson's and MOVER's at the sizes of the report."""
    factor = normal_quantile(1 - float(alpha) / 2) / Z95
    return d - factor * (d - low), d + factor * (high - d)
