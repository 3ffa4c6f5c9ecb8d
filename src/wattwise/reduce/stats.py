"""Paired ratios: the median of per-round ratios with a distribution-free (order-statistic) interval."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

#: the confidence the lab asks of an interval before it calls a variant better than the baseline
LEVEL = 0.95


@dataclass(frozen=True)
class Ratio:
    """Median of paired ratios and its interval; ``level`` is the interval's exact coverage (below
    :data:`LEVEL` when there are too few rounds: fewer than 6 pairs cannot give a 95 % interval)."""

    median: float
    low: float
    high: float
    level: float
    n: int

    def clears_below(self, bound: float = 1.0) -> bool:
        """The whole interval lies below ``bound`` at the lab's confidence."""
        return self.level >= LEVEL and self.high < bound


def _binom_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_interval(xs: list[float], level: float = LEVEL) -> Ratio:
    """Median of ``xs`` with the order-statistic interval [x_(k), x_(n+1-k)] for the median: the largest
    k whose coverage 1 - 2 P(Binom(n, 1/2) <= k - 1) is at least ``level`` (k = 1, the range, when none is)."""
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("no pairs")
    k = 1
    while k + 1 <= (n + 1) // 2 and 1 - 2 * _binom_cdf(k, n) >= level:
        k += 1
    cover = 1 - 2 * _binom_cdf(k - 1, n) if n > 1 else 0.0
    return Ratio(statistics.median(s), s[k - 1], s[n - k], round(cover, 4), n)


def paired_ratio(values: list[float], baseline: list[float]) -> Ratio:
    """Ratio of ``values`` to ``baseline`` measured in the same rounds: median and interval of v_i / b_i."""
    if len(values) != len(baseline):
        raise ValueError("paired ratio needs one baseline value per round")
    return median_interval([v / b for v, b in zip(values, baseline, strict=True) if b > 0])
