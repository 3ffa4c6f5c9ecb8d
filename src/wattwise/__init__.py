"""wattwise: measure, predict and reduce the energy and carbon footprint of ML work."""

from __future__ import annotations

import os as _os

# Offline by default: onnxruntime's native telemetry (1DS, on Linux too) resolves mobile.events.data.microsoft.com
# a few seconds after a session starts, and ``onnxruntime.disable_telemetry_events()`` does not stop it; this
# variable does (it must be set before onnxruntime creates its environment). Same for the Hugging Face hub.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

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
