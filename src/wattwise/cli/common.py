"""Shared CLI options and helpers."""

from __future__ import annotations

from pathlib import Path

import typer

from wattwise import validate
from wattwise.console import make_console
from wattwise.errors import WattwiseError
from wattwise.store.readonly import open_readonly
from wattwise.store.sql import SqlStore

console = make_console()
err = make_console(stderr=True)

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
    """The store for a reading command: opened read-only, never created (a missing one is a clear error), and
    shown with the writes still waiting in journals."""
    return open_readonly(path, overlay=True)


def positive(value: float | None, what: str, hint: str = "give a positive number") -> float | None:
    if value is not None and not value > 0:
        raise WattwiseError(f"{what} must be > 0, got {value}", hint)
    return value
