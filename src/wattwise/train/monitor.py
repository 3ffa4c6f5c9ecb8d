"""The plain-loop API: one object that meters a training loop and applies budget, early stopping, forecast.

::

    from wattwise.train import TrainingMonitor
    es = {"min_rate_fraction": 0.1}
    with TrainingMonitor("my-run", total_steps=10_000, budget_kwh=0.5, early_stopping=es) as mon:
        for batch in loader:
            loss = train_step(batch)
            if mon.step(tokens=batch.numel()):     # counts the step in the run; True: stop (budget)
                break
            if step % 500 == 0 and mon.evaluate(val_loss()):   # True: early stop
                break
    print(mon.summary())

It opens a ``wattwise.track`` run (or uses the ``run=`` / ``energy_j=`` given), so ``run.step(tokens=n)``
is what is called underneath. The HF Trainer and Lightning callbacks are thin adapters over this class.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wattwise.accounting import footprint_from_samples
from wattwise.context import resolve_context
from wattwise.footprint import J_PER_KWH, Footprint, Intensity
from wattwise.tracking import track
from wattwise.train.budget import BudgetEvent, EnergyBudget
from wattwise.train.early_stopping import EnergyAwareEarlyStopping
from wattwise.train.forecast import Forecast, RunForecaster

#: Oldest energy figure (s) the monitor accepts; a fresher one costs a synchronous sample (a few ms).
FRESH_S = 0.25
#: Shortest time between two forecast observations after the warm-up (keeps a fast loop's cost flat).
OBSERVE_S = 0.01


class TrainingMonitor:
    """Meter + policies for a training loop (see the module docstring)."""

    def __init__(
        self,
        name: str = "training",
        *,
        run: Any = None,
        energy_j: Callable[[], float] | None = None,
        total_steps: int | None = None,
        budget_kwh: float | None = None,
        budget_g: float | None = None,
        budget_action: str = "stop",
        warn_at: float = 0.8,
        on_limit: Callable[[BudgetEvent], None] | None = None,
        early_stopping: EnergyAwareEarlyStopping | dict | None = None,
        forecast_warmup: int | None = None,
        intensity: Intensity | float | None = None,
        location: str | None = None,
        pue: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name = name
        self._run_given = run
        self._energy_fn = energy_j
        self.run: Any = None
        self._ctx: Any = None
        self.total_steps = total_steps
        # budgets, forecast and model card convert energy exactly as the run's footprint does (one context:
        # argument > the given run's > environment > config file > default); an unknown location fails here
        given_ctx = getattr(run, "context", None)
        if isinstance(intensity, Intensity):
            intensity = intensity.g_per_kwh
        self.context = resolve_context(
            location or getattr(run, "location", None) or (given_ctx.location if given_ctx else None),
            intensity if intensity is not None else (given_ctx.intensity if given_ctx else None),
            pue if pue is not None else (given_ctx.pue if given_ctx else None))
        self.location = self.context.location
        self._factor: tuple[float, float] | None = None  # (sample time, gCO2e per IT kWh)
        self.clock = clock
        self.steps = 0
        self.tokens = 0
        self.should_stop = False
        self.stop_reason: str | None = None
        self.epoch_energy_j: list[float] = []
        self._budget_args: dict[str, Any] = dict(
            limit_kwh=budget_kwh, limit_g=budget_g, action=budget_action, warn_at=warn_at, on_limit=on_limit
        )
        self.budget: EnergyBudget | None = None
        self._es_arg = early_stopping
        self.early_stopping: EnergyAwareEarlyStopping | None = None
        self._forecast_warmup = forecast_warmup
        self.forecaster: RunForecaster | None = None
        self._e0 = 0.0
        self._t0 = 0.0
        self._started = False
        self.footprint: Any = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, total_steps: int | None = None) -> TrainingMonitor:
        """Open the run (unless given) and reset the counters; ``total_steps`` enables the forecast."""
        if self._started:
            return self
        if total_steps:
            self.total_steps = total_steps
        if self._run_given is not None:
            self.run = self._run_given
        elif self._energy_fn is None:
            c = self.context
            self._ctx = track(self.name, location=c.location, intensity=c.intensity, pue=c.pue)
            self.run = self._ctx.__enter__()
        self._e0 = self._raw_energy()
        self._t0 = self.clock()
        if self._budget_args["limit_kwh"] is not None or self._budget_args["limit_g"] is not None:
            self.budget = EnergyBudget(self.energy_j, carbon_factor=self.g_per_it_kwh, **self._budget_args)
        if isinstance(self._es_arg, EnergyAwareEarlyStopping):
            self.early_stopping = self._es_arg
        elif isinstance(self._es_arg, dict):
            self.early_stopping = EnergyAwareEarlyStopping(self.energy_j, **self._es_arg)
        if self.early_stopping is not None and self.early_stopping.planned_j is None:
            self.early_stopping.planned_j = self.planned_energy_j
        if self.total_steps:
            self.forecaster = RunForecaster(
                self.total_steps, warmup_steps=self._forecast_warmup, carbon_factor=self.g_per_it_kwh
            )
            self.forecaster.observe(0, 0.0, 0.0)
        self._started = True
        return self

    def close(self) -> Any:
        """Close the run (if this monitor opened it); returns its footprint when available."""
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None
        if self.run is not None and hasattr(self.run, "footprint"):
            try:
                self.footprint = self.run.footprint()
            except Exception:  # a footprint is a report, never a reason to fail the training
                self.footprint = None
        return self.footprint

    def __enter__(self) -> TrainingMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ energy
    def _raw_energy(self) -> float:
        if self._energy_fn is not None:
            return float(self._energy_fn())
        if self.run is None:
            return 0.0
        if hasattr(self.run, "energy_now_j"):  # a wattwise Run: interpolated to now, never waits
            return float(self.run.energy_now_j())
        try:  # a figure at most FRESH_S old, so per-step policies see current energy
            return float(self.run.energy_j(max_age=FRESH_S))
        except TypeError:  # any other object with energy_j()
            return float(self.run.energy_j())

    def energy_j(self) -> float:
        """Energy since :meth:`start` in joules (IT energy)."""
        return self._raw_energy() - self._e0

    def seconds(self) -> float:
        return self.clock() - self._t0

    def _footprint_now(self) -> Footprint:
        if self.run is not None and hasattr(self.run, "footprint"):
            return self.run.footprint()
        c = self.context
        return footprint_from_samples([], location=c.location, g_per_kwh=c.intensity, pue=c.pue, scope=c.scope)

    def g_per_it_kwh(self) -> float:
        """gCO2e per kWh of IT energy (intensity x PUE) as the run's footprint applies it, per new sample."""
        at = float(getattr(self.run, "last_sample_at", 0.0) or 0.0)
        if self._factor is None or self._factor[0] != at:
            fp = self._footprint_now()
            self._factor = (at, fp.intensity.g_per_kwh * fp.pue)
        return self._factor[1]

    @property
    def intensity(self) -> Intensity:
        """The intensity the run's footprint applies (its source names the data actually used)."""
        return self._footprint_now().intensity

    @property
    def pue(self) -> float:
        return self._footprint_now().pue

    def co2_g(self, energy_j: float | None = None) -> float:
        e = self.energy_j() if energy_j is None else energy_j
        return e / J_PER_KWH * self.g_per_it_kwh()

    def planned_energy_j(self) -> float | None:
        """The forecast energy of the planned run (all ``total_steps``), if known yet."""
        fc = self.forecast
        return fc.energy_j if fc else None

    @property
    def forecast(self) -> Forecast | None:
        return self.forecaster.forecasts[-1] if self.forecaster and self.forecaster.forecasts else None

    # ------------------------------------------------------------------ loop calls
    def step(self, tokens: int | None = None, **counters: float) -> bool:
        """Count one optimiser step; True means the budget says stop now.

        Only the budget answers here: an early-stopping decision is returned by :meth:`evaluate` (and kept in
        :attr:`should_stop`), so a loop may still finish a cool-down after it.
        """
        if not self._started:
            self.start()
        self.steps += 1
        if tokens:
            self.tokens += int(tokens)
            counters["tokens"] = tokens
        if self.run is not None and hasattr(self.run, "step"):
            self.run.step(**counters)
        if self.forecaster is not None and self.steps <= self.forecaster.total_steps:
            now = self.seconds()
            fc = self.forecaster
            if len(fc.observations) < (fc.warmup_steps or 0) + 4 or now - fc.observations[-1].seconds >= OBSERVE_S:
                self.forecaster.observe(self.steps, self.energy_j(), now)
        if self.budget is not None and self.budget.check(self.steps):
            self._stop(self.budget.events[-1].message)
            return True
        return False

    def evaluate(self, value: float, step: int | None = None) -> bool:
        """Report one validation figure; True means stop (early stopping)."""
        if self.early_stopping is not None and self.early_stopping.update(step or self.steps, float(value)):
            self._stop(self.early_stopping.reason or "early stopping")
            return True
        return False

    def epoch_end(self) -> None:
        self.epoch_energy_j.append(self.energy_j())

    def _stop(self, reason: str) -> None:
        if not self.should_stop:
            self.should_stop, self.stop_reason = True, reason

    # ------------------------------------------------------------------ reporting
    def log_fields(self) -> dict[str, float]:
        """Flat numbers for a logger (HF Trainer logs, Lightning, MLflow ...)."""
        e = self.energy_j()
        out = {
            "energy_kwh": e / J_PER_KWH,
            "co2_g": self.co2_g(e),
            "energy_j_per_step": e / self.steps if self.steps else 0.0,
        }
        fc = self.forecast
        if fc is not None:
            out.update(
                forecast_energy_kwh=fc.energy_kwh,
                forecast_energy_kwh_low=fc.energy_low_j / J_PER_KWH,
                forecast_energy_kwh_high=fc.energy_high_j / J_PER_KWH,
                forecast_co2_g=fc.co2_g,
                forecast_seconds=fc.seconds,
            )
        if self.budget is not None:
            out["budget_used_fraction"] = self.budget.fraction()
        return out

    def summary(self) -> dict:
        e = self.energy_j()
        out: dict = {
            "name": self.name,
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": self.seconds(),
            "energy_kwh": e / J_PER_KWH,
            "co2_g": self.co2_g(e),
            "intensity_g_per_kwh": self.intensity.g_per_kwh,
            "intensity_source": self.intensity.source,
            "stopped": self.should_stop,
            "stop_reason": self.stop_reason,
            "epoch_energy_kwh": [x / J_PER_KWH for x in self.epoch_energy_j],
        }
        if self.forecast is not None:
            out["forecast"] = self.forecast.to_dict()
        if self.budget is not None:
            out["budget"] = {
                "limit_kwh": self.budget.limit_j / J_PER_KWH,
                "used_fraction": self.budget.fraction(),
                "events": [ev.__dict__ for ev in self.budget.events],
            }
        if self.early_stopping is not None:
            out["early_stopping"] = self.early_stopping.report()
        return out
