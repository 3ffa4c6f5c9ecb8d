"""The lab end to end on tiny models: variants, manifest, outputs, safety, errors, recommendation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from wattwise.errors import WattwiseError
from wattwise.reduce import lab
from wattwise.reduce.lab import LabOptions, parse_variant, run_lab
from wattwise.reduce.models import tiny_causal_lm, tiny_encoder

FAST = LabOptions(eval_pairs=24, distill_texts=48, distill_layers=1, selective_keep=2, selective_calibration=4,
                  batch_size=8, rounds=6, distill_epochs=1, slim_epochs=2)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("input") / "tiny-bert"
    m = tiny_encoder()
    m.model.save_pretrained(d)
    m.tokenizer.save_pretrained(d)
    return d


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob("*")) if f.is_file()}


@pytest.mark.parametrize(("spec", "msg"), [
    ("int3", "unknown technique"),
    ("ort-int8+prune-layer", "out of order"),
    ("prune-layer+prune-global", "cannot be chained"),
    ("torchao-int8-dynamic+ort-int8", "cannot be exported to ONNX"),
    ("distill+distill", "repeats"),
    ("distill+distill-slim", "cannot be chained"),
    ("distill-slim+distill", "cannot be chained"),
])
def test_impossible_combinations(spec: str, msg: str) -> None:
    with pytest.raises(WattwiseError, match=msg):
        parse_variant(spec)


def test_parse_chain() -> None:
    assert parse_variant("fp32") == []
    assert parse_variant("distill+prune-structured+ort-int8") == ["distill", "prune-structured", "ort-int8"]


def test_encoder_lab_end_to_end(model_dir: Path, tmp_path: Path) -> None:
    before = _snapshot(model_dir)
    out = tmp_path / "out"
    res = run_lab(str(model_dir), ["ort-int8", "prune-layer", "distill+prune-structured+ort-int8",
                                   "distill-slim+ort-int8"], out,
                  LabOptions(**{**FAST.__dict__, "max_quality_drop": 100.0}))
    assert res.variants[0].name == "fp32"  # the baseline is always added first
    assert all(v.ok for v in res.variants), [v.error for v in res.variants]
    for v in res.variants:
        assert v.energy_j_per_1k >= 0 and v.energy_method in ("measured", "modelled")
        assert v.size_bytes and v.params and v.latency_ms_p95 >= v.latency_ms_p50 > 0
        assert v.co2_g_per_1k >= 0 and v.uses_labels is False
    assert res.variant("fp32").energy_vs_fp32 == pytest.approx(1.0)
    for v in res.variants[1:]:  # a paired interval from 6 rounds around each median
        assert v.rounds == 6 and v.interval_level >= 0.95
        assert v.energy_vs_fp32_low <= v.energy_vs_fp32 <= v.energy_vs_fp32_high
    chain = res.variant("distill+prune-structured+ort-int8")
    assert [s["technique"] for s in chain.manifest][:2] == ["distill", "structured"]
    slim = res.variant("distill-slim+ort-int8")  # narrowed, then trained: one manifest entry, then the runtime
    assert slim.manifest[0]["narrowed_before_training"]["technique"] == "structured"
    assert slim.manifest[0]["epochs"] == FAST.slim_epochs and chain.manifest[0]["epochs"] == FAST.distill_epochs
    assert slim.params < res.variant("fp32").params
    assert res.recommended == lab.recommend(res.variants, 100.0)
    if res.recommended is not None:
        assert res.variant(res.recommended).energy_vs_fp32_high < 1.0
    assert res.environment["thread_control"]["threads"] == 1
    assert res.data["rounds"] == 6 and res.data["chunks"] == 6
    for f in ("results.json", "manifest.json", "pareto.png", "pareto.html"):
        assert (out / f).exists(), f
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input_unchanged"] is True
    assert (out / "ort-int8" / "model.onnx").exists() and (out / "ort-int8" / "manifest.json").exists()
    assert _snapshot(model_dir) == before  # the input model is never modified


def test_failing_technique_is_a_row(monkeypatch, tmp_path: Path) -> None:
    def boom(*_a, **_k):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr("wattwise.reduce.prune.semi_structured_24", boom)
    res = run_lab(tiny_encoder(), ["prune-2:4", "bf16"], None, FAST)
    row = res.variant("prune-2:4")
    assert not row.ok and "kernel exploded" in row.error
    assert res.variant("bf16").ok and res.variant("fp32").ok


def test_out_dir_safety(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(WattwiseError, match="inside the input model"):
        run_lab(str(model_dir), ["fp32"], model_dir / "out", FAST)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("x")
    with pytest.raises(WattwiseError, match="not a wattwise reduce folder"):
        run_lab(str(model_dir), ["fp32"], busy, FAST)


def test_causal_lm_lab(tmp_path: Path, monkeypatch) -> None:
    text = tmp_path / "t.txt"
    text.write_text(" ".join(["the quick brown fox jumps over the lazy dog"] * 400))
    opts = LabOptions(**{**FAST.__dict__, "lm_text_path": str(text), "lm_distill_steps": 2})
    res = run_lab(tiny_causal_lm(), ["bf16", "ort-int8", "distill"], None, opts)
    assert res.metric == "perplexity" and res.unit == "tokens"
    assert all(v.ok for v in res.variants), [v.error for v in res.variants]
    base = res.variant("fp32").quality
    assert 1 < base < 40000
    assert abs(res.variant("bf16").quality_drop) < 5  # percent perplexity change


def _row(name: str, drop: float, ratio: float, low: float, high: float, **kw) -> lab.VariantResult:
    return lab.VariantResult(name, [name], True, quality=86.7 - drop, quality_drop=drop, energy_vs_fp32=ratio,
                             energy_vs_fp32_low=low, energy_vs_fp32_high=high, interval_level=0.98, **kw)


def test_recommend_needs_an_interval_that_clears_the_baseline() -> None:
    rows = [lab.VariantResult("fp32", [], True, quality=86.7, quality_drop=0.0, energy_vs_fp32=1.0),
            _row("a", 0.4, 0.30, 0.28, 0.33),
            _row("b", 1.7, 0.20, 0.18, 0.22),
            _row("noisy", 0.1, 0.25, 0.10, 1.05),  # cheaper median, but its interval reaches fp32
            lab.VariantResult("c", ["c"], False, error="x")]
    assert lab.recommend(rows, 0.5) == "a"
    assert lab.recommend(rows, 2.0) == "b"
    assert lab.recommend(rows[:1] + rows[3:], 0.5) is None  # no clear winner
    few = _row("few", 0.1, 0.2, 0.1, 0.3)
    few.interval_level = 0.75  # 3 rounds: no 95 % interval, never a winner
    assert lab.recommend([rows[0], few], 0.5) is None
    labelled = _row("ft", -1.3, 0.1, 0.09, 0.11, uses_labels=True)
    assert lab.recommend([*rows, labelled], 0.5) == "a"


def test_uses_labels_comes_from_the_steps(monkeypatch) -> None:
    from wattwise.reduce import steps

    monkeypatch.setitem(steps.STEPS, "finetune", steps.Step("finetune", 0, "trains on gold scores",
                                                            lambda m, ctx: (m, {"technique": "finetune"}),
                                                            uses_labels=True))
    assert steps.uses_labels(["finetune", "ort-int8"]) and not steps.uses_labels(["distill", "ort-int8"])
    res = run_lab(tiny_encoder(), ["finetune"], None, LabOptions(**{**FAST.__dict__, "rounds": 2}))
    assert res.variant("finetune").uses_labels is True and res.variant("fp32").uses_labels is False


def test_co2_through_the_footprint_arithmetic() -> None:
    from wattwise.footprint import carbon_kg

    it = {"g_per_kwh": 400.0, "pue": 1.5}
    assert lab.co2_g_per_1k(36.0, it) == pytest.approx(carbon_kg(36.0 / 3.6e6, 400.0, 1.5) * 1000)
    assert lab.co2_g_per_1k(36.0, it) == pytest.approx(36.0 / 3.6e6 * 400 * 1.5)


def test_one_set_of_defaults(monkeypatch) -> None:
    """The CLI's and the bench's defaults are LabOptions' (the README headline reproduces the bench)."""
    import typer.main

    from tests.bench_loader import load_bench
    from wattwise.cli.app import app

    d = LabOptions()
    assert (d.student_layers(6), d.distill_epochs, d.distill_lr, d.threads) == (4, 2, 2e-4, 1)
    cmd = typer.main.get_command(app).commands["reduce"]
    cli = {p.name: p.default for p in cmd.params}
    for opt, field_name in [("distill_layers", "distill_layers"), ("distill_epochs", "distill_epochs"),
                            ("distill_lr", "distill_lr"), ("rounds", "rounds"), ("threads", "threads"),
                            ("batch_size", "batch_size"), ("prune_amount", "prune_amount"),
                            ("max_quality_drop", "max_quality_drop"), ("slim_epochs", "slim_epochs"),
                            ("distill_hidden_weight", "distill_hidden_weight"), ("heads", "structured_heads"),
                            ("distill_sim_weight", "distill_sim_weight"), ("distill_augment", "distill_augment"),
                            ("slim_sim_weight", "slim_sim_weight"), ("slim_augment", "slim_augment"),
                            ("slim_int8_aware", "slim_int8_aware"),
                            ("ffn", "structured_ffn")]:
        assert cli[opt] == getattr(d, field_name), opt
    bench = load_bench("compression")
    import argparse

    seen = {}
    real = argparse.ArgumentParser.parse_args

    def capture(self, args=None, namespace=None):
        ns = real(self, [], namespace)
        seen.update(vars(ns))
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        bench.main()
    assert (seen["distill_layers"], seen["distill_epochs"], seen["distill_lr"], seen["rounds"], seen["threads"]) == (
        d.distill_layers, d.distill_epochs, d.distill_lr, d.rounds, d.threads)
