"""Energy / carbon budgets for a training run: warn at a fraction, at the limit save and stop (or only warn).

The budget reads energy through a callable (``energy_j() -> joules so far``), e.g. ``run.energy_j`` of a
``wattwise.track`` run, so it works with any meter and is testable with a fake.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from wattwise.errors import WattwiseError
from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE_G_PER_KWH

log = logging.getLogger("wattwise.train")

ACTIONS = ("stop", "warn")


class BudgetWarning(UserWarning):
    """Emitted when a run crosses the warning fraction or the limit of its budget."""


@dataclass
class BudgetEvent:
    kind: str  # "warn" | "limit"
    step: int | None
    used_j: float
    fraction: float
    message: str


@dataclass
class EnergyBudget:
    """A limit on a run's energy (``limit_kwh``) and/or its carbon (``limit_g`` grams CO2e).

    Carbon is converted from IT energy x ``pue`` x ``intensity_g_per_kwh`` (world average unless given).
    At ``warn_at`` (0.8) of the tightest limit it warns once; at 100 % it calls ``on_limit`` (e.g. save a
    checkpoint) and, with ``action="stop"``, asks the loop to stop; with ``action="warn"`` it only warns.
    ``check()`` / calling the object returns True when the loop should stop.
    """

    energy_j: Callable[[], float]
    limit_kwh: float | None = None
    limit_g: float | None = None
    intensity_g_per_kwh: float = WORLD_AVERAGE_G_PER_KWH
    pue: float = 1.0
    #: gCO2e per IT kWh, asked each time (a monitor passes its run footprint's intensity x PUE); wins when set
    carbon_factor: Callable[[], float] | None = None
    warn_at: float = 0.8
    action: str = "stop"
    on_warn: Callable[[BudgetEvent], None] | None = None
    on_limit: Callable[[BudgetEvent], None] | None = None
    name: str = "energy budget"
    events: list[BudgetEvent] = field(default_factory=list)
    _baseline: float = 0.0
    _warned: bool = False
    _hit: bool = False

    def g_per_it_kwh(self) -> float:
        """gCO2e per kWh of IT energy: the factor given, else intensity x PUE."""
        return self.carbon_factor() if self.carbon_factor is not None else self.intensity_g_per_kwh * self.pue

    def __post_init__(self) -> None:
        if self.limit_kwh is None and self.limit_g is None:
            raise WattwiseError(
                "a budget needs limit_kwh or limit_g", "e.g. EnergyBudget(meter, limit_kwh=0.5)"
            )
        for label, v in (("limit_kwh", self.limit_kwh), ("limit_g", self.limit_g)):
            if v is not None and not v > 0:
                raise WattwiseError(f"{label} must be positive, got {v}")
        if self.action not in ACTIONS:
            from wattwise.errors import unknown

            raise unknown("budget action", self.action, list(ACTIONS))
        if not 0 < self.warn_at <= 1:
            raise WattwiseError(f"warn_at must be in (0, 1], got {self.warn_at}")

    @property
    def limit_j(self) -> float:
        """The tightest limit expressed in IT joules."""
        limits = []
        if self.limit_kwh is not None:
            limits.append(self.limit_kwh * J_PER_KWH)
        if self.limit_g is not None:
            g_per_j = self.g_per_it_kwh() / J_PER_KWH
            limits.append(self.limit_g / g_per_j if g_per_j > 0 else float("inf"))
        return min(limits)

    def start(self) -> None:
        """Count from now (energy already used before is not charged to the budget)."""
        self._baseline = self.energy_j()

    def used_j(self) -> float:
        return self.energy_j() - self._baseline

    def fraction(self) -> float:
        return self.used_j() / self.limit_j

    @property
    def exceeded(self) -> bool:
        return self._hit

    def check(self, step: int | None = None) -> bool:
        """Look at the energy now; warn / act as configured. True means: stop the loop."""
        used = self.used_j()
        frac = used / self.limit_j
        if frac >= 1.0 and not self._hit:
            self._hit = True
            self._warned = True
            msg = (
                f"{self.name} reached: {used / J_PER_KWH:.3g} kWh used of {self.limit_j / J_PER_KWH:.3g} kWh"
                f"{' — stopping' if self.action == 'stop' else ' (warn only, continuing)'}"
            )
            self._emit(BudgetEvent("limit", step, used, frac, msg), self.on_limit)
        elif frac >= self.warn_at and not self._warned:
            self._warned = True
            msg = (
                f"{self.name}: {frac:.0%} used ({used / J_PER_KWH:.3g} of {self.limit_j / J_PER_KWH:.3g} kWh)"
            )
            self._emit(BudgetEvent("warn", step, used, frac, msg), self.on_warn)
        return self._hit and self.action == "stop"

    def _emit(self, ev: BudgetEvent, hook: Callable[[BudgetEvent], None] | None) -> None:
        """Record ``ev``, warn (Python warning and log) and call the user's hook, if any."""
        self.events.append(ev)
        warnings.warn(ev.message, BudgetWarning, stacklevel=3)
        log.warning(ev.message)
        if hook is not None:
            hook(ev)

    def __call__(self, step: int, loss: float | None = None, tokens: int | None = None) -> bool:
        """Step hook for :func:`wattwise.train.tinygpt.train_tinygpt` (``on_step=budget``)."""
        return self.check(step)
