"""``wattwise config set|get|list|unset``: user settings in the config file (env variables override)."""

from __future__ import annotations

import contextlib
import os

import typer

from wattwise.console import make_console
from wattwise.errors import WattwiseError

console = make_console()
config_app = typer.Typer(help="Show and change settings (location, pue, grid_provider, tokens ...).",
                         no_args_is_help=True)
SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey")
#: Known keys and what they hold (any other key is accepted with a warning).
KNOWN = {
    "location": "default location: country, zone or cloud region (env WATTWISE_LOCATION)",
    "pue": "PUE override, 1.0-5.0 (env WATTWISE_PUE)",
    "cloud_detect": "true to read the cloud region from the instance metadata service",
    "grid_provider": "live provider used by default: electricitymaps, watttime, ukgrid",
    "electricitymaps_token": "Electricity Maps API token (or env ELECTRICITYMAPS_TOKEN)",
    "watttime_username": "WattTime account (or env WATTTIME_USERNAME)",
    "watttime_password": "WattTime password (or env WATTTIME_PASSWORD)",
    "watttime_region": "WattTime region, e.g. CAISO_NORTH",
    "ukgrid_region": "UK Carbon Intensity API region id, 1-17",
}


def is_secret(key: str) -> bool:
    return any(w in key.lower() for w in SECRET_WORDS)


def _show(key: str, value: object) -> str:
    return "****" if is_secret(key) and value not in (None, "") else str(value)


def _validate(key: str, value: str) -> str:
    if key == "location":
        from wattwise.grid import resolve_location

        return resolve_location(value).code
    if key == "pue":
        from wattwise.grid.pue import parse_pue

        return str(parse_pue(value))
    if key == "cloud_detect":
        v = value.strip().lower()
        if v not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise WattwiseError(f"cloud_detect must be true or false, got {value!r}")
        return "true" if v in ("true", "1", "yes", "on") else "false"
    if key == "grid_provider":
        from wattwise.grid.providers import get_provider

        get_provider(value)
        return value.strip().lower()
    if key == "ukgrid_region" and not (value.isdigit() and 1 <= int(value) <= 17):
        raise WattwiseError(f"ukgrid_region must be 1-17, got {value!r}")
    return value


@config_app.command("set")
def set_cmd(key: str, value: str) -> None:
    """Set KEY to VALUE in the config file."""
    from wattwise.config import load_config, save_config

    key = key.strip().lower()
    cfg = load_config()
    cfg[key] = _validate(key, value)
    path = save_config(cfg)
    if is_secret(key):
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    note = "" if key in KNOWN else " (not a key wattwise knows; stored anyway)"
    console.print(f"{key} = {_show(key, cfg[key])}{note}", highlight=False)


@config_app.command("get")
def get_cmd(key: str) -> None:
    """Print the effective value of KEY (environment first, then the config file)."""
    from wattwise.config import setting

    v = setting(key.strip().lower())
    if v is None:
        raise WattwiseError(f"{key} is not set", f"known keys: {', '.join(KNOWN)}")
    console.print(_show(key, v), highlight=False)


@config_app.command("list")
def list_cmd() -> None:
    """List the config file's settings (secrets masked) and the known keys."""
    from wattwise.config import config_path, load_config

    cfg = load_config()
    console.print(f"# {config_path()}", highlight=False)
    for k in sorted(cfg):
        console.print(f"{k} = {_show(k, cfg[k])}", highlight=False)
    unset = [k for k in KNOWN if k not in cfg]
    if unset:
        console.print("# not set: " + ", ".join(unset), highlight=False)


@config_app.command("unset")
def unset_cmd(key: str) -> None:
    """Remove KEY from the config file."""
    from wattwise.config import load_config, save_config

    cfg = load_config()
    key = key.strip().lower()
    if key not in cfg:
        raise WattwiseError(f"{key} is not set in the config file")
    del cfg[key]
    save_config(cfg)
    console.print(f"unset {key}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``config`` group."""
    app.add_typer(config_app, name="config")
