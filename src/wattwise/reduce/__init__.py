"""Compression lab: prune, quantize, distil and fuse a model, then measure quality and energy of each variant.

Entry points: :func:`wattwise.reduce.lab.run_lab` (Python) and ``wattwise reduce`` (CLI). Every variant is
evaluated on the same data (STS-B dev for sentence encoders, held-out text for causal LMs) and its energy per
1,000 inputs is measured through :func:`wattwise.reduce.energy.measure_energy`.
"""

from __future__ import annotations

__all__ = ["LabResult", "run_lab"]


def __getattr__(name: str):  # lazy: importing wattwise.reduce must not import torch
    if name in __all__:
        from wattwise.reduce import lab

        return getattr(lab, name)
    raise AttributeError(name)
