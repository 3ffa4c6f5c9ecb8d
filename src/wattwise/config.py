"""Where wattwise keeps its files, and user settings (env variables override the config file)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
    """Write the config file atomically, always mode 0600 (it may hold tokens): a private temporary file in
    the same folder, then a rename over the old one."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(cfg, indent=2, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


#: Environment settings checked at start-up: a malformed value is an error, never silently ignored.
ENV_CHECKS = {"WATTWISE_PUE": "pue", "WATTWISE_CLOUD_DETECT": "cloud_detect", "WATTWISE_UKGRID_REGION": "ukgrid_region"}
BOOL_WORDS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def check_value(key: str, value: str) -> str:
    """The normalised value of a numeric/boolean setting, or a WattwiseError naming what is wrong."""
    from wattwise import validate
    from wattwise.errors import WattwiseError

    if key == "pue":
        return f"{validate.number(value, 'PUE', validate.PUE):g}"
    if key == "cloud_detect":
        v = value.strip().lower()
        if v not in BOOL_WORDS:
            raise WattwiseError(f"cloud_detect must be true or false, got {value!r}", "use true or false")
        return "true" if BOOL_WORDS[v] else "false"
    if key == "ukgrid_region":
        region = validate.number(value, "ukgrid_region", validate.Quantity("", 1, 17, integer=True,
                                                                           hint="a UK region id, 1-17"))
        return str(int(region))
    return value


def check_environment() -> None:
    """Refuse malformed WATTWISE_* settings in the environment (``WATTWISE_PUE=abc`` is an error)."""
    from wattwise.errors import WattwiseError

    for env, key in ENV_CHECKS.items():
        value = os.environ.get(env)
        if value:
            try:
                check_value(key, value)
            except WattwiseError as exc:
                raise WattwiseError(f"{env}: {exc.message}", f"fix or unset {env}" + (
                    f"; {exc.hint}" if exc.hint else "")) from None


def setting(key: str, env: str | None = None) -> str | None:
    """A setting from the environment (``WATTWISE_<KEY>``) or the config file."""
    value = os.environ.get(env or f"WATTWISE_{key.upper()}")
    if value:
        return value
    v = load_config().get(key)
    return None if v is None else str(v)
