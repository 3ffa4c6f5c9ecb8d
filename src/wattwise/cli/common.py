"""Shared CLI options and helpers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from wattwise import validate
from wattwise.errors import WattwiseError
from wattwise.store.sql import SqlStore, open_store


def make_console() -> Console:
    """stdout console; wide enough for the tables when output is not a terminal (files, pipes, CI logs)."""
    c = Console()
    return c if c.is_terminal else Console(width=200, soft_wrap=True)  # text lines are never hard-wrapped


console = make_console()
err = Console(stderr=True)
if not err.is_terminal:  # a log file or pipe: one line per message, never hard-wrapped
    err = Console(stderr=True, soft_wrap=True)

StoreOpt = typer.Option(None, "--store", help="Run store: SQLite path or postgresql:// URL "
                                              "(default: WATTWISE_STORE or the user data dir).")


#: Option callbacks from the shared validation layer (finite, in range, with units): NaN/inf never get in.
check_intensity = validate.option(validate.INTENSITY, "--intensity")
check_pause_above = validate.option(validate.INTENSITY, "--pause-above")
check_energy = validate.option(validate.ENERGY_KWH, "--energy")
check_hours = validate.option(validate.HOURS, "--within")
check_pue = validate.option(validate.PUE, "--pue")
check_lifetime = validate.option(validate.YEARS, "--lifetime-years")
check_limit = validate.option(validate.Quantity("", 1, 10**6, integer=True, hint="how many runs, e.g. 20"), "--limit")


def check_output(path: Path | None) -> Path | None:
    """An output file path that can be written: not a folder, in an existing folder (checked before work)."""
    if path is None or str(path) == "-":
        return path
    if path.is_dir():
        raise WattwiseError(f"{path} is a folder", "give a file name, e.g. -o emissions.csv")
    if not path.parent.is_dir():
        raise WattwiseError(f"cannot write {path}: the folder {path.parent} does not exist",
                            "create it first or write somewhere else")
    return path


def store_from(path: str | None) -> SqlStore:
    return open_store(path)


def fmt_energy(joules: float) -> str:
    """Human energy: µJ below 1 mJ, mJ below 1 J, J below 10 kJ, Wh below 10 kWh, else kWh/MWh."""
    if 0 < joules < 1e-3:
        return f"{joules * 1e6:,.1f} µJ"
    if 0 < joules < 1:
        return f"{joules * 1e3:,.1f} mJ"
    if joules < 1e4:
        return f"{joules:,.1f} J"
    wh = joules / 3600.0
    if wh < 1e4:
        return f"{wh:,.2f} Wh"
    return f"{wh / 1000:,.2f} kWh" if wh < 1e7 else f"{wh / 1e6:,.2f} MWh"


def fmt_mass(kg: float) -> str:
    if kg < 1e-3:
        return f"{kg * 1e6:,.2f} mg"
    if kg < 1:
        return f"{kg * 1e3:,.2f} g"
    return f"{kg:,.2f} kg" if kg < 1000 else f"{kg / 1000:,.2f} t"


def positive(value: float | None, what: str, hint: str = "give a positive number") -> float | None:
    if value is not None and not value > 0:
        raise WattwiseError(f"{what} must be > 0, got {value}", hint)
    return value
