"""ONNX export, graph optimisation and ONNX Runtime int8 (full and selective) on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from wattwise.reduce import evaluate, onnx_export  # noqa: E402
from wattwise.reduce.models import tiny_causal_lm, tiny_encoder  # noqa: E402

SENTS = ["a man is playing a guitar", "the cat sleeps", "two dogs run across a wide green field today"]


@pytest.fixture(scope="module")
def enc():
    return tiny_encoder(hidden=64, ffn=128)


@pytest.fixture(scope="module")
def exported(enc, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    onnx_export.export(enc.model, enc.tokenizer, "encoder", path)
    return path


def _ref(enc) -> np.ndarray:
    batch = dict(enc.tokenizer(SENTS, padding=True, return_tensors="np"))
    return evaluate.torch_encoder_fn(enc.model)(batch), batch


def test_export_matches_torch(enc, exported) -> None:
    ref, batch = _ref(enc)
    got = onnx_export.OrtEncoder(exported)(batch)
    assert np.allclose(got, ref, atol=1e-4)


def test_fusion(enc, exported, tmp_path) -> None:
    dst = tmp_path / "fused.onnx"
    info = onnx_export.optimize(exported, dst, enc.model)
    assert info["technique"] == "ort-transformer-optimizer"
    ref, batch = _ref(enc)
    assert np.allclose(onnx_export.OrtEncoder(dst)(batch), ref, atol=1e-3)


def test_int8_and_selective(enc, exported, tmp_path) -> None:
    ref, batch = _ref(enc)
    full = tmp_path / "int8.onnx"
    info = onnx_export.quantize_int8(exported, full)
    assert info["per_channel"] and info["kept_fp32_nodes"] == 0
    assert onnx_export.file_size(full) < onnx_export.file_size(exported) / 2
    got = onnx_export.OrtEncoder(full)(batch)
    assert evaluate.cosine_rows(got, ref).min() > 0.9
    keep = ["encoder.layer.0.output.dense", "encoder.layer.1.intermediate.dense"]
    sel = tmp_path / "sel.onnx"
    info = onnx_export.quantize_int8(exported, sel, keep_fp32=keep)
    assert info["kept_fp32_nodes"] == 2
    import onnx

    kept = [n for n in onnx.load(str(sel)).graph.node if n.op_type == "MatMul"]
    assert len(kept) >= 2  # the excluded layers stay float MatMuls


def test_causal_lm_export(tmp_path) -> None:
    lm = tiny_causal_lm()
    path = tmp_path / "lm.onnx"
    onnx_export.export(lm.model, lm.tokenizer, "causal-lm", path)
    ids = np.random.default_rng(0).integers(100, 1000, (2, 12))
    mask = np.ones_like(ids)
    got = onnx_export.OrtCausalLM(path)(ids, mask)
    ref = evaluate.torch_lm_fn(lm.model)(ids, mask)
    assert np.allclose(got, ref, atol=1e-3)
