"""The sensor protocol: ``available()`` says whether (and why not), ``read()`` gives cumulative joules."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from wattwise.footprint import Method

#: Domains under this prefix are stored for comparison only (the modelled CPU beside a RAPL reading) and are
#: never added to totals.
SHADOW_PREFIX = "model:"
SHADOW_CPU = SHADOW_PREFIX + "cpu"


def is_shadow(domain: str) -> bool:
    """Whether a domain is a comparison-only shadow (excluded from every total)."""
    return domain.startswith(SHADOW_PREFIX)


@dataclass(frozen=True)
class Availability:
    """Whether a sensor can be used here; ``reason`` says why not (or what it found)."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Counter:
    """Cumulative energy of one domain since the sensor was opened."""

    domain: str
    joules: float
    method: Method
    source: str
    uncertainty: float = 0.0


class Sensor(ABC):
    """An energy source. ``read()`` returns cumulative joules per domain since ``open()``.

    ``node_level`` sensors (RAPL, GPUs) see the whole machine: in a distributed run only one process per
    node may read them.
    """

    name: str = "sensor"
    node_level: bool = True

    @abstractmethod
    def available(self) -> Availability:
        """Whether this sensor works on this machine, with the reason."""

    def open(self) -> None:  # noqa: B027 - optional hook
        """Take the baseline. Called once before the first ``read()``."""

    @abstractmethod
    def read(self) -> list[Counter]:
        """Cumulative energy per domain since ``open()``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def describe(self) -> dict[str, str]:
        """Facts for ``wattwise sensors`` (model, TDP, ...)."""
        return {}
