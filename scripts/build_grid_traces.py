"""Rebuild the compact hourly traces shipped in ``src/wattwise/data/grid/traces/`` from the verified
Electricity Maps files in ``/work/shared/data/grid`` (see SOURCES.md there and next to the output).

Each output is a gzip CSV ``utc,direct,lca,estimated`` (UTC hour start, gCO2eq/kWh direct and lifecycle,
1 when Electricity Maps marked the hour as estimated). ``traces.json`` indexes them with their provenance.

Usage: ``python scripts/build_grid_traces.py [SHARED_DIR]``
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/grid")
OUT = Path(__file__).resolve().parents[1] / "src" / "wattwise" / "data" / "grid" / "traces"

# file stem -> (release, repository, path, commit) as recorded in the shared SOURCES.md
FILES = {
    "em_DE-LU_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/DE-LU/2023/DE-LU_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_GB_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/GB/2023/GB_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_US-CAL-CISO_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/US-CAL-CISO/2023/US-CAL-CISO_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_US-TEX-ERCO_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/US-TEX-ERCO/2023/US-TEX-ERCO_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_AU-NSW_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/AU-NSW/2023/AU-NSW_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_ZA_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/ZA/2023/ZA_2023_hourly.csv",
        "c2eedd050f35ce5b33f67545eadff6e3fc9412e6",
    ),
    "em_CL-SEN_2023_hourly.csv": (
        "A",
        "HewlettPackard/sustain-cluster",
        "data/carbon_intensity/CL-SIC/2023/CL-SIC_2023_hourly.csv",
        "ff60e461ed45d45a525e1182025f16998d791b4e",
    ),
    "em_FR_2023_hourly.csv": (
        "B",
        "satrai-lab/cozybench",
        "models/carbon_intensity/FR_2023_hourly.csv",
        "33371464e32a16673633ea93f39fe014ec3574b7",
    ),
    "em_NO_2023_hourly.csv": (
        "B",
        "umassos/decarbonization-potential",
        "downloaded_carbon_data/NO_2023_hourly.csv",
        "577b4a58300ff1a11571158c0c56bd55dc72adf3",
    ),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, (release, repo, path, commit) in FILES.items():
        raw = (SHARED / name).read_bytes()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        header, body = rows[0], rows[1:]
        assert header[0] == "Datetime (UTC)" and "direct" in header[4] and "LCA" in header[5], header
        zone = body[0][3]
        buf = io.StringIO()
        buf.write("utc,direct,lca,estimated\n")
        for r in body:
            assert r[3] == zone
            est = "1" if r[9].strip().lower() == "true" else "0"
            buf.write(f"{r[0][:13].replace(' ', 'T')},{r[4]},{r[5]},{est}\n")
        year = int(body[0][0][:4])
        fname = f"{zone}_{year}.csv.gz"
        # mtime=0 keeps the gzip bytes reproducible
        (OUT / fname).write_bytes(gzip.compress(buf.getvalue().encode(), compresslevel=9, mtime=0))
        index[zone] = {
            "file": fname,
            "year": year,
            "zone_name": body[0][2],
            "country": body[0][1],
            "hours": len(body),
            "estimated_hours": sum(1 for r in body if r[9].strip().lower() == "true"),
            "source": f"Electricity Maps hourly {year} (release {release})",
            "copied_from": f"{repo} {path} @ {commit[:12]}",
            "upstream_md5": hashlib.md5(raw).hexdigest(),
            "license": "ODbL 1.0 - Carbon-intensity data © Electricity Maps (https://www.electricitymaps.com)",
        }
    (OUT / "traces.json").write_text(json.dumps(index, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(index)} traces to {OUT}")


if __name__ == "__main__":
    main()
