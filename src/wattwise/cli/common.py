"""Shared CLI options and helpers."""

from __future__ import annotations

import typer

from wattwise.console import make_console
from wattwise.errors import WattwiseError
from wattwise.store.readonly import open_readonly
from wattwise.store.sql import SqlStore

console = make_console()
err = make_console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Run store: SQLite path or postgresql:// URL "
                                              "(default: WATTWISE_STORE or the user data dir).")


def store_from(path: str | None) -> SqlStore:
    """The store for a reading command: opened read-only, never created (a missing one is a clear error)."""
    return open_readonly(path)


def positive(value: float | None, what: str) -> float | None:
    if value is not None and not value > 0:
        raise WattwiseError(f"{what} must be > 0, got {value}")
    return value
