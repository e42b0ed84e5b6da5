"""Wilson's 95% score interval of a proportion, in plain Python: training and evaluation (ctm.engine.metrics, which
re-exports it) and the report (ctm.report, which must not import torch) compute it with this one function."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well behaved near 0 and 1, unlike the Wald interval)."""
    if total <= 0:
        raise ValueError("an interval needs at least one trial")
    if not 0 <= correct <= total:
        raise ValueError(f"correct={correct} must lie in [0, total={total}]")
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
