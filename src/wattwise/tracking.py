"""``wattwise.track``: a run of this process (:mod:`wattwise.meter`), or one run that every rank of a
distributed job joins (:mod:`wattwise.integrations.distributed`)."""

from __future__ import annotations

from typing import Any

from wattwise.integrations.distributed import track_distributed
from wattwise.meter import Run


def track(name: str = "run", distributed: bool = False, **kwargs: Any) -> Run:
    """Track energy: ``with wattwise.track("train") as run:`` or ``@wattwise.track()``.

    ``distributed=True``: every rank of a ``torchrun`` job joins one run (see :mod:`wattwise.integrations.distributed`).
    """
    if distributed:
        return track_distributed(name, **kwargs)
    return Run(name, **kwargs)
