"""wattwise: measure, predict and reduce the energy and carbon footprint of ML work."""

from __future__ import annotations

__version__ = "0.1.0"
