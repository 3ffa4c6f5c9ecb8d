"""Where the carbon intensity and PUE of an estimate come from.

One function, :func:`grid_lookup`, asks ``wattwise.grid`` for a location's
intensity and default PUE; everything else goes through :func:`resolve`. Tests and the merge swap
:func:`grid_lookup` only.
"""

from __future__ import annotations

import math

from wattwise.errors import WattwiseError
from wattwise.estimate import assumptions
from wattwise.footprint import WORLD_AVERAGE, Intensity


def grid_lookup(location: str) -> tuple[Intensity, tuple[float, str] | None]:
    """Intensity and (PUE, source) of ``location`` from ``wattwise.grid`` (None: no known data centre)."""
    from wattwise import grid
    from wattwise.grid.pue import NO_PUE, default_pue

    intensity = grid.intensity(location)
    pue = default_pue(location)
    # a non-cloud location has no known data centre: keep the planner's documented default PUE
    return intensity, (None if pue == NO_PUE else pue)


def resolve(
    location: str | None = None, intensity: float | Intensity | None = None, pue: float | None = None
) -> tuple[Intensity, float, str]:
    """(Intensity, PUE, PUE source) from explicit values, else the grid lookup, else documented defaults."""
    if pue is not None and (not math.isfinite(pue) or pue < 1.0):
        raise WattwiseError(f"PUE must be a number >= 1.0, got {pue}", "e.g. --pue 1.1")
    grid_pue: tuple[float, str] | None = None
    if isinstance(intensity, Intensity):
        inten = intensity
    elif intensity is not None:
        if not math.isfinite(intensity) or intensity < 0:
            raise WattwiseError(f"carbon intensity must be >= 0 gCO2e/kWh, got {intensity}")
        inten = Intensity(float(intensity), "given by the user", "user", location=location)
    elif location:
        inten, grid_pue = grid_lookup(location)
    else:
        inten = WORLD_AVERAGE
    if pue is not None:
        return inten, float(pue), "given by the user"
    if grid_pue is not None:
        return inten, float(grid_pue[0]), str(grid_pue[1])
    value, source = assumptions.default_pue()
    return inten, value, source
