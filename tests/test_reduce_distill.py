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
