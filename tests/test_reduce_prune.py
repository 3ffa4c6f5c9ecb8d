"""Pruning techniques on tiny random models (seconds)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from wattwise.errors import WattwiseError  # noqa: E402
from wattwise.reduce import prune  # noqa: E402
from wattwise.reduce.models import tiny_causal_lm, tiny_encoder  # noqa: E402


def _ids(n: int = 2, length: int = 7) -> torch.Tensor:
    return torch.randint(100, 1000, (n, length), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_magnitude_is_permanent(scope: str) -> None:
    m = tiny_encoder().model
    info = prune.magnitude(m, 0.4, scope)
    assert info["sparsity"] == pytest.approx(0.4, abs=0.02)
    assert not any("weight_orig" in n for n, _ in m.named_parameters())  # prune.remove made it permanent
    assert not any(mod._forward_pre_hooks for mod in m.modules())
    if scope == "layer":
        for _, lin in prune.prunable_linears(m):
            assert float((lin.weight == 0).float().mean()) == pytest.approx(0.4, abs=0.02)


def test_magnitude_rejects_bad_amount() -> None:
    with pytest.raises(WattwiseError):
        prune.magnitude(tiny_encoder().model, 1.5)


def test_two_four_pattern() -> None:
    m = tiny_encoder().model
    info = prune.semi_structured_24(m)
    for _, lin in prune.prunable_linears(m):
        groups = lin.weight.reshape(-1, 4)
        assert int((groups != 0).sum(1).max()) <= 2
    assert info["sparsity"] == pytest.approx(0.5, abs=0.01)
    if not torch.cuda.is_available():
        assert info["accelerated_layers"] == 0 and "executed dense" in info["note"]


@pytest.mark.parametrize("factory", [tiny_encoder, tiny_causal_lm])
def test_structured_really_shrinks(factory) -> None:
    lm = factory()
    m = lm.model
    ids = _ids()
    before = sum(p.numel() for p in m.parameters())
    info = prune.structured(m, heads=0.5, ffn=0.5)
    after = sum(p.numel() for p in m.parameters())
    assert after < before and info["params_after"] == after
    assert info["heads_kept"] == [2, 2] and all(k == info["ffn_kept"][0] for k in info["ffn_kept"])
    with torch.no_grad():
        out = m(input_ids=ids, attention_mask=torch.ones_like(ids))
    expected = (2, 7, 32) if lm.kind == "encoder" else (2, 7, m.config.vocab_size)
    assert tuple((out.last_hidden_state if lm.kind == "encoder" else out.logits).shape) == expected


def test_restore_shapes_round_trip() -> None:
    lm = tiny_encoder()
    prune.structured(lm.model, heads=0.25, ffn=0.5)
    state = {k: v.clone() for k, v in lm.model.state_dict().items()}
    fresh = tiny_encoder(seed=5).model
    prune.restore_shapes(fresh, state)
    ids = _ids()
    with torch.no_grad():
        a = lm.model(input_ids=ids).last_hidden_state
        b = fresh(input_ids=ids).last_hidden_state
    assert torch.allclose(a, b, atol=1e-5)


def test_structured_variant_reloads_from_disk(tmp_path) -> None:
    from wattwise.reduce.models import load_variant

    lm = tiny_encoder()
    prune.structured(lm.model, heads=0.5, ffn=0.5)
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    again = load_variant(tmp_path)
    ids = _ids()
    with torch.no_grad():
        assert torch.allclose(lm.model(input_ids=ids).last_hidden_state,
                              again.model(input_ids=ids).last_hidden_state, atol=1e-5)
