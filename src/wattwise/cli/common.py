"""Shared CLI options and helpers."""

from __future__ import annotations

import typer
from rich.console import Console

from wattwise.errors import WattwiseError
from wattwise.store.sql import SqlStore, open_store


def make_console() -> Console:
    """stdout console; wide enough for the tables when output is not a terminal (files, pipes, CI logs)."""
    c = Console()
    return c if c.is_terminal else Console(width=200)


console = make_console()
err = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Run store: SQLite path or postgresql:// URL "
                                              "(default: WATTWISE_STORE or the user data dir).")


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


def positive(value: float | None, what: str) -> float | None:
    if value is not None and not value > 0:
        raise WattwiseError(f"{what} must be > 0, got {value}")
    return value
