"""Find the cloud region of this machine from the instance metadata service (AWS IMDSv2, Google Cloud,
Azure IMDS). Off unless the user enables it (``WATTWISE_CLOUD_DETECT=1`` or
``wattwise config set cloud_detect true``); link-local addresses only, short timeouts, no other network."""

from __future__ import annotations

import urllib.request

from wattwise.errors import WattwiseError
from wattwise.grid import http

TIMEOUT = 0.5
TRUE = {"1", "true", "yes", "on"}


def detect_enabled() -> bool:
    from wattwise.config import setting

    return (setting("cloud_detect") or "").strip().lower() in TRUE


def _text(url: str, headers: dict[str, str], method: str = "GET") -> str | None:
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        status, body = http.OPENER(req, TIMEOUT)
    except Exception:
        return None
    return body.decode("utf-8", "replace").strip() if status < 400 else None


def _aws() -> str | None:
    tok = _text(
        "http://169.254.169.254/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, "PUT"
    )
    if not tok:
        return None
    region = _text(
        "http://169.254.169.254/latest/meta-data/placement/region", {"X-aws-ec2-metadata-token": tok}
    )
    return f"aws:{region}" if region else None


def _gcp() -> str | None:
    zone = _text(
        "http://metadata.google.internal/computeMetadata/v1/instance/zone", {"Metadata-Flavor": "Google"}
    )
    if not zone:
        return None
    z = zone.rsplit("/", 1)[-1]  # projects/123/zones/europe-west1-b
    return f"gcp:{z.rsplit('-', 1)[0]}"


def _azure() -> str | None:
    loc = _text(
        "http://169.254.169.254/metadata/instance/compute/location?api-version=2021-02-01&format=text",
        {"Metadata": "true"},
    )
    return f"azure:{loc.lower()}" if loc else None


def detect_cloud_region(force: bool = False) -> str:
    """``provider:region`` of this instance; raises WattwiseError when disabled or not on a known cloud."""
    if not (force or detect_enabled()):
        raise WattwiseError(
            "cloud detection is off",
            "enable it with `wattwise config set cloud_detect true`, or give --location",
        )
    for probe in (_aws, _gcp, _azure):
        found = probe()
        if found:
            return found
    raise WattwiseError("no cloud instance metadata service answered", "give --location explicitly")
