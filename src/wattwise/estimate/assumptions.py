"""The planner's defaults (power factors, PUE, embodied constants) with sources; MFU: ``estimate/mfu.py``.

Data: ``wattwise/data/estimate/assumptions.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Span:
    """A central value with a low/high range and where it came from."""

    central: float
    low: float
    high: float
    source: str

    @classmethod
    def fixed(cls, value: float, source: str) -> Span:
        return cls(value, value, value, source)


@lru_cache(maxsize=1)
def data() -> dict:
    path = resources.files("wattwise") / "data" / "estimate" / "assumptions.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _span(d: dict) -> Span:
    return Span(float(d["central"]), float(d["low"]), float(d["high"]), str(d["source"]))


def training_power_factor() -> Span:
    return _span(data()["training_power_factor"])


def serving_utilisation() -> Span:
    return _span(data()["serving"]["flop_utilisation"])


def serving_power_factor() -> Span:
    return _span(data()["serving"]["power_factor"])


def default_pue() -> tuple[float, str]:
    d = data()["pue"]
    return float(d["value"]), str(d["source"])


def embodied() -> dict:
    return dict(data()["embodied"])


def finetune() -> dict:
    return dict(data()["finetune"])
