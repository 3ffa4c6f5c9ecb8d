"""wattwise: measure, predict and reduce the energy and carbon footprint of ML work."""

from __future__ import annotations

from wattwise.footprint import Footprint, Method
from wattwise.integrations.distributed import track_distributed
from wattwise.meter import Run, track

__version__ = "0.1.0"
__all__ = ["Footprint", "Method", "Run", "__version__", "track", "track_distributed"]
