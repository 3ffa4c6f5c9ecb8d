"""On-disk cache for provider responses: one JSON file per request under ``<cache dir>/grid``, with a TTL.

Keys are built from provider, endpoint and parameters only, never from credentials. A corrupt or unreadable
entry is logged, removed and treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from wattwise.config import cache_dir

log = logging.getLogger("wattwise.grid")


def _path(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache_dir() / "grid" / f"{digest}.json"


def get(key: str, ttl_s: float) -> Any | None:
    """The cached value for ``key`` if younger than ``ttl_s`` seconds, else None."""
    p = _path(key)
    if not p.exists():
        return None
    try:
        entry = json.loads(p.read_text(encoding="utf-8"))
        if entry.get("key") != key:
            return None
        if time.time() - float(entry["stored"]) > ttl_s:
            return None
        return entry["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring corrupt grid cache entry %s (%s)", p, type(exc).__name__)
        with contextlib.suppress(OSError):
            p.unlink()
        return None


def put(key: str, data: Any) -> None:
    """Store ``data`` (JSON-serialisable); failures to write are logged, never raised."""
    p = _path(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "stored": time.time(), "data": data}), encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:
        log.warning("cannot write grid cache %s (%s)", p, exc)


def clear() -> int:
    """Delete all cached grid responses; returns how many files were removed."""
    d = cache_dir() / "grid"
    n = 0
    if d.exists():
        for f in d.glob("*.json"):
            f.unlink(missing_ok=True)
            n += 1
    return n
