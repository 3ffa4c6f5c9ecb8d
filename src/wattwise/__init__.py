"""wattwise: measure, predict and reduce the energy and carbon footprint of ML work."""

from __future__ import annotations

from wattwise.footprint import Footprint, Method
from wattwise.integrations.distributed import track_distributed
from wattwise.meter import Run
from wattwise.tracking import track

__version__ = "0.1.0"
__all__ = ["Footprint", "Method", "Run", "__version__", "estimate", "track", "track_distributed"]


def estimate(**kwargs):
    """Planning/accounting footprint of a training run; see :func:`wattwise.estimate.estimate`."""
    from wattwise.estimate import estimate as _estimate

    return _estimate(**kwargs)
