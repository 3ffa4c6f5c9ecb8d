"""Interleaved rounds: order fp32, A, B, fp32, A, B; every variant sees the same chunk in a round; energy,
throughput and latency from the same passes; quality from outputs covering every batch once."""

from __future__ import annotations

import time

import pytest

from wattwise.reduce import rounds


@pytest.fixture(autouse=True)
def _model_energy(monkeypatch) -> None:
    monkeypatch.setenv("WATTWISE_REDUCE_MODEL_ENERGY", "1")  # CPU-time model: fast, no store


def _work(calls: list[tuple[str, int]]) -> rounds.Workload:
    def run(fn, batch):
        calls.append((fn.__name__, batch))
        return fn(batch)

    return rounds.Workload(list(range(7)), [3] * 7, run, lambda outs: float(sum(outs)), "m", "items")


def _variant(name: str, cost: float):
    def fn(batch: int) -> int:
        t0 = time.process_time()
        while time.process_time() - t0 < cost:
            pass
        return batch

    fn.__name__ = name
    return fn


def test_interleaved_order_and_same_chunks() -> None:
    calls: list[tuple[str, int]] = []
    work = _work(calls)
    fns = {n: _variant(n, 0.0) for n in ("fp32", "a", "b")}
    out = rounds.interleave(fns, work, rounds=3)
    timed = calls[3:]  # after one warm-up batch each
    order = [n for i, (n, _) in enumerate(timed) if i == 0 or timed[i - 1][0] != n]
    assert order == ["fp32", "a", "b"] * 3
    for name in fns:
        seen = [b for n, b in timed if n == name]
        assert seen == [0, 3, 6, 1, 4, 2, 5]  # chunk r: every 3rd batch from r
        assert rounds.quality(out[name], work) == float(sum(range(7)))  # every batch once
        assert out[name].units == [9, 6, 6]


def test_figures_come_from_the_same_passes() -> None:
    calls: list[tuple[str, int]] = []
    work = _work(calls)
    out = rounds.interleave({"fp32": _variant("fp32", 0.004), "fast": _variant("fast", 0.001)}, work, rounds=6)
    for rec in out.values():
        s = rec.summary()
        assert len(rec.joules) == 6 and s["rounds"] == 6
        assert sum(rec.batch_ms) / 1000 == pytest.approx(sum(rec.seconds), rel=1e-6)
        assert s["throughput_per_s"] == pytest.approx(sum(rec.units) / sum(rec.seconds))
    r = rounds.ratios(out["fast"], out["fp32"])
    assert r["energy"].median < 0.7 and r["time"].median < 0.7 and r["energy"].n == 6


def test_a_failing_variant_is_dropped_not_fatal() -> None:
    def bad(batch):
        raise RuntimeError("kernel exploded")

    bad.__name__ = "bad"
    out = rounds.interleave({"fp32": _variant("fp32", 0.0), "bad": bad}, _work([]), rounds=2)
    assert "kernel exploded" in out["bad"].error and len(out["fp32"].joules) == 2
