"""Intel / AMD RAPL energy counters through the Linux powercap interface (``/sys/class/powercap``).

Counted domains: each socket's ``package`` zone (``cpu:N``) and its ``dram`` sub-zone (``dram:N``).
``core``/``uncore`` sub-zones are part of the package and ``psys`` covers the whole platform, so they are
skipped to avoid counting energy twice; ``intel-rapl-mmio`` zones duplicate the package and are skipped too.
Counters wrap around at ``max_energy_range_uj``; each read adds the difference modulo that range.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from wattwise.footprint import Method
from wattwise.sensors.base import Availability, Counter, Sensor

POWERCAP = Path("/sys/class/powercap")
PERMISSION_HINT = (
    "RAPL energy counters are readable by root only on Linux >= 5.10 (CVE-2020-8694). To measure instead of "
    "model the CPU, grant read access, e.g. `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*/*/energy_uj` (or a udev rule / `sudo setfacl`); falling back to the "
    "modelled CPU"
)
#: RAPL counters are accurate to a few per cent against wall-plug measurements (Khan et al., "RAPL in
#: Action", ACM TOMPECS 2018); we state 5 %.
RAPL_UNCERTAINTY = 0.05
_TOP = re.compile(r"^(intel-rapl|amd-rapl):(\d+)$")
_SUB = re.compile(r"^(intel-rapl|amd-rapl):(\d+):(\d+)$")


@dataclass
class Zone:
    path: Path
    domain: str
    max_uj: int
    last_uj: int = 0
    total_uj: int = 0


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplSensor(Sensor):
    """CPU package and DRAM energy from RAPL counters."""

    name = "rapl"

    def __init__(self, root: Path | str = POWERCAP) -> None:
        self.root = Path(root)
        self.zones: list[Zone] = []

    def _discover(self) -> list[Zone]:
        zones: list[Zone] = []
        if not self.root.is_dir():
            return zones
        for entry in sorted(self.root.iterdir()):
            top = _TOP.match(entry.name)
            if not top:
                continue
            name = (entry / "name").read_text().strip() if (entry / "name").exists() else ""
            if not name.startswith("package"):
                continue  # psys and other platform zones include the package: never add them
            socket = int(name.split("-")[1]) if "-" in name and name.split("-")[1].isdigit() else int(top[2])
            zones.append(Zone(entry, f"cpu:{socket}", self._max(entry)))
            for sub in sorted(entry.iterdir()):
                if _SUB.match(sub.name) and (sub / "name").exists() and (
                    (sub / "name").read_text().strip() == "dram"
                ):
                    zones.append(Zone(sub, f"dram:{socket}", self._max(sub)))
        return zones

    @staticmethod
    def _max(zone: Path) -> int:
        f = zone / "max_energy_range_uj"
        return _read_int(f) if f.exists() else 2**32

    def available(self) -> Availability:
        if not self.root.is_dir():
            return Availability(False, f"no powercap interface at {self.root} (no RAPL on this machine or VM)")
        try:
            zones = self._discover()
        except OSError as exc:
            return Availability(False, f"cannot list powercap zones: {exc}")
        if not zones:
            return Availability(False, f"no RAPL package zones under {self.root}")
        for z in zones:
            f = z.path / "energy_uj"
            if not os.access(f, os.R_OK):
                return Availability(False, f"permission denied reading {f}. {PERMISSION_HINT}")
            try:
                _read_int(f)
            except PermissionError:
                return Availability(False, f"permission denied reading {f}. {PERMISSION_HINT}")
            except (OSError, ValueError) as exc:
                return Availability(False, f"cannot read {f}: {exc}")
        names = ", ".join(z.domain for z in zones)
        return Availability(True, f"RAPL zones: {names}")

    def open(self) -> None:
        self.zones = self._discover()
        for z in self.zones:
            z.last_uj = _read_int(z.path / "energy_uj")
            z.total_uj = 0

    def read(self) -> list[Counter]:
        out = []
        for z in self.zones:
            now = _read_int(z.path / "energy_uj")
            delta = now - z.last_uj
            if delta < 0:  # the counter wrapped around
                delta += z.max_uj
            z.total_uj += delta
            z.last_uj = now
            out.append(Counter(z.domain, z.total_uj / 1e6, Method.MEASURED, "rapl", RAPL_UNCERTAINTY))
        return out

    def describe(self) -> dict[str, str]:
        return {"root": str(self.root)}
