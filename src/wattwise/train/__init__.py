"""Efficient training: a tiny GPT workload, callbacks, energy/carbon budgets, early stopping, forecasts.

- :mod:`wattwise.train.tinygpt` — our own character-level GPT on Tiny Shakespeare (torch only).
- :class:`TrainingMonitor` — the plain-loop API (meter + budget + early stopping + forecast).
- :mod:`wattwise.train.callbacks` — Hugging Face ``TrainerCallback`` and a Lightning callback.
- :class:`EnergyBudget`, :class:`EnergyAwareEarlyStopping`, :class:`RunForecaster` — the policies, each
  reading energy through a callable so they work with any meter.
"""

from __future__ import annotations

from wattwise.train.budget import BudgetWarning, EnergyBudget
from wattwise.train.early_stopping import EnergyAwareEarlyStopping
from wattwise.train.forecast import Forecast, RunForecaster
from wattwise.train.monitor import TrainingMonitor

__all__ = [
    "BudgetWarning",
    "EnergyAwareEarlyStopping",
    "EnergyBudget",
    "Forecast",
    "RunForecaster",
    "TrainingMonitor",
]
