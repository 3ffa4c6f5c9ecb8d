"""The tiny GPT: a real (seconds-long) training run, checkpoints, perplexity."""

from __future__ import annotations

import math

import pytest
import torch

from wattwise.errors import WattwiseError
from wattwise.train.tinygpt import (
    CharTokenizer,
    TinyGPT,
    TinyGPTConfig,
    TrainSettings,
    checkpoint_info,
    load_checkpoint,
    perplexity,
    shakespeare,
    train_tinygpt,
)

FAST = TrainSettings(batch_size=8, eval_every=20, eval_batches=2, eval_batch_size=16, warmup=5, lr=3e-3)


def test_split_and_tokenizer() -> None:
    d = shakespeare()
    assert d.tokenizer.vocab_size == 65
    n = len(d.train) + len(d.val)
    assert abs(len(d.train) / n - 0.9) < 1e-4
    tok = d.tokenizer
    assert tok.decode(tok.encode("To be, or not")) == "To be, or not"
    with pytest.raises(WattwiseError):
        tok.encode("ä")
    assert tok.encode("aä", unknown="drop") == tok.encode("a")


def test_short_training_learns_and_checkpoints(tmp_path) -> None:
    res = train_tinygpt(60, TinyGPTConfig.tiny(), FAST, out_dir=tmp_path)
    assert res.steps_done == 60 and not res.stopped_early
    first, last = res.history[0].val_loss, res.history[-1].val_loss
    assert last < first < math.log(65) + 0.2  # learns something in seconds
    model, _tok = load_checkpoint(tmp_path / "ckpt.pt")
    assert checkpoint_info(tmp_path / "ckpt.pt")["step"] == 60
    val = shakespeare().val[:2000]
    ppl = perplexity(model, val)
    assert ppl == pytest.approx(perplexity(res.model, val), rel=1e-5)
    assert 1 < ppl < 65


def test_hooks_stop_and_target(tmp_path) -> None:
    seen: list[int] = []

    def hook(step: int, loss: float, tokens: int) -> bool:
        seen.append(tokens)
        return step == 7

    res = train_tinygpt(50, TinyGPTConfig.tiny(), FAST, on_step=hook)
    assert res.steps_done == 7 and res.stopped_early and "hook" in (res.stop_reason or "")
    assert seen[0] == FAST.batch_size * TinyGPTConfig.tiny().block_size
    res = train_tinygpt(200, TinyGPTConfig.tiny(), FAST, target_loss=10.0)
    assert res.steps_done == FAST.eval_every and "target" in (res.stop_reason or "")


def test_finetune_from_checkpoint_and_bf16(tmp_path) -> None:
    base = train_tinygpt(20, TinyGPTConfig.tiny(), FAST, out_dir=tmp_path)
    bf16 = TrainSettings(**{**FAST.__dict__, "bf16": True})
    res = train_tinygpt(20, settings=bf16, init_from=base.checkpoint)
    assert res.steps_done == 20 and math.isfinite(res.final_val_loss)


def test_model_shapes_and_errors(tmp_path) -> None:
    m = TinyGPT(TinyGPTConfig.tiny())
    logits, loss = m(torch.zeros(2, 8, dtype=torch.long))
    assert logits.shape == (2, 8, 65) and loss is None
    with pytest.raises(ValueError):
        m(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(WattwiseError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(WattwiseError):
        train_tinygpt(0)
    assert CharTokenizer.from_text("ba").chars == "ab"


def test_early_stop_with_cooldown() -> None:
    st = TrainSettings(**{**FAST.__dict__, "schedule": "constant", "cooldown": 0.5})
    res = train_tinygpt(200, TinyGPTConfig.tiny(), st, on_eval=lambda step, val: step >= 40)
    # stopped at 40, then 20 cool-down steps with a decaying learning rate, then the final evaluation
    assert res.steps_done == 60 and "cool-down" in (res.stop_reason or "")
    assert [h.step for h in res.history] == [20, 40, 60]


def test_pretrained_is_trained_once_then_cached(tmp_path) -> None:
    from wattwise.train.tinygpt import pretrained_tinygpt

    model, tok, path = pretrained_tinygpt(steps=3, cache=tmp_path)
    mtime = path.stat().st_mtime_ns
    model2, _, path2 = pretrained_tinygpt(steps=3, cache=tmp_path)
    assert path2 == path and path.stat().st_mtime_ns == mtime
    assert tok.vocab_size == 65 and model2.num_params() == model.num_params()


def test_demo_workload_phases_and_counters(tmp_path) -> None:
    import wattwise
    from wattwise.store import open_store
    from wattwise.train.tinygpt import demo_workload

    store = tmp_path / "s.sqlite"
    with wattwise.track("demo-test", interval=0.25, store=store) as run:
        what = demo_workload(run, 1.5, config=TinyGPTConfig.tiny())
    assert what.startswith("tiny GPT (") and "validation loss" in what
    assert [p.name for p in open_store(store).phases(run.id)] == ["train", "eval"]
    counters = run.counters()
    assert counters["steps"] >= 5 and counters["tokens"] > counters["steps"] * 32
