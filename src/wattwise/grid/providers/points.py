"""What every live provider returns: :class:`LivePoint` values at UTC times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class LivePoint:
    """One provider value: gCO2e/kWh at a UTC time, with its kind/signal and source."""

    when: datetime
    g_per_kwh: float
    kind: str  # lifecycle | direct
    signal: str  # average | marginal
    source: str
    estimated: bool = False


def parse_utc(text: str) -> datetime:
    s = text.strip().replace("Z", "+00:00")
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
