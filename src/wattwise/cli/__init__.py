"""The ``wattwise`` command line (typer + rich)."""
