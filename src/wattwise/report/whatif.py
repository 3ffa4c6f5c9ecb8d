"""What-if rows: the same run in the cleanest listed region, in the best time window, with a compressed model.

Region and window figures come from ``wattwise.grid`` and ``wattwise.schedule``; a region may also be given
with its intensity, ``FR=56`` (gCO2e/kWh), which needs no grid data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from wattwise import grid, schedule
from wattwise.errors import WattwiseError
from wattwise.footprint import carbon_kg
from wattwise.report.data import RunView


@dataclass(frozen=True)
class WhatIf:
    label: str
    co2e_kg: float | None  # None: not available
    detail: str

    def change(self, base_kg: float) -> float | None:
        if self.co2e_kg is None or base_kg <= 0:
            return None
        return self.co2e_kg / base_kg - 1.0


def _region_intensity(spec: str, when: float | None) -> tuple[str, float, str]:
    """(name, gCO2e/kWh, source) of ``NAME`` or ``NAME=G``."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if sep:
        try:
            g = float(value)
        except ValueError as exc:
            raise WattwiseError(f"bad --compare-region {spec!r}", "use NAME or NAME=gCO2e_per_kWh") from exc
        from wattwise.validate import intensity as valid_intensity

        checked = valid_intensity(g, f"--compare-region {name}")
        assert checked is not None
        return name, checked, "user-supplied"
    i = grid.intensity(name, when)
    return name, float(i.g_per_kwh), str(i.source)


def cleanest_region(view: RunView, regions: list[str]) -> WhatIf:
    label = "in the cleanest listed region"
    fp = view.fp
    when = view.samples[0].t_start if view.samples else None
    if not regions:
        ranked = grid.traces.available_zones()
        if not ranked:
            return WhatIf(label, None, "not available: give regions with --compare-region (NAME or NAME=g/kWh)")
        regions = ranked
    found: list[tuple[str, float, str]] = []
    for spec in regions:
        try:
            found.append(_region_intensity(spec, when))
        except WattwiseError as exc:
            if "=" in spec:
                raise
            raise WattwiseError(f"--compare-region {spec!r}: {exc.message}", exc.hint) from exc
    name, g, source = min(found, key=lambda t: t[1])
    kg = carbon_kg(fp.it_kwh, g, fp.pue) + fp.embodied_kg
    return WhatIf(f"{label}: {name}", kg, f"{g:.0f} gCO2e/kWh ({source}); same energy, "
                                         f"{len(found)} region(s) compared")


def best_window(view: RunView, within_h: float = 24.0) -> WhatIf:
    """The run started at the lowest-carbon time within ``within_h`` hours of its actual start.

    Uses ``wattwise.schedule.best_window(location, duration, earliest, deadline, now=...)`` (a Window with
    ``start``, ``mean_g_per_kwh`` and ``now_g_per_kwh``); the run's operational CO2e is scaled by the ratio of
    the window's mean intensity to the intensity at the run's start, both from the same forecast.
    """
    label = "in the best time window"
    loc = view.rec.location
    if not loc:
        return WhatIf(label, None, "not available: the run has no location")
    dur = max(view.rec.duration_s, 1.0)
    t0 = view.rec.started_at
    try:
        w = schedule.best_window(loc, timedelta(seconds=dur), t0, t0 + within_h * 3600.0 + dur, now=t0)
        mean = float(w.mean_g_per_kwh)
        base = float(w.now_g_per_kwh)
    except WattwiseError as exc:
        return WhatIf(label, None, f"not available: {exc.message}")
    except Exception as exc:  # another module's failure must not break the report
        return WhatIf(label, None, f"not available: {type(exc).__name__}: {exc}")
    fp = view.fp
    when = w.start.strftime("%Y-%m-%d %H:%M UTC")
    how = w.forecast.label
    if base > 0:
        kg = fp.operational_kg * mean / base + fp.embodied_kg
        detail = (f"start {when} (within {within_h:g} h): {mean:.0f} vs {base:.0f} gCO2e/kWh at the actual "
                  f"start ({how})")
    else:
        kg = carbon_kg(fp.it_kwh, mean, fp.pue) + fp.embodied_kg
        detail = f"start {when} (within {within_h:g} h): {mean:.0f} gCO2e/kWh ({how})"
    return WhatIf(label, kg, detail)


def compressed(view: RunView, other: RunView | None) -> WhatIf:
    """The same work with a compressed model, from a run of that model (energy per common counted unit)."""
    label = "with a compressed model"
    if other is None:
        return WhatIf(label, None, "not available: give a run of the compressed model with --compressed-run")
    common = [c for c in ("tokens", "samples", "inferences", "requests", "steps")
              if view.fp.counters.get(c) and other.fp.counters.get(c)]
    a, b = view.fp, other.fp
    if common:
        c = common[0]
        ratio = (b.facility_kwh / b.counters[c]) / (a.facility_kwh / a.counters[c]) if a.facility_kwh else 1.0
        basis = f"energy per {c[:-1]}"
    else:
        ratio = b.facility_kwh / a.facility_kwh if a.facility_kwh else 1.0
        basis = "energy per run (no common counter)"
    kg = a.operational_kg * ratio + a.embodied_kg
    return WhatIf(f"{label}: {other.rec.name}", kg, f"{basis} x{ratio:.2f} (run {other.rec.id})")


def whatif_rows(view: RunView, regions: list[str] | None = None, compressed_view: RunView | None = None,
                within_h: float = 24.0) -> list[WhatIf]:
    return [cleanest_region(view, list(regions or [])), best_window(view, within_h),
            compressed(view, compressed_view)]
