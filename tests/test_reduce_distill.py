"""Distillation on unlabelled text (tiny models, a few steps)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from wattwise.errors import WattwiseError  # noqa: E402
from wattwise.reduce import data, distill  # noqa: E402
from wattwise.reduce.models import tiny_causal_lm, tiny_encoder  # noqa: E402


def test_pick_layers() -> None:
    assert distill.pick_layers(6, 3) == [1, 3, 5]
    assert distill.pick_layers(12, 4)[-1] == 11
    with pytest.raises(WattwiseError):
        distill.pick_layers(6, 6)


def test_encoder_student_learns_teacher_embeddings() -> None:
    teacher = tiny_encoder(layers=4)
    texts, src = data.unlabelled_sentences(limit=96)
    assert src.endswith("stsb-en-train-sentences.txt")
    w_before = teacher.model.embeddings.word_embeddings.weight.clone()
    student, info = distill.distill_encoder(teacher, texts, layers=2, epochs=2, batch_size=16, lr=5e-4)
    assert len(student.encoder.layer) == 2 and student.config.num_hidden_layers == 2
    assert info["init_from_teacher_layers"] == [1, 3] and info["labels_used"] is False
    assert info["final_loss"] is not None and info["final_loss"] < 2.0
    assert torch.equal(teacher.model.embeddings.word_embeddings.weight, w_before)  # teacher untouched
    assert len(teacher.model.encoder.layer) == 4


def test_lm_student() -> None:
    teacher = tiny_causal_lm(layers=2)
    text = " ".join(data.unlabelled_sentences(limit=200)[0])
    student, info = distill.distill_lm(teacher, text, layers=1, steps=3, seq_len=16, batch_size=2)
    assert len(student.transformer.h) == 1 and info["steps"] == 3
    ids = torch.randint(100, 1000, (1, 8))
    assert student(input_ids=ids).logits.shape == (1, 8, teacher.model.config.vocab_size)


def test_slim_student_is_narrowed_before_its_training() -> None:
    teacher = tiny_encoder(layers=4)
    texts, _ = data.unlabelled_sentences(limit=64)
    full, _ = distill.distill_encoder(teacher, texts, layers=2, epochs=1, batch_size=16)
    slim, info = distill.distill_encoder(teacher, texts, layers=2, epochs=1, batch_size=16, slim=(0.5, 0.5))
    narrowed = info["narrowed_before_training"]
    assert narrowed["heads_share"] == 0.5 and narrowed["ffn_share"] == 0.5
    heads = teacher.model.config.num_attention_heads
    ffn = teacher.model.config.intermediate_size
    for blk in slim.encoder.layer:
        assert blk.attention.self.num_attention_heads == heads // 2
        assert blk.intermediate.dense.out_features == ffn // 2
    assert sum(p.numel() for p in slim.parameters()) < sum(p.numel() for p in full.parameters())
    assert info["final_loss"] is not None and info["labels_used"] is False
    enc = teacher.tokenizer(texts[:3], padding=True, return_tensors="pt")
    with torch.no_grad():  # it runs, and its output keeps the teacher's width
        out = slim(**enc).last_hidden_state
    assert out.shape[-1] == teacher.model.config.hidden_size


def test_slim_lm_student() -> None:
    teacher = tiny_causal_lm(layers=2)
    text = " ".join(data.unlabelled_sentences(limit=200)[0])
    student, info = distill.distill_lm(teacher, text, layers=1, steps=2, seq_len=16, batch_size=2, slim=(0.5, 0.5))
    assert student.transformer.h[0].attn.num_heads == teacher.model.config.n_head // 2
    assert info["narrowed_before_training"]["family"] == "gpt2"


def test_token_state_loss_is_zero_only_for_the_teacher_itself() -> None:
    teacher = tiny_encoder(layers=4)
    texts, _ = data.unlabelled_sentences(limit=8)
    chosen = [0, 1, 2, 3]
    (tgt,) = distill._teacher_targets(teacher, texts, [list(range(8))], chosen, 64)
    enc = distill._tokenize(teacher.tokenizer, texts, list(range(8)), 64)
    with torch.no_grad():
        res = teacher.model(**enc, output_hidden_states=True)
        same = distill._encoder_loss(res, enc["attention_mask"], tgt, hidden_weight=1.0)
        res.hidden_states[2].add_(0.5)  # one block's token states off: only the token-state term sees it
        off = distill._encoder_loss(res, enc["attention_mask"], tgt, hidden_weight=1.0)
        pooled_only = distill._encoder_loss(res, enc["attention_mask"], tgt, hidden_weight=0.0)
    (no_states,) = distill._teacher_targets(teacher, texts, [list(range(8))], None, 64)
    assert no_states[1] == [] and torch.allclose(no_states[0], tgt[0])  # weight 0: no token states kept
    assert float(same) == pytest.approx(0.0, abs=1e-3)  # float16 targets
    assert float(off) > 0.01 and float(pooled_only) == pytest.approx(0.0, abs=1e-3)


def test_similarity_loss_sees_a_change_in_the_batch_geometry_only() -> None:
    pooled = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)

    class Res:  # a model output whose mean pool (all-ones mask) is ``emb``
        def __init__(self, emb: torch.Tensor) -> None:
            self.last_hidden_state = emb.unsqueeze(1)

    mask = torch.ones(6, 1, dtype=torch.long)
    scaled = distill._encoder_loss(Res(pooled * 1.5), mask, (pooled, []), 0.0, sim_weight=0.0)
    scaled_sim = distill._encoder_loss(Res(pooled * 1.5), mask, (pooled, []), 0.0, sim_weight=10.0)
    assert float(scaled_sim) == pytest.approx(float(scaled), abs=1e-5)  # same directions: same similarities
    swapped = pooled[[1, 0, 2, 3, 4, 5]]  # rows swapped: the pairwise similarities move
    assert float(distill._encoder_loss(Res(swapped), mask, (pooled, []), 0.0, sim_weight=10.0)) > float(
        distill._encoder_loss(Res(swapped), mask, (pooled, []), 0.0, sim_weight=0.0))


def test_augmented_text_keeps_the_originals_and_adds_edited_copies() -> None:
    texts = ["A man is playing a large flute.", "A cat sits.", "Hi there", "Hi there"]
    out = data.augmented(texts, copies=3, seed=1)
    assert out[:3] == ["A man is playing a large flute.", "A cat sits.", "Hi there"]  # order kept, no duplicates
    extra = out[3:]
    assert extra and len(set(out)) == len(out)
    vocab = set(" ".join(texts).split())
    assert all(len(e.split()) >= 2 and set(e.split()) <= vocab for e in extra)  # edits of the words it had
    assert data.augmented(texts, copies=3, seed=1) == out  # seeded
    assert data.augmented(texts, copies=0) == texts[:3]


def test_fake_int8_rounds_like_the_runtime_and_passes_gradients() -> None:
    w = torch.tensor([[0.5, -1.0, 0.25], [2.0, 0.1, -0.3]], requires_grad=True)
    q = distill._fake_quant(w, weight=True)
    assert torch.allclose(q.detach().abs().amax(1), w.detach().abs().amax(1))  # each row's largest value kept
    steps = (q.detach() / (w.detach().abs().amax(1, keepdim=True) / 127))
    assert torch.allclose(steps, steps.round(), atol=1e-4)  # on the int8 grid of its row
    x = torch.tensor([[-0.2, 0.0, 3.0, 1.234567]])
    qx = distill._fake_quant(x, weight=False)
    assert qx[0, 1] == 0.0 and (qx - x).abs().max() <= 3.2 / 255 / 2 + 1e-6  # zero exact, error <= half a step
    q.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through


def test_int8_aware_training_changes_the_forward_only_inside() -> None:
    teacher = tiny_encoder(layers=2)
    model = teacher.model.eval()
    x = torch.randint(100, 1000, (2, 7))
    ref = model(input_ids=x).last_hidden_state
    with distill.int8_aware(model) as n:
        assert n == 2 * 6  # q, k, v, attention output, FFN in, FFN out per layer; the pooler stays float
        inside = model(input_ids=x).last_hidden_state
    assert not torch.allclose(inside, ref) and torch.allclose(inside, ref, atol=0.2)
    assert torch.equal(model(input_ids=x).last_hidden_state, ref)
    texts, _ = data.unlabelled_sentences(limit=32)
    _, info = distill.distill_encoder(teacher, texts, layers=1, epochs=2, batch_size=16, int8_aware_epochs=1)
    assert info["int8_aware_epochs"] == 1
