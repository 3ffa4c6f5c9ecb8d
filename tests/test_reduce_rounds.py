"""Interleaved rounds: an untimed pass over every batch first (quality, warm-up); then order fp32, A, B, fp32,
A, B; every variant sees the same chunk in a round and every chunk the same mix; energy, throughput and latency
from the same passes."""

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
    assert calls[:21] == [(n, b) for n in fns for b in range(7)]  # the untimed pass: every batch, in order
    timed = calls[21:]
    order = [n for i, (n, _) in enumerate(timed) if i == 0 or timed[i - 1][0] != n]
    assert order == ["fp32", "a", "b"] * 3
    for name in fns:
        seen = [b for n, b in timed if n == name]
        assert seen == [0, 4, 1, 5, 2, 6]  # 6 of 7 batches, evenly spread; chunk c: every 3rd from c
        assert rounds.quality(out[name], work) == float(sum(range(7)))  # every batch once
        assert out[name].units == [6, 6, 6]  # the same work in every round


@pytest.mark.parametrize(("n", "chunks"), [(46, 10), (7, 7), (100, 6), (5, 1)])
def test_chunks_have_the_same_size_and_mix(n: int, chunks: int) -> None:
    parts = [rounds.chunk_of(n, chunks, c) for c in range(chunks)]
    flat = [i for p in parts for i in p]
    assert len(set(flat)) == len(flat) == chunks * (n // chunks)  # distinct batches, none twice
    assert {len(p) for p in parts} == {n // chunks}
    for k in range(n // chunks):  # the k-th batch of every chunk comes from the same stretch of lengths
        kth = [p[k] for p in parts]
        assert max(kth) - min(kth) <= 2 * chunks
    assert rounds.chunk_of(n, chunks, chunks) == parts[0]  # rounds beyond the chunks repeat them


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
