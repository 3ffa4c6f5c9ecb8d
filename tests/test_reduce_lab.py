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

FAST = LabOptions(eval_pairs=24, distill_texts=48, distill_layers=1, latency_samples=3, selective_keep=2,
                  selective_calibration=4, batch_size=16)


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
    res = run_lab(str(model_dir), ["ort-int8", "prune-layer", "distill+prune-structured+ort-int8"], out,
                  LabOptions(**{**FAST.__dict__, "max_quality_drop": 100.0}))
    assert res.variants[0].name == "fp32"  # the baseline is always added first
    assert all(v.ok for v in res.variants), [v.error for v in res.variants]
    for v in res.variants:
        assert v.energy_j_per_1k >= 0 and v.energy_method in ("measured", "modelled")
        assert v.size_bytes and v.params and v.latency_ms_p95 >= v.latency_ms_p50 > 0
        assert v.co2_g_per_1k >= 0 and v.uses_labels is False
    assert res.variant("fp32").energy_vs_fp32 == pytest.approx(1.0)
    chain = res.variant("distill+prune-structured+ort-int8")
    assert [s["technique"] for s in chain.manifest][:2] == ["distill", "structured"]
    assert res.recommended is not None
    assert res.recommended == min((v for v in res.variants if v.quality_drop <= 100),
                                  key=lambda v: v.energy_j_per_1k).name
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


def test_recommend_picks_cheapest_within_tolerance() -> None:
    rows = [lab.VariantResult("fp32", [], True, quality=86.7, quality_drop=0.0, energy_j_per_1k=10),
            lab.VariantResult("a", [], True, quality=86.3, quality_drop=0.4, energy_j_per_1k=3),
            lab.VariantResult("b", [], True, quality=85.0, quality_drop=1.7, energy_j_per_1k=2),
            lab.VariantResult("c", [], False, error="x")]
    assert lab.recommend(rows, 0.5) == "a"
    assert lab.recommend(rows, 2.0) == "b"
    labelled = lab.VariantResult("ft", [], True, quality=88, quality_drop=-1.3, energy_j_per_1k=1,
                                 uses_labels=True)
    assert lab.recommend([*rows, labelled], 0.5) == "a"


def test_intensity_from_location_or_world_average() -> None:
    from wattwise import grid
    from wattwise.footprint import WORLD_AVERAGE

    fr = lab.resolve_intensity(LabOptions(location="FR"))
    assert fr["g_per_kwh"] == grid.intensity("FR").g_per_kwh and fr["location"] == "FR"
    assert lab.resolve_intensity(LabOptions())["g_per_kwh"] == WORLD_AVERAGE.g_per_kwh
    assert lab.resolve_intensity(LabOptions(intensity_g_per_kwh=12.0))["source"] == "given by the user"
    with pytest.raises(WattwiseError, match="unknown location"):
        lab.resolve_intensity(LabOptions(location="Atlantis"))
