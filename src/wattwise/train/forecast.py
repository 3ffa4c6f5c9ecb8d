"""Forecast a whole run's energy, duration and CO2 from its first steps (or epochs), with an interval.

Feed cumulative observations ``observe(step, energy_j, seconds)`` (per step, per epoch, or irregularly).
After a warm-up (excluded: start-up, caches, first evaluation), the mean energy per step is the ratio
``ΔE / Δsteps`` over the observed span. The interval combines

- the step-to-step spread for the steps still to run (``σ_step · √R``) and
- the uncertainty of the mean itself, from *batch means* over contiguous blocks of the observed span
  (robust to periodic costs such as evaluations and to autocorrelated load): ``R · se(mean)``,

added in quadrature and scaled by ``z`` (1.96: ~95 %). The same is done for time. CO2 = kWh x PUE x
intensity. Updated on every observation, so the forecast tightens as training goes (carbontracker
forecasts per epoch; this works per step too).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE_G_PER_KWH


@dataclass(frozen=True)
class Forecast:
    """Predicted totals for the whole run with a prediction interval."""

    at_step: int
    total_steps: int
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    seconds: float
    seconds_low: float
    seconds_high: float
    co2_g: float
    co2_low_g: float
    co2_high_g: float
    j_per_step: float
    s_per_step: float

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    def to_dict(self) -> dict:
        return {**asdict(self), "energy_kwh": self.energy_kwh}


@dataclass
class _Obs:
    step: int
    energy_j: float
    seconds: float


@dataclass
class RunForecaster:
    """Forecast of a run of ``total_steps`` (steps or epochs) from cumulative observations."""

    total_steps: int
    warmup_steps: int | None = None
    intensity_g_per_kwh: float = WORLD_AVERAGE_G_PER_KWH
    pue: float = 1.0
    #: gCO2e per IT kWh, asked each time (a monitor passes its run footprint's intensity x PUE); wins when set
    carbon_factor: Callable[[], float] | None = None
    z: float = 1.96
    blocks: int = 10
    observations: list[_Obs] = field(default_factory=list)
    forecasts: list[Forecast] = field(default_factory=list)
    keep_history: bool = True

    def g_per_it_kwh(self) -> float:
        """gCO2e per kWh of IT energy: the factor given, else intensity x PUE."""
        return self.carbon_factor() if self.carbon_factor is not None else self.intensity_g_per_kwh * self.pue

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise WattwiseError(f"total_steps must be at least 1, got {self.total_steps}")
        if self.warmup_steps is None:
            self.warmup_steps = max(1, round(0.02 * self.total_steps))

    def observe(self, step: int, energy_j: float, seconds: float) -> Forecast | None:
        """Add a cumulative observation (energy and time since the run started) at ``step``."""
        if self.observations and step <= self.observations[-1].step:
            raise WattwiseError(f"steps must increase: got {step} after {self.observations[-1].step}")
        self.observations.append(_Obs(step, float(energy_j), float(seconds)))
        fc = self.forecast()
        if fc is not None and self.keep_history:
            self.forecasts.append(fc)
        return fc

    def _usable(self) -> list[_Obs]:
        """Observations from the last one at or before the warm-up on (the first is the baseline)."""
        obs = self.observations
        start = 0
        for i, o in enumerate(obs):
            if o.step <= (self.warmup_steps or 0):
                start = i
        return obs[start:]

    def forecast(self) -> Forecast | None:
        """The forecast now, or None until there are at least two observations after the warm-up and the meter
        has reported energy over them (a sampling meter reads 0 J until its first sample: a fast start would
        otherwise forecast 0 J for the whole run)."""
        obs = self._usable()
        if len(obs) < 3:
            return None
        first, last = obs[0], obs[-1]
        span = last.step - first.step
        if span <= 0 or last.energy_j <= first.energy_j:
            return None
        remaining = max(self.total_steps - last.step, 0)
        e_mean, e_step_sd, e_se = _rate_stats(obs, "energy_j", self.blocks)
        t_mean, t_step_sd, t_se = _rate_stats(obs, "seconds", self.blocks)
        e_tot = last.energy_j + remaining * e_mean
        t_tot = last.seconds + remaining * t_mean
        e_half = self.z * math.sqrt(remaining * e_step_sd**2 + (remaining * e_se) ** 2)
        t_half = self.z * math.sqrt(remaining * t_step_sd**2 + (remaining * t_se) ** 2)
        g_per_j = self.g_per_it_kwh() / J_PER_KWH
        e_lo, e_hi = max(e_tot - e_half, last.energy_j), e_tot + e_half
        return Forecast(
            at_step=last.step,
            total_steps=self.total_steps,
            energy_j=e_tot,
            energy_low_j=e_lo,
            energy_high_j=e_hi,
            seconds=t_tot,
            seconds_low=max(t_tot - t_half, last.seconds),
            seconds_high=t_tot + t_half,
            co2_g=e_tot * g_per_j,
            co2_low_g=e_lo * g_per_j,
            co2_high_g=e_hi * g_per_j,
            j_per_step=e_mean,
            s_per_step=t_mean,
        )

    def first_at(self, fraction: float) -> Forecast | None:
        """The first forecast made at or after ``fraction`` of the run (e.g. 0.1)."""
        for fc in self.forecasts:
            if fc.at_step >= fraction * self.total_steps:
                return fc
        return None


def _rate_stats(obs: list[_Obs], attr: str, blocks: int = 10) -> tuple[float, float, float]:
    """(mean per step, per-step sd, standard error of the mean per step) of ``attr`` over ``obs``."""
    steps = [b.step - a.step for a, b in itertools.pairwise(obs)]
    deltas = [getattr(b, attr) - getattr(a, attr) for a, b in itertools.pairwise(obs)]
    n_steps = sum(steps)
    mean = sum(deltas) / n_steps
    # per-step variance from the increments (each increment covers ds steps: var(ΔE) ≈ ds · σ²)
    k = len(deltas)
    sd = math.sqrt(sum((d - mean * s) ** 2 / s for d, s in zip(deltas, steps, strict=False)) / max(k - 1, 1))
    # batch means: contiguous blocks of increments, standard error of their per-step rates
    nb = max(2, min(blocks, k // 2)) if k >= 4 else k
    if nb < 2:
        return mean, sd, sd / math.sqrt(max(n_steps, 1))
    size = k / nb
    rates, weights = [], []
    for b in range(nb):
        lo, hi = round(b * size), round((b + 1) * size)
        s = sum(steps[lo:hi])
        if s > 0:
            rates.append(sum(deltas[lo:hi]) / s)
            weights.append(s)
    if len(rates) < 2:
        return mean, sd, sd / math.sqrt(max(n_steps, 1))
    w = sum(weights)
    var_b = (
        sum(wi * (r - mean) ** 2 for r, wi in zip(rates, weights, strict=False))
        / w
        * len(rates)
        / (len(rates) - 1)
    )
    se = math.sqrt(var_b / len(rates))
    return mean, sd, max(se, sd / math.sqrt(n_steps))
