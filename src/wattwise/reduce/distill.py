"""Knowledge distillation on unlabelled text: a student with fewer layers, initialised from the teacher's
layers, trained to reproduce the teacher's outputs (mean-pooled embeddings for an encoder, logits for a causal
LM). No labels are read.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from wattwise.errors import WattwiseError
from wattwise.reduce.models import LoadedModel, context_length
from wattwise.reduce.prune import _blocks, structured
from wattwise.reduce.quantize import fake_int8, fake_uint8

#: (heads share, FFN share) removed from every student block before training; None keeps the teacher's widths
Slim = tuple[float, float] | None


def pick_layers(n_teacher: int, n_student: int) -> list[int]:
    """Teacher layers that initialise the student: evenly spread, always keeping the last."""
    if not 1 <= n_student < n_teacher:
        raise WattwiseError(
            f"student layers must be between 1 and {n_teacher - 1} (teacher has {n_teacher}), got {n_student}"
        )
    return sorted({round(n_teacher - 1 - i * n_teacher / n_student) for i in range(n_student)})


def make_student(teacher: nn.Module, layers: list[int]) -> nn.Module:
    """A copy of ``teacher`` that keeps only the transformer blocks ``layers``."""
    student: Any = copy.deepcopy(teacher)  # a Hugging Face model: attributes by architecture
    family, blocks = _blocks(student)
    kept = nn.ModuleList([blocks[i] for i in layers])
    base = getattr(student, "base_model", student)
    if family == "bert":
        base.encoder.layer = kept
        student.config.num_hidden_layers = len(layers)
    else:
        base.h = kept
        student.config.n_layer = len(layers)
    mod: Any  # Hugging Face attention modules: attributes by architecture
    for new_idx, blk in enumerate(kept):  # cache / attention layer indices must follow the new order
        for mod in blk.modules():
            if hasattr(mod, "layer_idx"):
                mod.layer_idx = new_idx
    if hasattr(student.config, "layer_types") and student.config.layer_types:
        student.config.layer_types = [student.config.layer_types[i] for i in layers]
    return student


def shaped_student(teacher: nn.Module, layers: list[int], slim: Slim) -> tuple[nn.Module, dict[str, Any] | None]:
    """The student before training: ``layers`` of the teacher, narrowed by ``slim`` (structured pruning of heads
    and FFN neurons by weight magnitude, so the training that follows recovers what the pruning loses)."""
    student = make_student(teacher, layers)
    return student, (structured(student, *slim) if slim else None)


def _pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)


def _tokenize(tok: Any, texts: list[str], idx: list[int], max_length: int) -> Any:
    return tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def _teacher_targets(
    teacher: LoadedModel, texts: list[str], batches: list[list[int]], chosen: list[int] | None, max_length: int,
) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """Per batch: the teacher's mean-pooled embeddings, and (unless ``chosen`` is None) its hidden states after
    each of the ``chosen`` layers (the layer each student block was initialised from), kept in float16."""
    out = []
    with torch.no_grad():
        for idx in batches:
            enc = _tokenize(teacher.tokenizer, texts, idx, max_length)
            res = teacher.model(**enc, output_hidden_states=chosen is not None)
            hidden = [res.hidden_states[i + 1].half() for i in chosen or []]
            out.append((_pool(res.last_hidden_state, enc["attention_mask"]).clone(), hidden))
    return out


def _cosine_matrix(x: torch.Tensor) -> torch.Tensor:
    n = nn.functional.normalize(x, dim=-1)
    return n @ n.T


def _fake_quant(x: torch.Tensor, weight: bool) -> torch.Tensor:
    """int8 rounding as ONNX Runtime's dynamic quantization does it, with a straight-through gradient: weights
    symmetric per output channel, activations asymmetric uint8 per tensor over a range that includes zero."""
    with torch.no_grad():
        q = fake_int8(x, 0) if weight else fake_uint8(x)
    return x + (q - x).detach()


@contextlib.contextmanager
def int8_aware(model: nn.Module) -> Iterator[int]:
    """Every Linear of ``model`` (the pooler aside) computes with int8-rounded weights and inputs while inside
    (quantization-aware training: the student learns weights that survive the int8 runtime)."""
    mods = [m for n, m in model.named_modules() if isinstance(m, nn.Linear) and "pooler" not in n]

    def forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(_fake_quant(x, False), _fake_quant(self.weight, True), self.bias)

    for m in mods:
        m.forward = forward.__get__(m)  # type: ignore[method-assign]
    try:
        yield len(mods)
    finally:
        for m in mods:
            del m.forward


def _encoder_loss(res: Any, mask: torch.Tensor, tgt: tuple[torch.Tensor, list[torch.Tensor]],
                  hidden_weight: float, sim_weight: float = 0.0) -> torch.Tensor:
    """MSE + (1 - cosine) on the pooled embeddings, plus ``hidden_weight`` x the relative squared error of every
    student block's token states against its teacher layer's (padding excluded), plus ``sim_weight`` x the
    squared error of the batch's sentence-to-sentence cosine similarities (what STS scores are read from)."""
    pooled, hidden = tgt
    emb = _pool(res.last_hidden_state, mask)
    loss = nn.functional.mse_loss(emb, pooled) + (1 - nn.functional.cosine_similarity(emb, pooled).mean())
    if sim_weight and len(emb) > 1:
        loss = loss + sim_weight * nn.functional.mse_loss(_cosine_matrix(emb), _cosine_matrix(pooled.float()))
    if hidden_weight:
        m = mask.unsqueeze(-1).to(emb.dtype)
        rel = []
        for s, t16 in zip(res.hidden_states[1:], hidden, strict=True):
            t = t16.float()
            rel.append(((s - t).pow(2) * m).sum() / (t.pow(2) * m).sum().clamp(min=1e-9))
        loss = loss + hidden_weight * torch.stack(rel).mean()
    return loss


def distill_encoder(
    teacher: LoadedModel,
    texts: list[str],
    layers: int = 3,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-4,
    max_length: int = 128,
    seed: int = 0,
    tick: Callable[[int], None] | None = None,
    teacher_cache: dict | None = None,
    slim: Slim = None,
    hidden_weight: float = 1.0,
    sim_weight: float = 0.0,
    int8_aware_epochs: int = 0,
) -> tuple[nn.Module, dict[str, Any]]:
    """Student encoder with ``layers`` blocks (narrowed by ``slim``) trained on unlabelled ``texts`` to match
    the teacher's mean-pooled embeddings and, with ``hidden_weight``, the token states of the teacher layer each
    block was initialised from (token-level targets: many more per sentence than one embedding). The last
    ``int8_aware_epochs`` epochs train with int8 rounding simulated (:func:`int8_aware`)."""
    if not texts:
        raise WattwiseError("distillation needs unlabelled text")
    torch.manual_seed(seed)
    _, blocks = _blocks(teacher.model)
    chosen = pick_layers(len(blocks), layers)
    student, narrowed = shaped_student(teacher.model, chosen, slim)
    student.train()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    t0 = time.perf_counter()
    states = chosen if hidden_weight else None  # token states only when the loss reads them
    key = (id(teacher.model), hash(tuple(texts)), max_length, batch_size, tuple(states) if states else None)
    targets = teacher_cache.get(key) if teacher_cache is not None else None
    if targets is None:
        targets = _teacher_targets(teacher, texts, batches, states, max_length)
        if teacher_cache is not None:
            teacher_cache[key] = targets
    t_teacher = time.perf_counter() - t0
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    total_steps = epochs * len(batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, total_steps // 10)) * max(0.0, 1 - s / max(1, total_steps))
    )
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        aware = int8_aware(student) if epoch >= epochs - int8_aware_epochs else contextlib.nullcontext()
        with aware:
            for b in rng.permutation(len(batches)):
                enc = _tokenize(teacher.tokenizer, texts, batches[b], max_length)
                res = student(**enc, output_hidden_states=bool(hidden_weight))
                loss = _encoder_loss(res, enc["attention_mask"], targets[b], hidden_weight, sim_weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                if tick:
                    tick(len(batches[b]))
    student.eval()
    return student, {
        "technique": "distill",
        "target": "teacher mean-pooled embeddings" + (" and token states of the initialising layers"
                                                      if hidden_weight else ""),
        "loss": "mse + (1 - cosine)" + (f" + {hidden_weight:g} x relative squared error of token states"
                                         if hidden_weight else "")
                + (f" + {sim_weight:g} x squared error of in-batch cosine similarities" if sim_weight else ""),
        "hidden_weight": hidden_weight,
        "sim_weight": sim_weight,
        "student_layers": len(chosen),
        "init_from_teacher_layers": chosen,
        "narrowed_before_training": narrowed,
        "epochs": epochs,
        "int8_aware_epochs": min(int8_aware_epochs, epochs),
        "batch_size": batch_size,
        "lr": lr,
        "texts": len(texts),
        "labels_used": False,
        "final_loss": round(float(np.mean(losses[-20:])), 5) if losses else None,
        "teacher_pass_s": round(t_teacher, 1),
        "train_s": round(time.perf_counter() - t0, 1),
    }


def distill_lm(
    teacher: LoadedModel,
    text: str,
    layers: int = 1,
    steps: int = 50,
    seq_len: int = 64,
    batch_size: int = 8,
    lr: float = 3e-4,
    temperature: float = 2.0,
    seed: int = 0,
    tick: Callable[[int], None] | None = None,
    slim: Slim = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Student causal LM with ``layers`` blocks (narrowed by ``slim``) trained on the teacher's softened logits
    (KL) over windows of unlabelled ``text``."""
    torch.manual_seed(seed)
    _, blocks = _blocks(teacher.model)
    chosen = pick_layers(len(blocks), layers)
    student, narrowed = shaped_student(teacher.model, chosen, slim)
    student.train()
    seq_len = min(seq_len, context_length(teacher.model) or seq_len)
    ids = teacher.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    if len(ids) < seq_len + 1:
        raise WattwiseError(f"distillation text too short: {len(ids)} tokens")
    opt = torch.optim.AdamW(student.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - seq_len, (batch_size,), generator=gen)
        x = torch.stack([ids[s : s + seq_len] for s in starts])
        with torch.no_grad():
            t_logits = teacher.model(input_ids=x, use_cache=False).logits
        s_logits = student(input_ids=x, use_cache=False).logits
        loss = (
            nn.functional.kl_div(
                nn.functional.log_softmax(s_logits / temperature, -1),
                nn.functional.log_softmax(t_logits.clone() / temperature, -1),
                log_target=True,
                reduction="batchmean",
            )
            * temperature**2
            / seq_len
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if tick:
            tick(1)
    student.eval()
    return student, {
        "technique": "distill",
        "target": "teacher logits (KL, temperature)",
        "temperature": temperature,
        "student_layers": len(chosen),
        "init_from_teacher_layers": chosen,
        "narrowed_before_training": narrowed,
        "steps": steps,
        "seq_len": seq_len,
        "batch_size": batch_size,
        "lr": lr,
        "labels_used": False,
        "final_loss": round(float(np.mean(losses[-10:])), 5) if losses else None,
        "train_s": round(time.perf_counter() - t0, 1),
    }
