"""Paired, interleaved measurement of several variants on the same work.

First every variant runs every batch once, untimed: those outputs give its quality, and every input shape has
been seen (allocations, kernel selection) before anything is timed. The timed rounds then split the batches
(sorted by length) into ``chunks`` of identical mix: ``chunks x (n // chunks)`` evenly spread batches, chunk
``c`` taking one from each run of ``chunks`` consecutive ones, so every round does the same kind of work and
the rounds' ratios differ only by measurement noise. Round ``r`` runs chunk ``r mod chunks`` through every
variant in turn (fp32, A, B, fp32, A, B, ...), each under one :func:`wattwise.reduce.energy.measure_energy`
call: that call's energy, wall time and per-batch times give energy, throughput and latency of the *same*
pass, and the baseline's pass in the same round is its pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wattwise.reduce.energy import measure_energy
from wattwise.reduce.stats import Ratio, paired_ratio


@dataclass
class Workload:
    """Prepared evaluation work: ``batches`` (inputs), ``sizes`` (units per batch: sentences or tokens),
    ``run(fn, batch)`` (one batch through a variant's callable, returns its output) and ``quality(outputs)``
    (outputs of every batch in order -> the metric)."""

    batches: list[Any]
    sizes: list[int]
    run: Callable[[Any, Any], Any]
    quality: Callable[[list[Any]], float]
    metric: str
    unit: str


@dataclass
class Rounds:
    """One variant's passes: per round joules, seconds, CPU seconds and units; per batch milliseconds."""

    joules: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    batch_ms: list[float] = field(default_factory=list)
    method: str | None = None
    source: str | None = None
    outputs: dict[int, Any] = field(default_factory=dict)
    error: str | None = None
    tare_j: float = 0.0

    def per_1k(self) -> list[float]:
        """Energy per 1,000 units of each round."""
        return [j / u * 1000 for j, u in zip(self.joules, self.units, strict=True)]

    def summary(self) -> dict[str, Any]:
        units, secs = sum(self.units), sum(self.seconds)
        return {
            "energy_j_per_1k": sum(self.joules) / units * 1000,
            "throughput_per_s": units / secs if secs > 0 else float("nan"),
            "latency_ms_p50": float(np.percentile(self.batch_ms, 50)),
            "latency_ms_p95": float(np.percentile(self.batch_ms, 95)),
            "seconds": secs,
            "cpu_seconds": sum(self.cpu_seconds),
            "energy_method": self.method,
            "energy_source": self.source,
            "rounds": len(self.joules),
        }


def meter_tare(tries: int = 3) -> float:
    """Energy the meter books for an empty pass (its own start, sampling and stop in this process), subtracted
    from every pass so that short passes are not pulled towards a ratio of 1."""
    import statistics

    return statistics.median(measure_energy(lambda: None, name="reduce-tare").joules for _ in range(tries))


def chunk_of(n_batches: int, chunks: int, r: int) -> list[int]:
    """Batch indices of round ``r``: of ``chunks x (n_batches // chunks)`` evenly spread batches, every
    ``chunks``-th starting at ``r mod chunks`` (the same count and mix of lengths in every chunk; the
    ``n_batches mod chunks`` left out are in the untimed quality pass only)."""
    m = chunks * (n_batches // chunks)
    timed = [int((j + 0.5) * n_batches / m) for j in range(m)]
    return timed[r % chunks :: chunks]


def error_line(exc: Exception) -> str:
    """``Type: first line of the message`` (at most 300 characters): a failed variant's row."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def interleave(
    fns: dict[str, Any],
    work: Workload,
    rounds: int,
    tick: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Rounds]:
    """Run every variant in ``fns`` (name -> callable, baseline first) through ``rounds`` interleaved rounds.
    A variant that raises is dropped from later rounds with its error recorded."""
    n = len(work.batches)
    chunks = max(1, min(rounds, n))
    out = {name: Rounds() for name in fns}
    tare = meter_tare()
    for name, fn in fns.items():  # untimed pass over every batch: quality outputs, and every shape warmed up
        try:
            out[name].outputs = {i: work.run(fn, b) for i, b in enumerate(work.batches)}
        except Exception as exc:  # a failing variant is a row, not a crash
            out[name].error = error_line(exc)
    if log:
        log("untimed pass over every batch done (quality, warm-up)")
    for r in range(rounds):
        idx = chunk_of(n, chunks, r)
        for name, fn in fns.items():
            rec = out[name]
            rec.tare_j = tare
            if rec.error:
                continue
            times: list[float] = []

            def one_pass(fn: Any = fn, idx: list[int] = idx, times: list[float] = times) -> None:
                import time

                for i in idx:  # outputs are not kept: quality comes from the untimed pass
                    t0 = time.perf_counter()
                    work.run(fn, work.batches[i])
                    times.append((time.perf_counter() - t0) * 1000)

            try:
                e = measure_energy(one_pass, name="reduce-eval")
            except Exception as exc:
                rec.error = error_line(exc)
                continue
            rec.joules.append(max(e.joules - tare, 0.5 * e.joules))  # the tare never takes more than half
            rec.seconds.append(sum(times) / 1000)  # the pass itself, without the meter's start and stop
            rec.cpu_seconds.append(e.cpu_seconds)
            rec.units.append(sum(work.sizes[i] for i in idx))
            rec.batch_ms.extend(times)
            rec.method, rec.source = e.method, e.source
            if tick:
                tick(1)
        if log:
            log(f"round {r + 1}/{rounds} done")
    return out


def quality(rec: Rounds, work: Workload) -> float:
    """The metric from the outputs of every batch (the untimed pass)."""
    return work.quality([rec.outputs[i] for i in range(len(work.batches))])


def ratios(rec: Rounds, base: Rounds) -> dict[str, Ratio]:
    """Energy and time of ``rec`` over the baseline's, paired by round (per 1,000 units: same chunk)."""
    m = min(len(rec.joules), len(base.joules))
    return {
        "energy": paired_ratio(rec.per_1k()[:m], base.per_1k()[:m]),
        "time": paired_ratio(
            [s / u for s, u in zip(rec.seconds[:m], rec.units[:m], strict=True)],
            [s / u for s, u in zip(base.seconds[:m], base.units[:m], strict=True)],
        ),
    }
