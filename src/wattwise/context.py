"""The one resolution of a run's context: location, carbon intensity, PUE and attribution scope.

Every entry point (``track()``, ``run``, ``show``, ``report``, ``export``, ``modelcard``, ``reduce``,
``lm-profile``, ``compare-training``, ``train-tinygpt``, the training monitor and callbacks, budgets,
forecasts, the exporter, MLflow, the dashboard, SCI and ``schedule``) calls :func:`resolve_context` and
nothing else to learn where a run is and how its energy becomes CO2e. Precedence, for each field:
explicit argument > environment (``WATTWISE_LOCATION``, ``WATTWISE_INTENSITY``, ``WATTWISE_PUE``,
``WATTWISE_WHOLE_MACHINE``) > config file (``wattwise config set ...``) > documented defaults (no location:
world average; PUE: the location's default, 1.0 outside a cloud region; scope: the process tree).

The intensity itself is not fixed here: a :class:`Context` turns energy into a
:class:`~wattwise.footprint.Footprint` through :func:`wattwise.accounting.footprint_from_samples`, which
integrates hour by hour where an hourly trace covers the run's hours of the year and uses the annual figure
otherwise (or a live provider when one is configured) — the same arithmetic for a stored run and a live one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from wattwise.config import setting
from wattwise.errors import WattwiseError

PROCESS_TREE = "process tree"
WHOLE_MACHINE = "whole machine"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Context:
    """Where a run is and how it is attributed; ``intensity``/``pue`` are user overrides (None: from the grid)."""

    location: str | None = None
    location_from: str = "none"
    intensity: float | None = None
    intensity_from: str = "grid"
    pue: float | None = None
    pue_from: str = "location default"
    whole_machine: bool = False

    @property
    def scope(self) -> str:
        """What the energy covers: ``process tree`` (default) or ``whole machine``."""
        return WHOLE_MACHINE if self.whole_machine else PROCESS_TREE

    def as_config(self) -> dict:
        """The fields a stored run keeps, so every later reader resolves the same context."""
        return {"intensity_g_per_kwh": self.intensity, "pue": self.pue, "attribution": self.scope,
                "location_from": self.location_from}


def check_intensity(value: object) -> float:
    """A carbon intensity in gCO2e/kWh: finite, 0 to 3000 (the shared check in :mod:`wattwise.validate`)."""
    from wattwise import validate

    return validate.number(value, "carbon intensity", validate.INTENSITY)


def check_pue(value: object) -> float:
    """A PUE: finite, 1.0 to 5.0 (the shared check in :mod:`wattwise.validate`)."""
    from wattwise import validate

    return validate.number(value, "PUE", validate.PUE)


def _pick(arg: object, key: str) -> tuple[object, str]:
    """(value, where it came from) by precedence argument > environment > config file."""
    if arg is not None:
        return arg, "argument"
    env = os.environ.get(f"WATTWISE_{key.upper()}")
    if env:
        return env, f"WATTWISE_{key.upper()}"
    v = setting(key)
    return (v, "config file") if v is not None else (None, "default")


def _flag(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise WattwiseError(f"{what} must be true or false, got {value!r}", "e.g. WATTWISE_WHOLE_MACHINE=1")


def resolve_context(
    location: str | None = None,
    intensity: float | None = None,
    pue: float | None = None,
    whole_machine: bool | None = None,
    check_location: bool = True,
) -> Context:
    """Resolve location, intensity and PUE overrides and scope once (argument > env > config > default).

    An unknown location, a non-finite or out-of-range intensity or PUE is a :class:`WattwiseError` now,
    before anything is measured or stored.
    """
    loc, loc_from = _pick(location or None, "location")
    if loc is not None and check_location:  # the planner leaves it to its grid lookup (a test seam)
        from wattwise.grid.locations import resolve_location

        resolve_location(str(loc))  # an unknown location fails now, with close matches
    g, g_from = _pick(intensity, "intensity")
    p, p_from = _pick(pue, "pue")
    wm, _ = _pick(whole_machine, "whole_machine")
    return Context(
        location=None if loc is None else str(loc),
        location_from=loc_from if loc is not None else "none",
        intensity=None if g is None else check_intensity(g),
        intensity_from=g_from if g is not None else "grid",
        pue=None if p is None else check_pue(p),
        pue_from=p_from if p is not None else "location default",
        whole_machine=False if wm is None else _flag(wm, "whole_machine"),
    )


def stored_context(config: dict, location: str | None) -> Context:
    """The context a stored run was recorded with (no environment or config file consulted again)."""
    g, p = config.get("intensity_g_per_kwh"), config.get("pue")
    return Context(
        location=location, location_from=str(config.get("location_from", "stored run")),
        intensity=None if g is None else float(g), intensity_from="stored run" if g is not None else "grid",
        pue=None if p is None else float(p), pue_from="stored run" if p is not None else "location default",
        whole_machine=config.get("attribution") in ("machine", WHOLE_MACHINE),
    )
