"""Load the hardware catalogue and look devices up by name or alias (with close-match errors)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from wattwise.errors import WattwiseError, unknown


@dataclass(frozen=True)
class Device:
    """One accelerator or CPU from the catalogue. Throughputs are dense (no sparsity) peaks."""

    name: str
    aliases: tuple[str, ...]
    kind: str  # gpu | tpu | npu | cpu
    vendor: str
    family: str
    tdp_w: float | None
    bf16_tflops: float | None
    fp16_tflops: float | None
    int8_tops: float | None
    memory_gb: float | None
    host_w: float | None  # host (CPU, RAM, network) power share per accelerator at full load
    host_source: str
    die_mm2: float | None
    process: str
    embodied_kg: float | None
    embodied_method: str
    embodied_source: str
    spec_source: str
    verified: str
    mem_bw_gbs: float | None = None  # memory bandwidth, GB/s
    fp8_tflops: float | None = None  # dense FP8 peak
    serving_source: str = ""  # where memory bandwidth and FP8 come from

    @property
    def peak_tflops(self) -> float | None:
        """Dense 16-bit peak used for training (BF16, else FP16)."""
        return self.bf16_tflops or self.fp16_tflops

    def require_peak(self) -> float:
        peak = self.peak_tflops
        if not peak:
            raise WattwiseError(
                f"{self.name} has no 16-bit throughput in the catalogue",
                "use accounting mode (--device-hours) instead of planning mode",
            )
        return peak

    def peak_for(self, precision: str) -> float | None:
        """Dense peak (TFLOPS/TOPS) of the matrix units a model in ``precision`` runs on; None if unsupported.

        int4 is weight-only quantisation (weights dequantised to 16 bit), so it computes at the 16-bit peak.
        """
        return {
            "bf16": self.bf16_tflops or self.fp16_tflops,
            "fp16": self.fp16_tflops or self.bf16_tflops,
            "fp8": self.fp8_tflops,
            "int8": self.int8_tops,
            "int4": self.peak_tflops,
        }.get(precision)

    def require_tdp(self) -> float:
        if not self.tdp_w:
            raise WattwiseError(
                f"{self.vendor} publishes no TDP for {self.name}",
                "pass the average power per device with --device-power WATTS",
            )
        return self.tdp_w


def _num(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


@lru_cache(maxsize=1)
def all_devices() -> tuple[Device, ...]:
    """Every device in the catalogue, in file order."""
    path = resources.files("wattwise") / "data" / "hardware" / "catalogue.csv"
    out = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append(
                Device(
                    name=row["name"],
                    aliases=tuple(a for a in row["aliases"].split(";") if a),
                    kind=row["kind"],
                    vendor=row["vendor"],
                    family=row["family"],
                    tdp_w=_num(row["tdp_w"]),
                    bf16_tflops=_num(row["bf16_tflops"]),
                    fp16_tflops=_num(row["fp16_tflops"]),
                    int8_tops=_num(row["int8_tops"]),
                    memory_gb=_num(row["memory_gb"]),
                    host_w=_num(row["host_w"]),
                    host_source=row["host_source"],
                    die_mm2=_num(row["die_mm2"]),
                    process=row["process"],
                    embodied_kg=_num(row["embodied_kg"]),
                    embodied_method=row["embodied_method"],
                    embodied_source=row["embodied_source"],
                    spec_source=row["spec_source"],
                    verified=row["verified"],
                    mem_bw_gbs=_num(row.get("mem_bw_gbs") or ""),
                    fp8_tflops=_num(row.get("fp8_tflops") or ""),
                    serving_source=row.get("serving_source") or "",
                )
            )
    return tuple(out)


def _key(name: str) -> str:
    """Normalise a name: lower case, spaces/underscores to dashes, drop vendor prefixes."""
    k = re.sub(r"[\s_]+", "-", name.strip().lower())
    for prefix in ("nvidia-", "google-", "amd-", "intel-", "aws-"):
        if k.startswith(prefix) and len(k) > len(prefix):
            k = k[len(prefix) :]
    return k


@lru_cache(maxsize=1)
def _index() -> dict[str, Device]:
    idx: dict[str, Device] = {}
    for d in all_devices():
        for n in (d.name, *d.aliases):
            idx.setdefault(_key(n), d)
            idx.setdefault(n.lower(), d)
    return idx


def names() -> list[str]:
    """Canonical device names."""
    return [d.name for d in all_devices()]


def lookup(name: str) -> Device:
    """The device called ``name`` (canonical name or alias, case-insensitive).

    Raises a :class:`~wattwise.errors.NotFoundError` listing the closest names when unknown.
    """
    if not name or not name.strip():
        raise WattwiseError("no hardware given", f"choose one of: {', '.join(names())}")
    idx = _index()
    dev = idx.get(_key(name)) or idx.get(name.strip().lower())
    if dev is None:
        raise unknown("hardware", name, sorted({*names(), *(a for d in all_devices() for a in d.aliases)}))
    return dev


def alias_note(name: str) -> str | None:
    """A note when ``name`` is an alias that picks one of several devices of its family (``a100`` is the 40 GB
    model, though an 80 GB one exists), so the choice is said out loud; None for exact names."""
    dev = lookup(name)
    if _key(name) == _key(dev.name):
        return None
    siblings = [d.name for d in all_devices() if d.family == dev.family and d.name != dev.name]
    if not siblings:
        return None
    return f"{name!r} is taken as {dev.name} (other {dev.family} models: {', '.join(siblings)}; name one to choose)"
