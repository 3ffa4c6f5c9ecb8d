"""Pruning: unstructured magnitude (per layer / global, made permanent), 2:4 semi-structured, and structured
removal of attention heads and FFN neurons (the model really gets smaller).

All functions change the model they are given in place (the lab always hands them a copy) and return a dict
of the parameters and effects, which goes into the variant's manifest.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wattwise.errors import WattwiseError


def _check_amount(amount: float, what: str = "amount") -> None:
    if not 0.0 <= amount < 1.0:
        raise WattwiseError(f"pruning {what} must be in [0, 1), got {amount}")


def prunable_linears(model: nn.Module) -> list[tuple[str, Any]]:
    """Linear-like layers (``nn.Linear``, GPT-2's ``Conv1D``) inside the transformer blocks (embeddings and LM
    heads are left alone)."""
    from transformers.pytorch_utils import Conv1D

    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Linear, Conv1D)) and not any(
            k in name for k in ("lm_head", "embed", "pooler")
        ):
            out.append((name, mod))
    if not out:
        raise WattwiseError("no Linear layers to prune in this model")
    return out


def sparsity(model: nn.Module) -> float:
    """Share of zero weights over the prunable layers."""
    zeros = total = 0
    for _, mod in prunable_linears(model):
        w = mod.weight.detach()
        zeros += int((w == 0).sum())
        total += w.numel()
    return zeros / total if total else 0.0


def magnitude(model: nn.Module, amount: float = 0.3, scope: str = "layer") -> dict[str, Any]:
    """Zero the ``amount`` smallest-magnitude weights per layer (``scope='layer'``) or over all layers
    (``'global'``) with ``torch.nn.utils.prune``, then make it permanent (``prune.remove``)."""
    import torch.nn.utils.prune as tprune

    _check_amount(amount)
    if scope not in ("layer", "global"):
        from wattwise.errors import unknown

        raise unknown("pruning scope", scope, ["layer", "global"])
    layers = prunable_linears(model)
    if scope == "global":
        tprune.global_unstructured(
            [(m, "weight") for _, m in layers], pruning_method=tprune.L1Unstructured, amount=amount
        )
    else:
        for _, m in layers:
            tprune.l1_unstructured(m, "weight", amount=amount)
    for _, m in layers:
        tprune.remove(m, "weight")
    return {
        "technique": "magnitude",
        "scope": scope,
        "amount": amount,
        "layers": len(layers),
        "sparsity": round(sparsity(model), 4),
        "note": "zeros are stored densely: size and speed change only with a sparse format or runtime",
    }


def semi_structured_24(model: nn.Module, accelerate: bool = True) -> dict[str, Any]:
    """2:4 pattern: in every group of 4 input weights keep the 2 largest. Accelerated only with a CUDA
    semi-structured sparse kernel (``torch.sparse.to_sparse_semi_structured``); elsewhere the pattern is
    applied densely and the manifest says so."""
    layers = prunable_linears(model)
    accelerated = 0
    for _, m in layers:
        w = m.weight.data
        if w.shape[-1] % 4:
            continue
        groups = w.reshape(-1, 4)
        idx = groups.abs().topk(2, dim=1).indices
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, idx, True)
        m.weight.data = (groups * mask).reshape(w.shape)
    can = accelerate and torch.cuda.is_available() and next(model.parameters()).is_cuda
    if can:
        from torch.sparse import to_sparse_semi_structured

        for _, m in layers:
            if isinstance(m, nn.Linear) and m.weight.dtype in (torch.float16, torch.bfloat16):
                try:
                    m.weight = nn.Parameter(to_sparse_semi_structured(m.weight))
                    accelerated += 1
                except (RuntimeError, ValueError):
                    pass
    note = (
        f"{accelerated} layers use the CUDA 2:4 kernel"
        if accelerated
        else "no 2:4 sparse kernel for this device (CUDA fp16/bf16 only): pattern applied, executed dense"
    )
    return {
        "technique": "2:4",
        "layers": len(layers),
        "accelerated_layers": accelerated,
        "sparsity": round(sparsity(model), 4),
        "note": note,
    }


# ----------------------------------------------------------------------------------------------- structured


def _blocks(model: nn.Module) -> tuple[str, list[nn.Module]]:
    """The transformer blocks and their family (``bert`` or ``gpt2``)."""
    base: Any = getattr(model, "base_model", model)  # a Hugging Face model: attributes by architecture
    enc = getattr(base, "encoder", None)
    if enc is not None and hasattr(enc, "layer"):
        return "bert", list(enc.layer)
    if hasattr(base, "h"):
        return "gpt2", list(base.h)
    raise WattwiseError(
        f"structured pruning supports BERT-like encoders and GPT-2-like LMs, not {type(model).__name__}",
        "use magnitude pruning or quantization for this model",
    )


def _keep(scores: torch.Tensor, n_keep: int) -> torch.Tensor:
    return scores.topk(n_keep).indices.sort().values


def _slice_linear(lin: nn.Linear, idx: torch.Tensor, dim: int) -> nn.Linear:
    """A new Linear keeping ``idx`` of the output (dim 0) or input (dim 1) features."""
    w = lin.weight.data.index_select(dim, idx).clone()
    bias = lin.bias is not None
    new = nn.Linear(w.shape[1], w.shape[0], bias=bias, dtype=w.dtype, device=w.device)
    new.weight.data = w
    if bias:
        new.bias.data = (lin.bias.data.index_select(0, idx) if dim == 0 else lin.bias.data).clone()
    return new


def _slice_conv1d(conv: Any, idx: torch.Tensor, dim: int) -> nn.Module:
    """GPT-2 Conv1D stores weight as (in, out): ``dim`` 0 here means output features."""
    from transformers.pytorch_utils import Conv1D

    w = conv.weight.data.index_select(1 - dim, idx).clone()
    new = Conv1D(w.shape[1], w.shape[0])
    new.weight.data = w
    new.bias.data = (conv.bias.data.index_select(0, idx) if dim == 0 else conv.bias.data).clone()
    return new


def _prune_bert_block(block: Any, head_frac: float, ffn_frac: float) -> tuple[int, int]:
    att = block.attention.self
    out = block.attention.output.dense
    hd = att.attention_head_size
    n_heads = att.num_attention_heads
    n_keep_h = max(1, round(n_heads * (1 - head_frac)))
    if n_keep_h < n_heads:
        score = sum(
            getattr(att, k).weight.data.reshape(n_heads, hd, -1).pow(2).sum((1, 2))
            for k in ("query", "key", "value")
        ) + out.weight.data.reshape(-1, n_heads, hd).pow(2).sum((0, 2))
        heads = _keep(score, n_keep_h)
        idx = (heads[:, None] * hd + torch.arange(hd)).reshape(-1)
        for k in ("query", "key", "value"):
            setattr(att, k, _slice_linear(getattr(att, k), idx, 0))
        block.attention.output.dense = _slice_linear(out, idx, 1)
        att.num_attention_heads = n_keep_h
        att.all_head_size = n_keep_h * hd
    up, down = block.intermediate.dense, block.output.dense
    n_ffn = up.out_features
    n_keep_f = max(1, round(n_ffn * (1 - ffn_frac)))
    if n_keep_f < n_ffn:
        score = up.weight.data.norm(dim=1) * down.weight.data.norm(dim=0)
        idx = _keep(score, n_keep_f)
        block.intermediate.dense = _slice_linear(up, idx, 0)
        block.output.dense = _slice_linear(down, idx, 1)
    return n_keep_h, n_keep_f


def _prune_gpt2_block(block: Any, head_frac: float, ffn_frac: float) -> tuple[int, int]:
    att = block.attn
    n_heads, hd = att.num_heads, att.head_dim
    n_keep_h = max(1, round(n_heads * (1 - head_frac)))
    if n_keep_h < n_heads:
        e = att.embed_dim
        w = att.c_attn.weight.data  # (embed, 3*embed): q | k | v
        q, k, v = w[:, :e], w[:, e : 2 * e], w[:, 2 * e :]
        score = sum(x.reshape(-1, n_heads, hd).pow(2).sum((0, 2)) for x in (q, k, v))
        score = score + att.c_proj.weight.data.reshape(n_heads, hd, -1).pow(2).sum((1, 2))
        heads = _keep(score, n_keep_h)
        idx = (heads[:, None] * hd + torch.arange(hd)).reshape(-1)
        qkv_idx = torch.cat([idx, idx + e, idx + 2 * e])
        att.c_attn = _slice_conv1d(att.c_attn, qkv_idx, 0)
        att.c_proj = _slice_conv1d(att.c_proj, idx, 1)
        att.num_heads = n_keep_h
        att.split_size = n_keep_h * hd
    up, down = block.mlp.c_fc, block.mlp.c_proj
    n_ffn = up.weight.shape[1]
    n_keep_f = max(1, round(n_ffn * (1 - ffn_frac)))
    if n_keep_f < n_ffn:
        score = up.weight.data.norm(dim=0) * down.weight.data.norm(dim=1)
        idx = _keep(score, n_keep_f)
        block.mlp.c_fc = _slice_conv1d(up, idx, 0)
        block.mlp.c_proj = _slice_conv1d(down, idx, 1)
    return n_keep_h, n_keep_f


def structured(model: nn.Module, heads: float = 0.25, ffn: float = 0.25) -> dict[str, Any]:
    """Remove the ``heads`` share of attention heads and the ``ffn`` share of FFN neurons in every block,
    ranked by weight magnitude (no data needed). The matrices shrink: fewer parameters, less work."""
    _check_amount(heads, "heads share")
    _check_amount(ffn, "ffn share")
    family, blocks = _blocks(model)
    before = sum(p.numel() for p in model.parameters())
    fn = _prune_bert_block if family == "bert" else _prune_gpt2_block
    kept = [fn(b, heads, ffn) for b in blocks]
    after = sum(p.numel() for p in model.parameters())
    return {
        "technique": "structured",
        "family": family,
        "heads_share": heads,
        "ffn_share": ffn,
        "heads_kept": [k[0] for k in kept],
        "ffn_kept": [k[1] for k in kept],
        "params_before": before,
        "params_after": after,
    }


def restore_shapes(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Shrink ``model``'s layers to the shapes in ``state`` (structurally pruned checkpoint), then load."""
    from transformers.pytorch_utils import Conv1D

    mods: dict[str, Any] = dict(model.named_modules())
    mod: Any  # Hugging Face modules: attributes by architecture
    new: nn.Module
    for key, t in state.items():
        if not key.endswith(".weight"):
            continue
        name = key[: -len(".weight")]
        mod = mods.get(name)
        if mod is None or tuple(mod.weight.shape) == tuple(t.shape):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = mods[parent_name] if parent_name else model
        if isinstance(mod, Conv1D):
            new = Conv1D(t.shape[1], t.shape[0])
        else:
            new = nn.Linear(t.shape[1], t.shape[0], bias=mod.bias is not None)
        setattr(parent, child, new)
    for mod in model.modules():
        if hasattr(mod, "attention_head_size") and hasattr(mod, "query"):
            mod.num_attention_heads = mod.query.out_features // mod.attention_head_size
            mod.all_head_size = mod.query.out_features
        if hasattr(mod, "c_attn") and hasattr(mod, "head_dim"):
            mod.num_heads = mod.c_attn.weight.shape[1] // 3 // mod.head_dim
            mod.split_size = mod.num_heads * mod.head_dim
    model.load_state_dict(state, strict=False)
