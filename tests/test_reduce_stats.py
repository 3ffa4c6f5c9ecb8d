"""Paired ratios: median of per-round ratios with an order-statistic interval of known coverage."""

from __future__ import annotations

import math

import pytest

from wattwise.reduce.stats import median_interval, paired_ratio


def test_coverage_is_exact_binomial() -> None:
    r = median_interval([5.0, 1.0, 4.0, 2.0, 3.0, 6.0])
    assert (r.low, r.high, r.median) == (1.0, 6.0, 3.5)  # n = 6: only the range reaches 95 %
    assert r.level == pytest.approx(1 - 2 / 64, abs=1e-4)
    r9 = median_interval([float(x) for x in range(1, 10)])
    assert (r9.low, r9.high) == (2.0, 8.0)  # ranks 2 and 8 of 9: 1 - 2*P(B <= 1) = 0.961
    assert r9.level == pytest.approx(1 - 2 * (1 + 9) / 512, abs=1e-4)
    assert r9.clears_below(8.5) and not r9.clears_below(8.0)


def test_too_few_rounds_never_clear() -> None:
    r = median_interval([0.3, 0.31, 0.29])
    assert r.level < 0.95 and not r.clears_below(1.0)  # 3 rounds cannot give a 95 % interval


def test_pairs_cancel_a_drift_shared_by_both() -> None:
    # the machine slows down 3x over the run; the variant is always 0.4x the baseline of the same round
    drift = [1.0, 1.5, 2.0, 2.5, 3.0, 1.2, 0.9, 2.2]
    base = [10 * d for d in drift]
    var = [4 * d * (1 + 0.01 * math.sin(i)) for i, d in enumerate(drift)]
    r = paired_ratio(var, base)
    assert r.low <= 0.4 * 1.0 <= r.high * 1.001 and r.high - r.low < 0.02
    unpaired = sorted(var)[len(var) // 2] / sorted(base)[len(base) // 2]
    assert abs(r.median - 0.4) < abs(unpaired - 0.4) + 1e-9
    with pytest.raises(ValueError):
        paired_ratio([1.0], [1.0, 2.0])
