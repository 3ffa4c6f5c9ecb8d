"""``wattwise config set|get|list|unset``: user settings in the config file (env variables override)."""

from __future__ import annotations

import typer

from wattwise.cli.common import err
from wattwise.console import make_console
from wattwise.errors import WattwiseError

console = make_console()
config_app = typer.Typer(help="Show and change settings (location, pue, grid_provider, tokens ...).",
                         no_args_is_help=True)
SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey")
#: Known keys and what they hold (any other key is refused, with the closest known ones).
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


def _key(key: str) -> str:
    """A known key (normalised), else an error with the closest known keys."""
    from wattwise.errors import close_matches

    k = key.strip().lower()
    if not k:
        raise WattwiseError("empty config key", f"known keys: {', '.join(KNOWN)}")
    if k not in KNOWN:
        near = close_matches(k, list(KNOWN), 3)
        raise WattwiseError(f"unknown config key {key!r}",
                            f"did you mean: {', '.join(near)}" if near else f"known keys: {', '.join(KNOWN)}")
    return k


def _validate(key: str, value: str) -> str:
    from wattwise.config import check_value

    if not value.strip():
        raise WattwiseError(f"empty value for {key}", f"to remove it: wattwise config unset {key}")
    if key == "location":
        from wattwise.grid import resolve_location

        return resolve_location(value).code
    if key == "grid_provider":
        from wattwise.grid.providers import get_provider

        get_provider(value)
        return value.strip().lower()
    return check_value(key, value)


def _read_value(key: str) -> str:
    """The value from stdin (``-`` or no value; one line) or, on a terminal, a prompt (hidden for secrets)."""
    import sys

    if sys.stdin is not None and sys.stdin.isatty():
        return str(typer.prompt(key, hide_input=is_secret(key)))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@config_app.command("set")
def set_cmd(
    key: str = typer.Argument(..., help="A known key (see `wattwise config list`)."),
    value: str | None = typer.Argument(None, help="The value; '-' or nothing: read it from stdin or a prompt "
                                       "(use that for tokens and passwords, which argv would leak to ps and history)."),
) -> None:
    """Set KEY to VALUE in the config file (mode 0600)."""
    from wattwise.config import load_config, save_config

    key = _key(key)
    if value is None or value == "-":
        value = _read_value(key)
    elif is_secret(key):
        err.print(f"wattwise: warning: a secret on the command line is visible in ps and shell history; next time "
                  f"use `wattwise config set {key} -` (reads stdin) or a prompt", highlight=False)
    cfg = load_config()
    cfg[key] = _validate(key, value)
    save_config(cfg)
    console.print(f"{key} = {_show(key, cfg[key])}", highlight=False)


@config_app.command("get")
def get_cmd(key: str) -> None:
    """Print the effective value of KEY (environment first, then the config file)."""
    from wattwise.config import setting

    key = _key(key)
    v = setting(key)
    if v is None:
        raise WattwiseError(f"{key} is not set", f"set it with `wattwise config set {key} VALUE`")
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
