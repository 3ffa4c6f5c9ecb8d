"""Where wattwise keeps its files, and user settings (env variables override the config file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_data_dir

APP = "wattwise"


def data_dir() -> Path:
    return Path(os.environ.get("WATTWISE_HOME") or user_data_dir(APP))


def config_path() -> Path:
    base = os.environ.get("WATTWISE_HOME")
    return Path(base) / "config.json" if base else Path(user_config_dir(APP)) / "config.json"


def cache_dir() -> Path:
    base = os.environ.get("WATTWISE_HOME")
    return Path(base) / "cache" if base else Path(user_cache_dir(APP))


def default_store() -> str:
    """The run store: ``WATTWISE_STORE`` (path or URL) or ``<data dir>/runs.sqlite``."""
    return os.environ.get("WATTWISE_STORE") or str(data_dir() / "runs.sqlite")


def load_config() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        from wattwise.errors import WattwiseError

        raise WattwiseError(f"cannot read config file {path}: {exc}", "fix or delete the file") from exc


def save_config(cfg: dict) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cfg, indent=2, sort_keys=True))
    tmp.replace(path)
    return path


def setting(key: str, env: str | None = None) -> str | None:
    """A setting from the environment (``WATTWISE_<KEY>``) or the config file."""
    value = os.environ.get(env or f"WATTWISE_{key.upper()}")
    if value:
        return value
    v = load_config().get(key)
    return None if v is None else str(v)
