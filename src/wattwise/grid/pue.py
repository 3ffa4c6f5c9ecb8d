"""Power usage effectiveness (facility energy / IT energy) defaults, with their sources.

Cloud regions use the provider's published per-region PUE when the region table has one, else the
provider's fleet-wide figure. Other locations get 1.0 (no data-centre overhead assumed: a workstation or
an unknown facility); users override with ``pue=`` / ``WATTWISE_PUE`` / ``wattwise config set pue 1.4``.
"""

from __future__ import annotations

from wattwise.errors import WattwiseError

#: Fleet-wide PUE published by each provider.
FLEET_PUE: dict[str, tuple[float, str]] = {
    "aws": (1.15, "AWS global PUE 2024, aws.amazon.com/sustainability/data-centers (also 1.15 for 2023)"),
    "gcp": (
        1.10,
        "Google fleet-wide trailing-twelve-month PUE ~1.10, google.com/about/datacenters/efficiency "
        "(as reported by DatacenterDynamics, Dec 2024)",
    ),
    "azure": (
        1.18,
        "Microsoft global datacenter fleet PUE 1.18 (newest designs 1.12), "
        "datacenters.microsoft.com/sustainability/efficiency (as reported by DatacenterDynamics, "
        "Dec 2024)",
    ),
}
REGION_PUE_SOURCE = (
    "{provider} published PUE for {region}, {year}, compiled in Green Software Foundation "
    "real-time-cloud Cloud_Region_Metadata.csv"
)
NO_PUE = (1.0, "no data-centre overhead applied (PUE 1.0: not a cloud location; override with pue=)")


def parse_pue(value: str | float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise WattwiseError(f"PUE must be a number, got {value!r}", "typical values are 1.1 to 2.0") from None
    if not 1.0 <= v <= 5.0:
        raise WattwiseError(f"PUE must be between 1.0 and 5.0, got {v}", "typical values are 1.1 to 2.0")
    return v


def default_pue(location=None) -> tuple[float, str]:
    """(PUE, source) for a location (a Location, text, or None), honouring a user override."""
    from wattwise.config import setting

    user = setting("pue")
    if user:
        return parse_pue(user), "user setting (WATTWISE_PUE or config pue)"
    if location is None:
        return NO_PUE
    from wattwise.grid import tables
    from wattwise.grid.locations import resolve_location

    loc = resolve_location(location)
    if loc.kind != "cloud":
        return NO_PUE
    row = tables.cloud_regions()[loc.code]
    provider = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Microsoft Azure"}[row.provider]
    if row.pue is not None:
        return row.pue, REGION_PUE_SOURCE.format(provider=provider, region=row.region, year=row.pue_year)
    return FLEET_PUE[row.provider]
