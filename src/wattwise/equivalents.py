"""Everyday equivalents (car km, flights, homes) and offset cost of kgCO2e, with sources.

Data: ``wattwise/data/equivalents.json``. Shared by the estimate command and reports.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads((resources.files("wattwise") / "data" / "equivalents.json").read_text(encoding="utf-8"))


def equivalents(kg: float) -> list[dict]:
    """``kg`` CO2e expressed as each equivalent: ``[{name, value, label, source}]``."""
    return [
        {"name": k, "value": kg / v["kg_per_unit"], "label": v["label"], "source": v["source"]}
        for k, v in _data()["equivalents"].items()
    ]


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
