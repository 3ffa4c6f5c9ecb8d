"""Training and inference FLOPs of transformer language models.

Training: 6·N·D (forward 2 + backward 4 FLOPs per parameter and token; Kaplan et al. 2020), plus the
attention term 6·2·n_layers·seq_len·d_model per token when layers, sequence length and width are given
(Kaplan et al. 2020, Table 1: 2·n_layer·n_ctx·d_attn forward FLOPs per token). MoE models use active
parameters. Encoder-decoder models (T5) see about half their parameters per token: an encoder-decoder with
2N parameters costs about as much as a decoder-only model with N (Raffel et al. 2020, section 3.2.2).
"""

from __future__ import annotations

from wattwise.errors import WattwiseError

ARCHITECTURES = ("decoder", "encoder-decoder")


def params_per_token(
    params: float, active_params: float | None = None, architecture: str = "decoder"
) -> float:
    """Parameters that touch each token."""
    if architecture not in ARCHITECTURES:
        raise WattwiseError(
            f"unknown architecture {architecture!r}", f"choose one of: {', '.join(ARCHITECTURES)}"
        )
    n = active_params if active_params else params
    if active_params and active_params > params:
        raise WattwiseError(
            f"active parameters ({active_params:.3g}) exceed total parameters ({params:.3g})",
            "for MoE models give --active-params smaller than --params",
        )
    return n / 2 if architecture == "encoder-decoder" else n


def attention_flops_per_token(n_layers: int | None, seq_len: int | None, d_model: int | None) -> float:
    """Forward attention-score FLOPs per token (2·n_layers·seq_len·d_model); 0 unless all three are given."""
    if not (n_layers and seq_len and d_model):
        return 0.0
    for name, v in (("layers", n_layers), ("sequence length", seq_len), ("model width", d_model)):
        if v <= 0:
            raise WattwiseError(f"{name} must be greater than zero, got {v}")
    return 2.0 * n_layers * seq_len * d_model


def training_flops(
    params: float,
    tokens: float,
    *,
    active_params: float | None = None,
    architecture: str = "decoder",
    n_layers: int | None = None,
    seq_len: int | None = None,
    d_model: int | None = None,
    flops_per_param_token: float = 6.0,
) -> float:
    """Total training FLOPs: flops_per_param_token·N·D (+ 3x forward attention FLOPs per token)."""
    n = params_per_token(params, active_params, architecture)
    attn = attention_flops_per_token(n_layers, seq_len, d_model)
    return flops_per_param_token * n * tokens + 3.0 * attn * tokens


def inference_flops_per_token(
    params: float, active_params: float | None = None, architecture: str = "decoder"
) -> float:
    """Forward FLOPs per generated/processed token: 2·N (active parameters for MoE)."""
    return 2.0 * params_per_token(params, active_params, architecture)
