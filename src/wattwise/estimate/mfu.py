"""MFU model of the training planner: a log-linear fit to published training runs.

    ln MFU = b0 + b1·ln(N_active / 10B) + b2·ln(peak / 312 TFLOPS) + b3·MoE

MFU here is *implied* MFU: 6·N·D (the planner's FLOP count) / (published device-hours x dense 16-bit
peak), so it absorbs restarts, stalls and uncounted FLOPs (attention, distillation teachers) of real runs.
The peak term stands for the hardware generation (faster chips run the same model at a lower MFU).
Coefficients come from ordinary least squares on the rows of ``bench/data/published_training.csv``;
the 80 % interval is the 10th-90th percentile of the leave-one-family-out residuals (every run of a model
family held out together). Data: ``wattwise/data/estimate/mfu_model.json`` (coefficients, fit statistics
and the rows used), written by ``bench/estimator_validation.py --write-model``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

FEATURES = ("intercept", "log_active_params", "log_peak_tflops", "moe")
REF_PARAMS = 1e10
REF_PEAK_TFLOPS = 312.0
INTERVAL = (0.10, 0.90)
MFU_CAP = 0.9
FAR_FACTOR = 3.0  # "far outside" = more than 3x beyond the smallest/largest value of the fitted rows
MODEL_FILE = "mfu_model.json"


@dataclass(frozen=True)
class Sample:
    """One published run as the fit sees it."""

    id: str
    family: str
    lab: str
    hardware_family: str
    active_params: float
    peak_tflops: float
    moe: bool
    mfu: float
    devices: float | None = None
    seq_len: float | None = None


def features(active_params: float, peak_tflops: float, moe: bool) -> list[float]:
    """Design row of the model (see :data:`FEATURES`)."""
    return [
        1.0,
        math.log(active_params / REF_PARAMS),
        math.log(peak_tflops / REF_PEAK_TFLOPS),
        1.0 if moe else 0.0,
    ]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small dense system by Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        if abs(m[p][c]) < 1e-12:
            raise ValueError("singular design: too few distinct rows for the MFU model")
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def fit(samples: Iterable[Sample]) -> list[float]:
    """Ordinary least squares of ln MFU on :func:`features`; returns the coefficients."""
    rows = list(samples)
    x = [features(s.active_params, s.peak_tflops, s.moe) for s in rows]
    y = [math.log(s.mfu) for s in rows]
    k = len(FEATURES)
    xtx = [[sum(r[i] * r[j] for r in x) for j in range(k)] for i in range(k)]
    xty = [sum(r[i] * yi for r, yi in zip(x, y, strict=True)) for i in range(k)]
    return _solve(xtx, xty)


def predict_log(coef: list[float], active_params: float, peak_tflops: float, moe: bool) -> float:
    return sum(c * f for c, f in zip(coef, features(active_params, peak_tflops, moe), strict=True))


def held_out_residuals(samples: list[Sample], group: Callable[[Sample], str]) -> dict[str, float]:
    """ln(implied MFU) - ln(predicted MFU) for each row, predicted by a fit without the row's group."""
    out: dict[str, float] = {}
    for g in sorted({group(s) for s in samples}):
        train = [s for s in samples if group(s) != g]
        coef = fit(train)
        for s in samples:
            if group(s) == g:
                out[s.id] = math.log(s.mfu) - predict_log(coef, s.active_params, s.peak_tflops, s.moe)
    return out


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default method)."""
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def interval_from(samples: list[Sample]) -> tuple[float, float]:
    """(low, high) log-residual quantiles of the leave-one-family-out residuals of ``samples``."""
    res = list(held_out_residuals(samples, lambda s: s.family).values())
    return quantile(res, INTERVAL[0]), quantile(res, INTERVAL[1])


def _range(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def build(samples: list[Sample], source: str) -> dict:
    """The model file's content: coefficients, interval, fit statistics, ranges and the rows used."""
    coef = fit(samples)
    loo = held_out_residuals(samples, lambda s: s.id)
    lofo = held_out_residuals(samples, lambda s: s.family)
    q_lo, q_hi = interval_from(samples)
    y = [math.log(s.mfu) for s in samples]
    fitted = [predict_log(coef, s.active_params, s.peak_tflops, s.moe) for s in samples]
    ss_res = sum((a - b) ** 2 for a, b in zip(y, fitted, strict=True))
    mean_y = statistics.fmean(y)
    ss_tot = sum((a - mean_y) ** 2 for a in y)

    def med_err(res: Iterable[float]) -> float:  # device-hours error = exp(residual) - 1
        return statistics.median(abs(math.exp(r) - 1) for r in res)

    return {
        "_about": __doc__.strip().splitlines()[0],
        "formula": "ln MFU = b0 + b1 ln(N_active/1e10) + b2 ln(peak_TFLOPS/312) + b3 MoE",
        "features": list(FEATURES),
        "coefficients": dict(zip(FEATURES, coef, strict=True)),
        "interval": {
            "level": INTERVAL[1] - INTERVAL[0],
            "log_residual_low": q_lo,
            "log_residual_high": q_hi,
            "from": "10th-90th percentile of leave-one-family-out residuals of ln MFU",
        },
        "fit": {
            "method": "ordinary least squares on ln(implied MFU), no regularisation",
            "rows": len(samples),
            "families": len({s.family for s in samples}),
            "r2_log": 1 - ss_res / ss_tot if ss_tot else None,
            "rmse_log": math.sqrt(ss_res / len(samples)),
            "median_abs_device_hours_error": {
                "in_sample": med_err(a - b for a, b in zip(y, fitted, strict=True)),
                "leave_one_out": med_err(loo.values()),
                "leave_one_family_out": med_err(lofo.values()),
            },
        },
        "ranges": {
            "active_params": _range([s.active_params for s in samples]),
            "peak_tflops": _range([s.peak_tflops for s in samples]),
            "devices": _range([s.devices for s in samples if s.devices]),
            "seq_len": _range([s.seq_len for s in samples if s.seq_len]),
        },
        "hardware_families": sorted({s.hardware_family for s in samples}),
        "source": source,
        "rows": [
            {
                "id": s.id,
                "family": s.family,
                "hardware_family": s.hardware_family,
                "active_params": s.active_params,
                "peak_tflops": s.peak_tflops,
                "moe": s.moe,
                "devices": s.devices,
                "seq_len": s.seq_len,
                "implied_mfu": s.mfu,
                "fitted_mfu": math.exp(f),
                "residual_loo": loo[s.id],
                "residual_lofo": lofo[s.id],
            }
            for s, f in zip(samples, fitted, strict=True)
        ],
    }


@lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped model file."""
    path = resources.files("wattwise") / "data" / "estimate" / MODEL_FILE
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class MfuEstimate:
    """Predicted MFU with its interval, the model's inputs and range warnings."""

    central: float
    low: float
    high: float
    inputs: dict
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict:
        return {"inputs": dict(self.inputs), "warnings": list(self.warnings)}


def _range_note(what: str, value: float, rng: list[float] | None, fmt: Callable[[float], str]) -> str | None:
    if not rng or rng[0] <= value <= rng[1]:
        return None
    far = value > rng[1] * FAR_FACTOR or value < rng[0] / FAR_FACTOR
    return (
        f"{what} {fmt(value)} is {'far ' if far else ''}outside the fitted range "
        f"({fmt(rng[0])}-{fmt(rng[1])}): the MFU {'is an extrapolation' if far else 'extrapolates'}"
    )


def predict(
    *,
    active_params: float,
    peak_tflops: float,
    moe: bool,
    hardware_family: str,
    devices: float | None = None,
    seq_len: float | None = None,
    model: dict | None = None,
    coef: list[float] | None = None,
    interval: tuple[float, float] | None = None,
) -> MfuEstimate:
    """MFU (central, low, high) for a run; ``coef``/``interval`` override the shipped fit (validation)."""
    m = model or shipped()
    c = coef or [m["coefficients"][f] for f in FEATURES]
    q_lo, q_hi = interval or (m["interval"]["log_residual_low"], m["interval"]["log_residual_high"])
    z = predict_log(c, active_params, peak_tflops, moe)
    central, low, high = (math.exp(z), math.exp(z + q_lo), math.exp(z + q_hi))
    warnings = []
    rng = m["ranges"]
    for note in (
        _range_note("active parameters", active_params, rng["active_params"], lambda v: f"{v:.3g}"),
        _range_note("peak", peak_tflops, rng["peak_tflops"], lambda v: f"{v:g} TFLOPS"),
        None if devices is None else _range_note("devices", devices, rng["devices"], lambda v: f"{v:,.0f}"),
        None if seq_len is None else _range_note("sequence length", seq_len, rng["seq_len"], lambda v: f"{v:,.0f}"),
    ):
        if note:
            warnings.append(note)
    fitted_hw = hardware_family in m["hardware_families"]
    if not fitted_hw:
        warnings.append(f"no published run on {hardware_family} hardware in the fit: MFU from its peak alone")
    if high > MFU_CAP:
        warnings.append(f"MFU capped at {MFU_CAP:g} (the model extrapolates above it)")
        central, low, high = (min(v, MFU_CAP) for v in (central, low, high))
    fit_stats = m["fit"]
    source = (
        f"MFU model fitted to {fit_stats['rows']} published runs ({m['formula']}); "
        f"{m['interval']['level']:.0%} interval from leave-one-family-out residuals"
    )
    if not fitted_hw:
        source = f"assumption: {source}, extrapolated to {hardware_family}"
    inputs = {
        "active_params": active_params,
        "peak_tflops": peak_tflops,
        "moe": moe,
        "hardware_family": hardware_family,
        "devices": devices,
        "seq_len": seq_len,
        "used_by_model": ["active_params", "peak_tflops", "moe"],
    }
    return MfuEstimate(central, low, high, inputs, warnings, source)
