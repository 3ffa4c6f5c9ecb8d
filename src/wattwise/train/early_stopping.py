"""Energy-aware early stopping: stop when the validation gain per kWh no longer pays for the energy.

Over the last ``window`` evaluations the policy computes the *rate* = (best loss ``window`` evaluations ago −
best loss now) / kWh spent since then. It stops when the rate falls below ``min_gain_per_kwh`` (absolute, in
loss units per kWh) or below ``min_rate_fraction`` x the best rate seen so far (hardware-independent), or
after ``patience`` evaluations without improvement (classic early stopping). With ``planned_j`` (the energy
of the planned run, known or forecast) it reports the energy saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH


@dataclass
class EvalRecord:
    step: int
    loss: float
    best: float
    energy_j: float
    rate_per_kwh: float | None


@dataclass
class EnergyAwareEarlyStopping:
    """Early stopping on validation improvement per kWh (lower loss is better; use ``mode="max"`` else)."""

    energy_j: Callable[[], float]
    min_gain_per_kwh: float | None = None
    min_rate_fraction: float | None = None
    window: int = 3
    patience: int | None = 5
    min_delta: float = 0.0
    min_evals: int = 0
    mode: str = "min"
    planned_j: float | Callable[[], float | None] | None = None
    name: str = "energy-aware early stopping"
    history: list[EvalRecord] = field(default_factory=list)
    stopped: bool = False
    reason: str | None = None
    stop_step: int | None = None
    _baseline: float = 0.0
    _best_rate: float = 0.0
    _since_best: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise WattwiseError(f"window must be at least 1 evaluation, got {self.window}")
        if self.mode not in ("min", "max"):
            raise WattwiseError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience is not None and self.patience < 1:
            raise WattwiseError(f"patience must be at least 1, got {self.patience}")

    def start(self) -> None:
        self._baseline = self.energy_j()

    def _score(self, value: float) -> float:
        return value if self.mode == "min" else -value

    def update(self, step: int, value: float) -> bool:
        """Record one evaluation; True means stop now."""
        if self.stopped:
            return True
        used = self.energy_j() - self._baseline
        score = self._score(value)
        prev_best = self.history[-1].best if self.history else float("inf")
        improved = score < prev_best - self.min_delta
        best = min(score, prev_best)
        self._since_best = 0 if improved or not self.history else self._since_best + 1
        rate = None
        if len(self.history) >= self.window:
            old = self.history[-self.window]
            kwh = (used - old.energy_j) / J_PER_KWH
            rate = (old.best - best) / kwh if kwh > 0 else None
        self.history.append(EvalRecord(step, value, best, used, rate))
        if rate is not None:
            self._best_rate = max(self._best_rate, rate)
        if len(self.history) < max(self.min_evals, 1):
            return False
        if rate is not None and self.min_gain_per_kwh is not None and rate < self.min_gain_per_kwh:
            return self._stop(
                step,
                f"validation gain {rate:.4g}/kWh over the last {self.window} evaluations "
                f"is below {self.min_gain_per_kwh:.4g}/kWh",
            )
        if (
            rate is not None
            and self.min_rate_fraction is not None
            and rate < self.min_rate_fraction * self._best_rate
        ):
            return self._stop(
                step,
                f"validation gain {rate:.4g}/kWh fell below {self.min_rate_fraction:.0%} "
                f"of the best rate {self._best_rate:.4g}/kWh",
            )
        if self.patience is not None and self._since_best >= self.patience:
            return self._stop(step, f"no improvement in {self.patience} evaluations")
        return False

    def _stop(self, step: int, reason: str) -> bool:
        self.stopped, self.reason, self.stop_step = True, reason, step
        return True

    def __call__(self, step: int, value: float) -> bool:
        """Eval hook for :func:`wattwise.train.tinygpt.train_tinygpt` (``on_eval=policy``)."""
        return self.update(step, value)

    @property
    def used_j(self) -> float:
        return self.history[-1].energy_j if self.history else 0.0

    def report(self, planned_j: float | None = None) -> dict:
        """Energy used, planned and saved (``planned_j`` overrides the one given at construction)."""
        planned = planned_j
        if planned is None:
            planned = self.planned_j() if callable(self.planned_j) else self.planned_j
        out: dict = {
            "stopped": self.stopped,
            "reason": self.reason,
            "stop_step": self.stop_step,
            "evaluations": len(self.history),
            "used_kwh": self.used_j / J_PER_KWH,
            "best": (self.history[-1].best if self.mode == "min" else -self.history[-1].best)
            if self.history
            else None,
        }
        if planned:
            saved = max(planned - self.used_j, 0.0)
            out.update(
                planned_kwh=planned / J_PER_KWH, saved_kwh=saved / J_PER_KWH, saved_fraction=saved / planned
            )
        return out
