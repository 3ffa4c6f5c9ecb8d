"""Embedded annual tables: countries (Ember via OWID/CodeCarbon), grid zones (Electricity Maps means) and
cloud regions (AWS, Google Cloud, Azure -> zone, PUE). Provenance: ``wattwise/data/grid/SOURCES.md``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

COUNTRY_SOURCE = (
    "Ember yearly electricity data via Our World in Data (CC BY 4.0) and CodeCarbon "
    "global_energy_mix.json (MIT); lifecycle gCO2e/kWh of generation, {year}"
)
ZONE_SOURCES = {
    "em-mean-2022": (
        "Electricity Maps hourly LCA mean for 2022 (ODbL), computed by Sukprasert et al. "
        "EuroSys 2024 (umassos/decarbonization-potential)"
    ),
    "em-trace-2023": "Electricity Maps hourly 2023 (ODbL), mean of the embedded hourly trace",
}
PROVIDERS = {
    "aws": "aws",
    "amazon": "aws",
    "gcp": "gcp",
    "google": "gcp",
    "gce": "gcp",
    "azure": "azure",
    "microsoft": "azure",
}


@dataclass(frozen=True)
class CountryRow:
    alpha2: str
    alpha3: str
    name: str
    lca: float | None  # None: ISO country without a published figure in the source
    year: int | None

    @property
    def source(self) -> str:
        return COUNTRY_SOURCE.format(year=self.year)


@dataclass(frozen=True)
class ZoneRow:
    zone: str
    country: str
    name: str
    lca: float
    direct: float | None
    year: int
    source_key: str

    @property
    def source(self) -> str:
        return ZONE_SOURCES.get(self.source_key, self.source_key)


@dataclass(frozen=True)
class CloudRegionRow:
    provider: str
    region: str
    name: str
    location: str
    country: str
    zone: str
    watttime_region: str
    pue: float | None
    pue_year: int | None
    mapping_source: str
    google_grid_g_per_kwh: float | None
    google_cfe: float | None

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.region}"


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("wattwise") / "data" / "grid" / name
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _f(v: str) -> float | None:
    return float(v) if v not in ("", None) else None


@lru_cache(maxsize=1)
def countries() -> dict[str, CountryRow]:
    """Countries keyed by ISO alpha-2 (upper case)."""
    out = {}
    for r in _rows("countries.csv"):
        out[r["alpha2"]] = CountryRow(
            r["alpha2"], r["alpha3"], r["name"], _f(r["lca_g_per_kwh"]), int(r["year"]) if r["year"] else None
        )
    return out


@lru_cache(maxsize=1)
def alpha3_index() -> dict[str, str]:
    return {c.alpha3: c.alpha2 for c in countries().values()}


@lru_cache(maxsize=1)
def zones() -> dict[str, ZoneRow]:
    """Grid zones keyed by Electricity Maps zone id."""
    return {
        r["zone"]: ZoneRow(
            r["zone"],
            r["country"],
            r["name"],
            float(r["lca_g_per_kwh"]),
            _f(r["direct_g_per_kwh"]),
            int(r["year"]),
            r["source"],
        )
        for r in _rows("zones.csv")
    }


@lru_cache(maxsize=1)
def cloud_regions() -> dict[str, CloudRegionRow]:
    """Cloud regions keyed by ``provider:region`` (provider is aws, gcp or azure)."""
    out = {}
    for r in _rows("cloud_regions.csv"):
        row = CloudRegionRow(
            r["provider"],
            r["region"],
            r["name"],
            r["location"],
            r["country"],
            r["zone"],
            r["watttime_region"],
            _f(r["pue"]),
            int(r["pue_year"]) if r["pue_year"] else None,
            r["mapping_source"],
            _f(r["google_grid_g_per_kwh_2024"]),
            _f(r["google_cfe_2024"]),
        )
        out[row.key] = row
    return out
