"""Grid coverage and the 'when matters' figure.

Writes ``bench/results/grid.json``:

* how many countries (ISO alpha-2 and alpha-3), grid zones and cloud regions resolve offline, and on what
  basis (zone figure or country fall-back);
* for each zone with an embedded hourly trace: the ratio between the hour-by-hour emissions of an 8-hour job
  with constant power and the emissions at the trace's annual mean, for a job started at each hour of the
  year (non-wrapping: 8,753 starts in a 8,760-hour year). Ratio < 1 means the job emits less than the annual
  average would say. Reported: min, 5th percentile, median, 95th percentile, max, and the best/worst start
  hour of day (UTC) averaged over the year.

Run: ``PYTHONPATH=src python bench/grid_coverage.py`` (deterministic, no timing, a few seconds).
"""

from __future__ import annotations

import json
import statistics
from itertools import accumulate
from pathlib import Path

from wattwise import grid
from wattwise.grid import tables, traces

JOB_HOURS = 8
OUT = Path(__file__).parent / "results" / "grid.json"


def coverage() -> dict:
    countries = tables.countries()
    ok2 = sum(1 for a2 in countries if grid.resolve_location(a2).kind == "country")
    with_figure = sum(1 for c in countries.values() if c.lca is not None)
    ok3 = sum(1 for c in countries.values() if grid.resolve_location(c.alpha3).code == c.alpha2)
    zones = tables.zones()
    okz = sum(1 for z in zones if grid.resolve_location(z).zone == z)
    by_provider: dict[str, dict[str, int]] = {}
    for key, row in tables.cloud_regions().items():
        loc = grid.resolve_location(key)
        i = grid.annual_intensity(loc)
        basis = "zone" if loc.zone in zones else "country"
        d = by_provider.setdefault(
            row.provider,
            {"regions": 0, "resolved": 0, "zone_figure": 0, "country_figure": 0, "hourly_trace": 0},
        )
        d["regions"] += 1
        d["resolved"] += int(i.g_per_kwh > 0)
        d[f"{basis}_figure"] += 1
        d["hourly_trace"] += int(loc.zone in traces.available_zones())
    subgrids = {p: sorted(z for z in zones if z.startswith(p + "-")) for p in ("US", "AU", "IN", "JP")}
    return {
        "countries": {
            "iso_3166_1": len(countries),
            "resolve_alpha2": ok2,
            "resolve_alpha3": ok3,
            "with_own_figure": with_figure,
            "world_average_fallback": len(countries) - with_figure,
        },
        "zones": {
            "in_table": len(zones),
            "resolve": okz,
            "with_hourly_trace": len(traces.available_zones()),
            "sub_national": {p: len(v) for p, v in subgrids.items()},
        },
        "cloud_regions": by_provider,
        "cloud_regions_total": sum(d["regions"] for d in by_provider.values()),
    }


def spread(zone: str) -> dict:
    tr = traces.load_trace(zone)
    v = list(tr.lca)
    mean = sum(v) / len(v)
    cum = [0.0, *accumulate(v)]
    ratios = [(cum[s + JOB_HOURS] - cum[s]) / JOB_HOURS / mean for s in range(len(v) - JOB_HOURS + 1)]
    by_hour: dict[int, list[float]] = {}
    for s, r in enumerate(ratios):
        by_hour.setdefault(s % 24, []).append(r)  # trace starts at 00:00 UTC
    hour_mean = {h: statistics.fmean(rs) for h, rs in by_hour.items()}
    q = statistics.quantiles(ratios, n=20)
    best = min(hour_mean, key=hour_mean.get)
    worst = max(hour_mean, key=hour_mean.get)
    return {
        "source": tr.source,
        "year": tr.year,
        "annual_mean_lca_g_per_kwh": round(mean, 2),
        "jobs": len(ratios),
        "ratio_min": round(min(ratios), 3),
        "ratio_p5": round(q[0], 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_p95": round(q[-1], 3),
        "ratio_max": round(max(ratios), 3),
        "max_over_min": round(max(ratios) / min(ratios), 2),
        "best_start_hour_utc": best,
        "best_start_hour_mean_ratio": round(hour_mean[best], 3),
        "worst_start_hour_utc": worst,
        "worst_start_hour_mean_ratio": round(hour_mean[worst], 3),
    }


def main() -> dict:
    result = {
        "job_hours": JOB_HOURS,
        "ratio_definition": "hour-by-hour kg / (kWh x annual mean of the same trace); constant power; LCA",
        "coverage": coverage(),
        "spread_8h": {z: spread(z) for z in traces.available_zones()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    r = main()
    print(json.dumps(r["coverage"], indent=1))
    print(f"{'zone':12} {'mean':>7} {'min':>6} {'p5':>6} {'median':>6} {'p95':>6} {'max':>6}  best/worst UTC")
    for z, s in r["spread_8h"].items():
        print(
            f"{z:12} {s['annual_mean_lca_g_per_kwh']:7.1f} {s['ratio_min']:6.3f} {s['ratio_p5']:6.3f} "
            f"{s['ratio_median']:6.3f} {s['ratio_p95']:6.3f} {s['ratio_max']:6.3f}  "
            f"{s['best_start_hour_utc']:02d}h ({s['best_start_hour_mean_ratio']:.3f}) / "
            f"{s['worst_start_hour_utc']:02d}h ({s['worst_start_hour_mean_ratio']:.3f})"
        )
