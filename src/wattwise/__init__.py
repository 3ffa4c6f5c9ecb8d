"""wattwise: measure, predict and reduce the energy and carbon footprint of ML work."""

from __future__ import annotations

__version__ = "0.1.0"


def estimate(**kwargs):
    """Planning/accounting footprint of a training run; see :func:`wattwise.estimate.estimate`."""
    from wattwise.estimate import estimate as _estimate

    return _estimate(**kwargs)
