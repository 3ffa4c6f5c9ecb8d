"""ONNX export and ONNX Runtime paths: fp32 export, graph optimisation (fusion), dynamic int8 (optionally
per channel, optionally keeping named layers in fp32), and runners that execute the files.

The exported encoder graph includes mean pooling, so the ``.onnx`` file alone turns token ids into sentence
embeddings: that file is the edge export.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wattwise.errors import WattwiseError


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise WattwiseError(
            "ONNX paths need the packages onnx and onnxruntime", "pip install 'wattwise[ml]'"
        ) from exc


class _PooledEncoder(nn.Module):
    def __init__(self, model: nn.Module, with_types: bool) -> None:
        super().__init__()
        self.m = model
        self.with_types = with_types

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kw = {"token_type_ids": token_type_ids} if self.with_types else {}
        h = self.m(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class _Logits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


def export(model: nn.Module, tokenizer: Any, kind: str, path: Path) -> dict[str, Any]:
    """Export a float model to ``path`` (TorchScript-based exporter, opset 17, dynamic batch and length)."""
    _require_onnx()
    from wattwise.reduce.models import context_length

    sample = tokenizer(
        ["a short sentence", "and a somewhat longer second sentence"],
        padding=True,
        truncation=True,
        max_length=min(16, context_length(model) or 16),  # lengths are dynamic axes: any short sample does
        return_tensors="pt",
    )
    if kind == "encoder":
        names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
        wrapper: nn.Module = _PooledEncoder(model, "token_type_ids" in names)
        out_name = "embedding"
    else:
        names = ["input_ids", "attention_mask"]
        wrapper = _Logits(model)
        out_name = "logits"
    args = tuple(sample[k] for k in names)
    axes = {k: {0: "batch", 1: "length"} for k in names}
    axes[out_name] = {0: "batch"} if kind == "encoder" else {0: "batch", 1: "length"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper.eval(),
            args,
            str(path),
            input_names=names,
            output_names=[out_name],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return {"technique": "onnx-export", "opset": 17, "inputs": names, "output": out_name}


def optimize(src: Path, dst: Path, model: nn.Module | None = None) -> dict[str, Any]:
    """Graph optimisation: ONNX Runtime's transformer optimizer (attention, LayerNorm, GELU fusion) for
    BERT/GPT-2 graphs, else the session-level ORT_ENABLE_ALL optimisation saved to ``dst``."""
    _require_onnx()
    mtype = str(getattr(getattr(model, "config", None), "model_type", ""))
    if mtype in ("bert", "gpt2"):
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = optimize_model(str(src), model_type=mtype, num_heads=0, hidden_size=0, opt_level=1)
            opt.save_model_to_file(str(dst))
        fused = {k: v for k, v in (opt.get_fused_operator_statistics() or {}).items() if v}
        return {"technique": "ort-transformer-optimizer", "model_type": mtype, "fused_ops": fused}
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    return {"technique": "ort-graph-optimization", "level": "ORT_ENABLE_ALL"}


def _norm(s: str) -> str:
    return "|" + s.replace("/", "|").replace(".", "|") + "|"


def nodes_for_modules(path: Path, modules: list[str]) -> list[str]:
    """ONNX MatMul/Gemm node names that belong to the given torch module names."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    wanted = [_norm(m) for m in modules]
    return [
        n.name
        for n in graph.node
        if n.op_type in ("MatMul", "Gemm") and any(w in _norm(n.name) for w in wanted)
    ]


def quantize_int8(
    src: Path, dst: Path, per_channel: bool = True, keep_fp32: list[str] | None = None
) -> dict[str, Any]:
    """ONNX Runtime dynamic int8 (int8 weights, activations quantized at run time; per-channel weights by
    default). ``keep_fp32``: torch module names whose MatMuls stay in fp32 (selective quantization)."""
    _require_onnx()
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    exclude = nodes_for_modules(src, keep_fp32) if keep_fp32 else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            nodes_to_exclude=exclude,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return {
        "technique": "ort-dynamic-int8",
        "weight_type": "QInt8",
        "per_channel": per_channel,
        "kept_fp32_modules": keep_fp32 or [],
        "kept_fp32_nodes": len(exclude),
    }


def session(path: Path, threads: int | None = None) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    # no busy-waiting between ops: spinning threads burn energy (and CPU time) without doing work
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OrtEncoder:
    """Runs an exported encoder: token ids in, mean-pooled embeddings out."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self.sess = session(path, threads)
        self.inputs = [i.name for i in self.sess.get_inputs()]

    def __call__(self, batch: dict[str, Any]) -> np.ndarray:
        feed = {k: np.asarray(batch[k], dtype=np.int64) for k in self.inputs}
        return self.sess.run(None, feed)[0]


class OrtCausalLM:
    """Runs an exported causal LM (no KV cache): token ids in, logits out."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self.sess = session(path, threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.sess.run(
            None, {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        )[0]


def file_size(path: Path) -> int:
    """Bytes of an ONNX file plus its external data, if any."""
    total = path.stat().st_size
    data = Path(str(path) + ".data")
    if data.exists():
        total += data.stat().st_size
    return total


os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
