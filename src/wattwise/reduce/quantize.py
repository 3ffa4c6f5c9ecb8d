"""Quantization in PyTorch: torchao dynamic int8 and weight-only int8/int4, fp16/bf16, the deprecated
``torch.ao`` dynamic int8 (kept only as a measured comparison), and a label-free sensitivity ranking used to
keep the most sensitive layers in higher precision (selective quantization).

ONNX Runtime int8 lives in :mod:`wattwise.reduce.onnx_export`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from wattwise.errors import WattwiseError

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def linearize(model: nn.Module) -> list[str]:
    """Replace transformers' ``Conv1D`` layers (GPT-2 family; weight stored as ``(in, out)``) by equal
    ``nn.Linear`` layers, in place, so that Linear-only quantizers reach them. Returns the replaced names."""
    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # pragma: no cover - transformers is part of the ml extra
        return []
    done = []
    for name, mod in list(model.named_modules()):
        if not isinstance(mod, Conv1D):
            continue
        w = mod.weight.data
        lin = nn.Linear(w.shape[0], w.shape[1], bias=mod.bias is not None, device=w.device, dtype=w.dtype)
        lin.weight.data = w.t().contiguous()
        if mod.bias is not None:
            lin.bias.data = mod.bias.data.clone()
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, lin)
        done.append(name)
    return done


def _linear_filter(skip: set[str]) -> Callable[[nn.Module, str], bool]:
    def keep(mod: nn.Module, fqn: str) -> bool:
        return isinstance(mod, nn.Linear) and fqn not in skip and "lm_head" not in fqn

    return keep


def torchao(
    model: nn.Module, scheme: str = "int8-dynamic", skip: list[str] | None = None, group_size: int = 32
) -> dict[str, Any]:
    """torchao ``quantize_`` on Linear layers: ``int8-dynamic`` (int8 activations and weights),
    ``int8-weight`` (weight-only int8) or ``int4-weight`` (weight-only int4, groups of ``group_size``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.quantization import (
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
            IntxWeightOnlyConfig,
            quantize_,
        )
        from torchao.quantization.granularity import PerGroup

    configs: dict[str, Callable[[], Any]] = {
        "int8-dynamic": Int8DynamicActivationInt8WeightConfig,
        "int8-weight": Int8WeightOnlyConfig,
        "int4-weight": lambda: IntxWeightOnlyConfig(
            weight_dtype=torch.int4, granularity=PerGroup(group_size)  # type: ignore[attr-defined]  # not in the stubs
        ),
    }
    if scheme not in configs:
        from wattwise.errors import unknown

        raise unknown("torchao scheme", scheme, list(configs))
    skipped = set(skip or [])
    converted = linearize(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_(model, configs[scheme](), filter_fn=_linear_filter(skipped))
    info: dict[str, Any] = {"technique": "torchao", "scheme": scheme, "kept_fp32": sorted(skipped)}
    if converted:
        info["conv1d_to_linear"] = len(converted)
    if scheme == "int4-weight":
        info["group_size"] = group_size
        info["layout"] = "IntxWeightOnlyConfig(int4, PerGroup) (Int4WeightOnlyConfig needs mslk/CUDA)"
    return info


def legacy_dynamic_int8(model: nn.Module) -> dict[str, Any]:
    """``torch.ao.quantization.quantize_dynamic`` (deprecated in torch; a comparison point only)."""
    converted = linearize(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
    assert q is model
    info: dict[str, Any] = {"technique": "torch.ao.quantize_dynamic", "dtype": "qint8", "deprecated": True}
    if converted:
        info["conv1d_to_linear"] = len(converted)
    return info


def half(model: nn.Module, dtype: str = "bf16") -> dict[str, Any]:
    """Cast all weights to fp16 or bf16 (inputs are cast by the evaluator; outputs back to fp32)."""
    if dtype not in DTYPES:
        from wattwise.errors import unknown

        raise unknown("precision", dtype, list(DTYPES))
    model.to(DTYPES[dtype])
    return {"technique": "cast", "dtype": dtype}


def fake_int8(t: torch.Tensor, per_channel_dim: int | None = None) -> torch.Tensor:
    """Symmetric int8 quantize-dequantize, per tensor or per channel along ``per_channel_dim``."""
    if per_channel_dim is None:
        scale = t.abs().amax().clamp(min=1e-8) / 127
    else:
        dims = [d for d in range(t.dim()) if d != per_channel_dim]
        scale = t.abs().amax(dim=dims, keepdim=True).clamp(min=1e-8) / 127
    return (t / scale).round().clamp(-127, 127) * scale


def fake_uint8(t: torch.Tensor) -> torch.Tensor:
    """Asymmetric uint8 quantize-dequantize per tensor over a range that includes zero (ONNX Runtime's
    ``DynamicQuantizeLinear``: how its dynamic int8 rounds activations at run time)."""
    lo, hi = t.min().clamp(max=0), t.max().clamp(min=0)
    scale = ((hi - lo) / 255).clamp(min=1e-8)
    zero = (-lo / scale).round()
    return ((t / scale).round() + zero).clamp(0, 255).sub(zero) * scale


def sensitivity(
    model: nn.Module, embed: Callable[[nn.Module], torch.Tensor], layers: list[str] | None = None
) -> dict[str, float]:
    """Label-free sensitivity of each Linear to int8: simulate int8 activations and weights in that layer
    alone and measure how far the model's outputs move (1 - mean cosine against the fp32 outputs).
    ``embed(model)`` returns the outputs for a fixed batch of unlabelled inputs. GPT-2 style ``Conv1D``
    layers are turned into ``nn.Linear`` first (:func:`linearize`; same names, same outputs)."""
    linearize(model)
    mods = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear) and "lm_head" not in n}
    if layers is not None:
        mods = {n: mods[n] for n in layers if n in mods}
    if not mods:
        raise WattwiseError("no Linear layers to rank for selective quantization")
    with torch.inference_mode():
        ref = embed(model).float()
        out: dict[str, float] = {}
        for name, mod in mods.items():
            w = mod.weight.data
            mod.weight.data = fake_int8(w, 0)
            handle = mod.register_forward_pre_hook(lambda _m, args: (fake_int8(args[0]),))
            try:
                got = embed(model).float()
            finally:
                handle.remove()
                mod.weight.data = w
            cos = torch.nn.functional.cosine_similarity(got, ref, dim=-1).mean().item()
            out[name] = 1.0 - cos
    return out


def most_sensitive(scores: dict[str, float], keep: int) -> list[str]:
    return [n for n, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:keep]]
