"""Where the carbon intensity and PUE of an estimate come from.

One function, :func:`grid_lookup`, asks ``wattwise.grid`` for a location's
intensity and default PUE; everything else goes through :func:`resolve`. Tests and the merge swap
:func:`grid_lookup` only.
"""

from __future__ import annotations

from wattwise.context import resolve_context
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


def _given(origin: str) -> str:
    return "given by the user" if origin == "argument" else f"given by the user ({origin})"


def resolve(
    location: str | None = None, intensity: float | Intensity | None = None, pue: float | None = None
) -> tuple[Intensity, float, str]:
    """(Intensity, PUE, PUE source) from :func:`wattwise.context.resolve_context` (argument > environment >
    config file), then the grid lookup, then the planner's documented defaults."""
    given = intensity if isinstance(intensity, Intensity) else None
    ctx = resolve_context(location, None if isinstance(intensity, Intensity) else intensity, pue, check_location=False)
    grid_pue: tuple[float, str] | None = None
    if given is not None:
        inten = given
    elif ctx.intensity is not None:
        inten = Intensity(ctx.intensity, _given(ctx.intensity_from), "user", location=ctx.location)
    elif ctx.location:
        inten, grid_pue = grid_lookup(ctx.location)
    else:
        inten = WORLD_AVERAGE
    if ctx.pue is not None:
        return inten, ctx.pue, _given(ctx.pue_from)
    if grid_pue is not None:
        return inten, float(grid_pue[0]), str(grid_pue[1])
    value, source = assumptions.default_pue()
    return inten, value, source
