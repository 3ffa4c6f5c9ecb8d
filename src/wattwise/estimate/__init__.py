"""Footprint planner: energy and CO2 of training and serving, estimated before (or without) running.

``estimate(...)`` returns the same :class:`~wattwise.footprint.Footprint` that measured runs produce.
"""

from __future__ import annotations

import sys as _sys
import types as _types

from wattwise.estimate.training import TrainingEstimate, estimate_training
from wattwise.footprint import Footprint


def estimate(**kwargs) -> Footprint:
    """Footprint of a training run: ``params``+``tokens`` (planning) or ``device_hours`` (accounting).

    Example: ``estimate(params="7B", tokens="2T", hardware="a100-80gb", devices=1024, intensity=400)``.
    Keyword arguments as :func:`estimate_training`.
    """
    return estimate_training(**kwargs).footprint


__all__ = ["TrainingEstimate", "estimate", "estimate_training"]


class _CallableModule(_types.ModuleType):
    """Importing this subpackage rebinds ``wattwise.estimate`` to the module; keep it callable."""

    def __call__(self, **kwargs) -> Footprint:
        return estimate(**kwargs)


_sys.modules[__name__].__class__ = _CallableModule
