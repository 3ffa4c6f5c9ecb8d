"""Quantization techniques (torch side) on tiny random models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")

from wattwise.errors import WattwiseError  # noqa: E402
from wattwise.reduce import quantize  # noqa: E402
from wattwise.reduce.models import tiny_encoder  # noqa: E402


def _out(m, ids):
    with torch.no_grad():
        return m(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.float()


@pytest.fixture
def ids() -> torch.Tensor:
    return torch.randint(100, 1000, (2, 9), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("scheme", ["int8-dynamic", "int8-weight", "int4-weight"])
def test_torchao_schemes(scheme: str, ids: torch.Tensor) -> None:
    base = tiny_encoder()
    ref = _out(base.model, ids)
    q = base.clone()
    info = quantize.torchao(q.model, scheme, skip=["encoder.layer.0.attention.self.query"])
    got = _out(q.model, ids)
    assert info["scheme"] == scheme
    cos = torch.nn.functional.cosine_similarity(got.flatten(1), ref.flatten(1)).min()
    assert cos > 0.95
    # the skipped layer keeps a plain float weight
    assert type(q.model.encoder.layer[0].attention.self.query.weight.data) is torch.Tensor


def test_unknown_scheme() -> None:
    with pytest.raises(WattwiseError, match="unknown torchao scheme"):
        quantize.torchao(tiny_encoder().model, "int3")


def test_half_and_legacy(ids: torch.Tensor) -> None:
    base = tiny_encoder()
    ref = _out(base.model, ids)
    b = base.clone()
    quantize.half(b.model, "bf16")
    assert next(b.model.parameters()).dtype == torch.bfloat16
    assert torch.allclose(_out(b.model, ids), ref, atol=0.1)
    legacy = base.clone()
    from wattwise.reduce.models import count_params

    info = quantize.legacy_dynamic_int8(legacy.model)
    assert count_params(legacy.model) == count_params(base.model)  # packed weights are counted
    assert info["deprecated"] is True
    assert torch.allclose(_out(legacy.model, ids), ref, atol=0.2)


def test_sensitivity_ranks_every_linear(ids: torch.Tensor) -> None:
    m = tiny_encoder().model

    def embed(model):
        return model(input_ids=ids).last_hidden_state.mean(1)

    scores = quantize.sensitivity(m, embed)
    linears = [n for n, x in m.named_modules() if isinstance(x, torch.nn.Linear)]
    assert set(scores) == set(linears)
    assert all(s >= -1e-6 for s in scores.values())
    top = quantize.most_sensitive(scores, 3)
    assert len(top) == 3 and scores[top[0]] == max(scores.values())


def test_gpt2_conv1d_layers_are_quantized() -> None:
    from wattwise.reduce.models import tiny_causal_lm

    base = tiny_causal_lm()
    x = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = base.model(input_ids=x).logits
    lin = base.clone()
    names = quantize.linearize(lin.model)
    assert len(names) == 4 * 2 and all(isinstance(lin.model.get_submodule(n), torch.nn.Linear) for n in names)
    with torch.no_grad():
        assert torch.allclose(lin.model(input_ids=x).logits, ref, atol=1e-5)
    q = base.clone()
    info = quantize.torchao(q.model, "int8-weight")
    assert info["conv1d_to_linear"] == 8
    weight = q.model.transformer.h[0].mlp.c_fc.weight
    assert type(weight) is not torch.nn.Parameter or type(weight.data) is not torch.Tensor  # torchao subclass
    with torch.no_grad():
        got = q.model(input_ids=x).logits
    assert torch.nn.functional.cosine_similarity(got.flatten(1), ref.flatten(1)).min() > 0.95
