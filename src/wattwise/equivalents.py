"""Everyday equivalents (car km, flights, homes, kettles) and offset cost, each constant with its source.

Data: ``wattwise/data/equivalents.json``. Shared by the estimate command and the HTML report.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads((resources.files("wattwise") / "data" / "equivalents.json").read_text(encoding="utf-8"))


def equivalents(kg: float) -> list[dict]:
    """``kg`` CO2e expressed as each equivalent: ``[{name, value, label, source, basis}]``."""
    return [
        {"name": k, "value": kg / v["kg_per_unit"], "label": v["label"], "source": v["source"], "basis": "co2e"}
        for k, v in _data()["equivalents"].items()
    ]


def energy_equivalents(energy_j: float) -> list[dict]:
    """``energy_j`` joules expressed as everyday uses of energy: ``[{name, value, label, source, basis}]``."""
    return [
        {"name": k, "value": energy_j / v["j_per_unit"], "label": v["label"], "source": v["source"],
         "basis": "energy"}
        for k, v in _data()["energy_equivalents"].items()
    ]


def text(item: dict) -> str:
    """``"1.6 km driven by ..."`` with as many digits as the size deserves."""
    v = float(item["value"])
    num = f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 1 else f"{v:.2g}"
    return f"{num} {item['label']}"


def offset_costs(kg: float) -> list[dict]:
    """Cost in USD of offsetting ``kg`` CO2e at a range of prices per tonne."""
    return [
        {
            "name": p["name"],
            "usd_per_t": p["usd_per_t"],
            "usd": kg / 1000 * p["usd_per_t"],
            "source": p["source"],
        }
        for p in _data()["offset_prices_usd_per_t"]
    ]
