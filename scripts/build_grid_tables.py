"""Rebuild the annual tables in ``src/wattwise/data/grid/`` (countries, zones, cloud regions).

Inputs: the verified files in ``/work/shared/data/grid`` (see SOURCES.md there), the shipped traces
(for the 2023 means of trace zones), ``scripts/grid_src/cloud_regions_input.csv`` (region -> location, zone,
PUE; compiled from the sources named in its ``mapping_source`` column) and pycountry
(ISO 3166-1 alpha-2 <-> alpha-3 only).

Usage: ``PYTHONPATH=src python scripts/build_grid_tables.py [SHARED_DIR]``
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/grid")
OUT = ROOT / "src" / "wattwise" / "data" / "grid"

SUBZONE_NAMES = {
    "AU-NSW": "New South Wales",
    "AU-QLD": "Queensland",
    "AU-SA": "South Australia",
    "AU-TAS": "Tasmania",
    "AU-VIC": "Victoria",
    "AU-WA": "Western Australia",
    "BR-CS": "Central Brazil",
    "BR-N": "North Brazil",
    "CA-ON": "Ontario",
    "CA-QC": "Quebec",
    "CL-SEN": "Chile (Sistema Eléctrico Nacional)",
    "DK-BHM": "Bornholm",
    "DK-DK1": "West Denmark",
    "DK-DK2": "East Denmark",
    "GB-NIR": "Northern Ireland",
    "IN-MH": "Maharashtra",
    "IN-UP": "Uttar Pradesh",
    "IN-WE": "India Western grid",
    "IT-CNO": "Central North Italy",
    "IT-CSO": "Central South Italy",
    "IT-NO": "North Italy",
    "IT-SAR": "Sardinia",
    "IT-SIC": "Sicily",
    "IT-SO": "South Italy",
    "JP-KN": "Kansai",
    "JP-TK": "Tokyo",
    "NO-NO1": "Norway NO1 (south-east)",
    "NO-NO2": "Norway NO2 (south-west)",
    "NO-NO3": "Norway NO3 (central)",
    "NO-NO4": "Norway NO4 (north)",
    "NO-NO5": "Norway NO5 (west)",
    "SE-SE1": "Sweden SE1 (Luleå)",
    "SE-SE2": "Sweden SE2 (Sundsvall)",
    "SE-SE3": "Sweden SE3 (Stockholm)",
    "SE-SE4": "Sweden SE4 (Malmö)",
}
# EIA regions used in Electricity Maps' US zone ids (US-<region>-<balancing authority>)
US_REGIONS = {
    "CAL": "California",
    "CAR": "Carolinas",
    "CENT": "Central",
    "FLA": "Florida",
    "HI": "Hawaii",
    "MIDA": "Mid-Atlantic",
    "MIDW": "Midwest",
    "NE": "New England",
    "NW": "Northwest",
    "NY": "New York",
    "SE": "Southeast",
    "SW": "Southwest",
    "TEN": "Tennessee",
    "TEX": "Texas",
}


def country_name(alpha2: str) -> str:
    c = pycountry.countries.get(alpha_2=alpha2)
    return getattr(c, "common_name", None) or c.name if c else alpha2


def zone_label(zone: str) -> str:
    if zone in SUBZONE_NAMES:
        return SUBZONE_NAMES[zone]
    parts = zone.split("-")
    if parts[0] == "US" and len(parts) == 3:
        return f"US {US_REGIONS.get(parts[1], parts[1])}, balancing authority {parts[2]}"
    return country_name(parts[0]) if len(parts) == 1 else zone


def build_countries() -> int:
    mix = json.loads((SHARED / "codecarbon_global_energy_mix.json").read_text())
    rows = []
    for a3, e in sorted(mix.items()):
        c = pycountry.countries.get(alpha_3=a3)
        if c is None or e.get("carbon_intensity") is None:
            continue
        rows.append([c.alpha_2, a3, e["country_name"], f"{float(e['carbon_intensity']):.2f}", e["year"]])
    have = {r[0] for r in rows}
    for c in pycountry.countries:  # ISO countries without a figure: they resolve, with the world average
        if c.alpha_2 not in have:
            rows.append([c.alpha_2, c.alpha_3, getattr(c, "common_name", None) or c.name, "", ""])
    rows.sort(key=lambda r: r[1])
    with open(OUT / "countries.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["alpha2", "alpha3", "name", "lca_g_per_kwh", "year"])
        w.writerows(rows)
    return len(rows)


def build_zones() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from wattwise.grid import traces

    rows = {}
    with open(SHARED / "em_zone_annual_mean_lca_2020_2022.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            z = r["zonecode"]
            rows[z] = [
                z,
                "GB" if z == "GB-NIR" else z.split("-")[0],
                zone_label(z),
                f"{float(r['2022']):.2f}",
                "",
                2022,
                "em-mean-2022",
            ]
    for z in traces.available_zones():
        tr = traces.load_trace(z)
        rows[z] = [
            z,
            z.split("-")[0],
            tr.zone_name or zone_label(z),
            f"{tr.mean('lifecycle'):.2f}",
            f"{tr.mean('direct'):.2f}",
            tr.year,
            f"em-trace-{tr.year}",
        ]
    with open(OUT / "zones.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["zone", "country", "name", "lca_g_per_kwh", "direct_g_per_kwh", "year", "source"])
        w.writerows(rows[z] for z in sorted(rows))
    return len(rows)


def build_cloud() -> int:
    google = {}
    with open(SHARED / "gcp_region_carbon_2024.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            google[r["Google Cloud Region"]] = (r["Grid carbon intensity (gCO2eq / kWh)"], r["Google CFE"])
    with open(ROOT / "scripts" / "grid_src" / "cloud_regions_input.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        g = google.get(r["region"]) if r["provider"] == "gcp" else None
        r["google_grid_g_per_kwh_2024"] = g[0] if g else ""
        r["google_cfe_2024"] = g[1] if g else ""
    gcp_regions = {r["region"] for r in rows if r["provider"] == "gcp"}
    assert gcp_regions == set(google), set(google) ^ gcp_regions
    with open(OUT / "cloud_regions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    print("countries", build_countries(), "zones", build_zones(), "cloud regions", build_cloud())
