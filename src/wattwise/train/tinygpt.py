"""A tiny character-level GPT trained on Tiny Shakespeare: our own workload for demos, tests and benchmarks.

Torch only. The corpus ships with the package (``wattwise/data/corpus``); the split is the usual one:
first 90 % train, last 10 % validation. Typical use::

    from wattwise.train.tinygpt import train_tinygpt, load_checkpoint, perplexity
    result = train_tinygpt(steps=2000, out_dir="out/tinygpt")      # val loss ~1.77 in ~3 CPU minutes
    model, tok = load_checkpoint("out/tinygpt/ckpt.pt")
    ppl = perplexity(model, shakespeare().val)                       # exp(mean next-char cross-entropy)

Hooks let the callers (budgets, early stopping, forecasts, meters) watch and stop the loop:
``on_step(step, loss, tokens) -> bool`` and ``on_eval(step, val_loss) -> bool``; returning True stops.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch.nn import functional as F

from wattwise.errors import WattwiseError

TRAIN_FRACTION = 0.9


# ----------------------------------------------------------------------------------------------- data
def corpus_path() -> Path:
    """Path of the packaged Tiny Shakespeare text."""
    return Path(str(resources.files("wattwise") / "data" / "corpus" / "tinyshakespeare.txt"))


def load_corpus(path: str | os.PathLike[str] | None = None) -> str:
    """The corpus text (packaged Tiny Shakespeare unless ``path`` is given)."""
    p = Path(path) if path is not None else corpus_path()
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WattwiseError(f"cannot read corpus {p}: {exc}", "give an existing UTF-8 text file") from exc


@dataclass(frozen=True)
class CharTokenizer:
    """Characters to ids and back; the vocabulary is the sorted set of characters of the corpus."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str, *, unknown: str = "error") -> list[int]:
        """Ids of ``text``; unknown characters raise (or are dropped with ``unknown="drop"``)."""
        table = {c: i for i, c in enumerate(self.chars)}
        if unknown == "drop":
            return [table[c] for c in text if c in table]
        missing = sorted({c for c in text if c not in table})
        if missing:
            raise WattwiseError(
                f"{len(missing)} characters are not in the vocabulary: {''.join(missing)[:20]!r}",
                'pass unknown="drop" to skip them',
            )
        return [table[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids)


@dataclass
class CharData:
    """Encoded train/validation split of a corpus."""

    tokenizer: CharTokenizer
    train: torch.Tensor
    val: torch.Tensor

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, tokenizer: CharTokenizer | None = None
    ) -> CharData:
        text = load_corpus(path)
        tok = tokenizer or CharTokenizer.from_text(text)
        data = torch.tensor(tok.encode(text, unknown="drop"), dtype=torch.long)
        n = int(TRAIN_FRACTION * len(data))
        return cls(tok, data[:n], data[n:])


_DATA_CACHE: dict[str, CharData] = {}


def shakespeare() -> CharData:
    """The packaged corpus, encoded and split (cached per process)."""
    key = str(corpus_path())
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = CharData.load()
    return _DATA_CACHE[key]


def get_batch(data: torch.Tensor, batch_size: int, block_size: int, gen: torch.Generator):
    """A random batch of (input, next-char target) windows."""
    ix = torch.randint(len(data) - block_size - 1, (batch_size,), generator=gen)
    x = torch.stack([data[i : i + block_size] for i in ix.tolist()])
    y = torch.stack([data[i + 1 : i + 1 + block_size] for i in ix.tolist()])
    return x, y


# ---------------------------------------------------------------------------------------------- model
@dataclass
class TinyGPTConfig:
    """Shape of the model. The default (0.81 M parameters, 2,000 steps) reaches val loss ~1.76 on 2 cores."""

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0

    @classmethod
    def tiny(cls, vocab_size: int = 65) -> TinyGPTConfig:
        """A very small setting for tests (trains in seconds)."""
        return cls(vocab_size=vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=64)


class Block(nn.Module):
    def __init__(self, cfg: TinyGPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(), nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        )
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        x = x + F.dropout(self.proj(y.transpose(1, 2).reshape(b, t, c)), drop, self.training)
        return x + F.dropout(self.mlp(self.ln2(x)), drop, self.training)


class TinyGPT(nn.Module):
    """A decoder-only transformer (pre-LayerNorm, learned positions, tied input/output embeddings)."""

    def __init__(self, cfg: TinyGPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits ``(B, T, vocab)``; with ``targets`` also the mean cross-entropy (nats per character)."""
        t = idx.shape[1]
        if t > self.config.block_size:
            raise ValueError(f"sequence of {t} is longer than the block size {self.config.block_size}")
        pos = torch.arange(t, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos)
        for blk in self.blocks:
            x = blk(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        gen: torch.Generator | None = None,
    ) -> torch.Tensor:
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            probs = F.softmax(logits[:, -1, :] / max(temperature, 1e-6), dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=gen)], dim=1)
        return idx


# ----------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(
    model: TinyGPT,
    data: torch.Tensor,
    *,
    batches: int = 16,
    batch_size: int = 32,
    block_size: int | None = None,
    seed: int = 0,
    autocast_bf16: bool = False,
) -> float:
    """Mean cross-entropy on fixed random windows of ``data`` (same windows every call: low-noise curve)."""
    bs = block_size or model.config.block_size
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    total = 0.0
    for _ in range(batches):
        x, y = get_batch(data, batch_size, bs, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
            _, loss = model(x, y)
        total += float(loss)
    model.train(was_training)
    return total / batches


@torch.no_grad()
def perplexity(
    model: TinyGPT,
    ids: Sequence[int] | torch.Tensor,
    *,
    block_size: int | None = None,
    max_windows: int | None = None,
    batch_size: int = 64,
) -> float:
    """Perplexity over ``ids`` in non-overlapping windows of the block size: exp(mean cross-entropy).

    ``max_windows`` caps the work (the first windows of the text); None uses the whole text.
    """
    data = ids if isinstance(ids, torch.Tensor) else torch.tensor(list(ids), dtype=torch.long)
    bs = block_size or model.config.block_size
    n_win = (len(data) - 1) // bs
    if max_windows is not None:
        n_win = min(n_win, max_windows)
    if n_win < 1:
        raise WattwiseError(f"text of {len(data)} tokens is shorter than one window of {bs + 1}")
    was_training = model.training
    model.eval()
    nll, count = 0.0, 0
    for start in range(0, n_win, batch_size):
        rows = range(start, min(start + batch_size, n_win))
        x = torch.stack([data[r * bs : r * bs + bs] for r in rows])
        y = torch.stack([data[r * bs + 1 : r * bs + bs + 1] for r in rows])
        _, loss = model(x, y)
        nll += float(loss) * y.numel()
        count += y.numel()
    model.train(was_training)
    return math.exp(nll / count)


# ------------------------------------------------------------------------------------------- training
@dataclass
class TrainSettings:
    """Optimisation settings. After a linear warm-up, ``schedule="cosine"`` decays ``lr`` to ``lr/10``
    over the planned steps; ``"constant"`` keeps it (a run can then stop anywhere without losing the decay).
    """

    batch_size: int = 16
    lr: float = 2e-3
    warmup: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100  # 0: no evaluations (not even after the last step)
    eval_batches: int = 16
    eval_batch_size: int = 32
    seed: int = 1337
    bf16: bool = False  # CPU autocast to bfloat16
    schedule: str = "cosine"  # cosine | constant
    # when an eval hook (early stopping) stops the run: continue for this fraction of the steps done with the
    # learning rate decaying linearly to lr/10 (a "cool-down", as in warmup-stable-decay schedules), then stop
    cooldown: float = 0.0
    threads: int | None = None  # torch.set_num_threads; None: 1 (see set_threads)


@dataclass
class EvalPoint:
    step: int
    val_loss: float
    train_loss: float
    seconds: float


@dataclass
class TrainResult:
    """What a training run produced."""

    model: TinyGPT
    tokenizer: CharTokenizer
    steps_planned: int
    steps_done: int
    tokens: int
    seconds: float
    history: list[EvalPoint] = field(default_factory=list)
    stopped_early: bool = False
    stop_reason: str | None = None
    checkpoint: Path | None = None

    @property
    def final_val_loss(self) -> float:
        return self.history[-1].val_loss if self.history else float("nan")

    @property
    def best_val_loss(self) -> float:
        return min((h.val_loss for h in self.history), default=float("nan"))

    def to_dict(self) -> dict:
        return {
            "steps_planned": self.steps_planned,
            "steps_done": self.steps_done,
            "tokens": self.tokens,
            "seconds": self.seconds,
            "final_val_loss": self.final_val_loss,
            "best_val_loss": self.best_val_loss,
            "stopped_early": self.stopped_early,
            "stop_reason": self.stop_reason,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "history": [asdict(h) for h in self.history],
            "params": self.model.num_params(),
            "config": asdict(self.model.config),
        }


def set_threads(threads: int | None = None) -> int:
    """Use ``threads`` torch threads and return the number.

    Default 1 (or ``WATTWISE_TORCH_THREADS``): this model's matrices are too small to gain from a second
    thread, and on a shared 2-core machine two OpenMP threads spin against other work (measured here:
    ~85 ms per step with 1 thread vs ~1,400 ms with 2 while another job was running).
    """
    n = threads or int(os.environ.get("WATTWISE_TORCH_THREADS", "1"))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


StepHook = Callable[[int, float, int], "bool | None"]
EvalHook = Callable[[int, float], "bool | None"]


def _checked_settings(steps: int, settings: TrainSettings | None) -> TrainSettings:
    if steps < 1:
        raise WattwiseError(f"steps must be at least 1, got {steps}")
    st = settings or TrainSettings()
    if st.schedule not in ("cosine", "constant"):
        from wattwise.errors import unknown

        raise unknown("learning-rate schedule", st.schedule, ["cosine", "constant"])
    return st


def _initial_model(init_from: str | os.PathLike[str] | TinyGPT | None, config: TinyGPTConfig | None,
                   d: CharData) -> TinyGPT:
    """The model to train: ``init_from`` (a model or a checkpoint on ``d``'s vocabulary), else a new one."""
    if isinstance(init_from, TinyGPT):
        return init_from
    if init_from is not None:
        model, tok = load_checkpoint(init_from)
        if tok.chars != d.tokenizer.chars:
            raise WattwiseError("the checkpoint's vocabulary differs from the data's", "use the same corpus")
        return model
    return TinyGPT(replace(config or TinyGPTConfig(), vocab_size=d.tokenizer.vocab_size))


def _lr_at(i: int, st: TrainSettings, steps: int, cooldown: dict[str, float]) -> float:
    """Learning rate of step ``i``: warm-up, then cosine to lr/10 (or constant); linear to lr/10 in a cool-down."""
    if cooldown:
        frac = (i - cooldown["start"]) / max(1.0, cooldown["end"] - cooldown["start"])
        return cooldown["lr0"] + (st.lr / 10 - cooldown["lr0"]) * min(frac, 1.0)
    if i < st.warmup:
        return st.lr * (i + 1) / st.warmup
    if st.schedule == "constant":
        return st.lr
    frac = (i - st.warmup) / max(1, steps - st.warmup)
    return st.lr / 10 + 0.5 * (st.lr - st.lr / 10) * (1 + math.cos(math.pi * min(frac, 1.0)))


def _step_hooks_stop(hooks: list[StepHook], step: int, loss: float, tokens: int, result: TrainResult) -> bool:
    """Call every step hook; True (with the reason recorded) when one asks to stop."""
    stop = False
    for hook in hooks:
        if hook(step, loss, tokens):
            result.stop_reason = f"stopped by {_name(hook)} at step {step}"
            stop = True
    return stop


def _eval_hooks_stop(hooks: list[EvalHook], step: int, val: float, result: TrainResult) -> bool:
    """Call every eval hook; True when one asks to stop (the first one's reason is kept)."""
    stop = False
    for hook in hooks:
        if hook(step, val) and not stop:
            result.stop_reason = result.stop_reason or f"stopped by {_name(hook)} at step {step}"
            stop = True
    return stop


def _reached(target_loss: float | None, val: float, result: TrainResult) -> bool:
    if target_loss is not None and val <= target_loss:
        result.stop_reason = f"reached target val loss {target_loss}"
        return True
    return False


def train_tinygpt(
    steps: int = 2000,
    config: TinyGPTConfig | None = None,
    settings: TrainSettings | None = None,
    *,
    data: CharData | None = None,
    init_from: str | os.PathLike[str] | TinyGPT | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    on_step: StepHook | Sequence[StepHook] = (),
    on_eval: EvalHook | Sequence[EvalHook] = (),
    target_loss: float | None = None,
    checkpoint_every_eval: bool = False,
) -> TrainResult:
    """Train a TinyGPT for up to ``steps`` optimiser steps on Tiny Shakespeare (or ``data``).

    ``init_from``: a checkpoint path or model to fine-tune from (its config wins). ``target_loss``: stop at
    the first evaluation at or below it. Evaluations run every ``settings.eval_every`` steps and after the
    last step. ``out_dir``: where ``ckpt.pt`` is written (at the end, and after each eval if asked).
    Hooks returning True stop the run (the reason is recorded).
    """
    st = _checked_settings(steps, settings)
    set_threads(st.threads)
    torch.manual_seed(st.seed)
    d = data or shakespeare()
    model = _initial_model(init_from, config, d)
    cfg = model.config
    step_hooks = [on_step] if callable(on_step) else list(on_step)
    eval_hooks = [on_eval] if callable(on_eval) else list(on_eval)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": st.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=st.lr,
        betas=(0.9, 0.99),
    )

    cooldown: dict[str, float] = {}  # start, end, lr0 once an eval hook asked to stop (with st.cooldown)

    out = Path(out_dir) if out_dir is not None else None
    gen = torch.Generator().manual_seed(st.seed)
    result = TrainResult(model, d.tokenizer, steps, 0, 0, 0.0)
    t0 = time.perf_counter()
    tokens_per_step = st.batch_size * cfg.block_size
    recent: list[float] = []

    def do_eval(step: int) -> bool:
        # always evaluated in fp32, so runs with and without bf16 autocast are judged alike
        val = evaluate(model, d.val, batches=st.eval_batches, batch_size=st.eval_batch_size)
        train_loss = sum(recent) / len(recent) if recent else float("nan")
        recent.clear()
        result.history.append(EvalPoint(step, val, train_loss, time.perf_counter() - t0))
        if out is not None and checkpoint_every_eval:
            save_checkpoint(model, d.tokenizer, out / "ckpt.pt", extra={"step": step, "val_loss": val})
        if cooldown:  # the stop decision is taken; only the final evaluation of the cool-down remains
            return step >= cooldown["end"]
        stop = _eval_hooks_stop(eval_hooks, step, val, result)
        if stop and st.cooldown > 0 and step < steps:
            n = max(1, round(st.cooldown * step))
            cooldown.update(start=step, end=min(step + n, steps), lr0=opt.param_groups[0]["lr"])
            result.stop_reason = f"{result.stop_reason}; then {int(cooldown['end']) - step} cool-down steps"
            return False
        return stop or _reached(target_loss, val, result)

    model.train()
    stop = False
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = _lr_at(i, st, steps, cooldown)
        x, y = get_batch(d.train, st.batch_size, cfg.block_size, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=st.bf16):
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if st.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), st.grad_clip)
        opt.step()
        step = i + 1
        lv = loss.item()
        recent.append(lv)
        result.steps_done = step
        result.tokens += tokens_per_step
        stop = _step_hooks_stop(step_hooks, step, lv, tokens_per_step, result) or stop
        if st.eval_every <= 0:  # no evaluations at all (the caller evaluates)
            if stop:
                break
            continue
        due = step % st.eval_every == 0 and not cooldown
        if (stop or due or step == steps or step == cooldown.get("end")) and (do_eval(step) or stop):
            stop = True
            break
    result.seconds = time.perf_counter() - t0
    result.stopped_early = result.steps_done < steps
    if out is not None:
        result.checkpoint = save_checkpoint(model, d.tokenizer, out / "ckpt.pt",
                                            extra={"step": result.steps_done, "val_loss": result.final_val_loss})
    return result


def _name(hook: object) -> str:
    return getattr(hook, "name", None) or getattr(hook, "__qualname__", None) or type(hook).__name__


# ----------------------------------------------------------------------------------------------- demo
def demo_workload(run: Any, seconds: float, *, config: TinyGPTConfig | None = None) -> str:
    """The ``make demo`` workload: train the tiny GPT for about ``seconds``, then evaluate it, under ``run``.

    Training (constant learning rate after the warm-up, since the length is a time budget) runs inside
    ``run.phase("train")`` with ``run.step(tokens=...)`` per step; the validation loss is computed inside
    ``run.phase("eval")`` with ``run.add(tokens=...)``. Returns a one-line description of what ran.
    """
    st = TrainSettings(eval_every=0, schedule="constant")
    data = shakespeare()  # encode the corpus first: the time budget is for training
    end: list[float] = []  # set at the first step (start-up and the first, slower step are not counted)

    def on_step(step: int, loss: float, tokens: int) -> bool:
        run.step(tokens=tokens)
        now = time.monotonic()
        if not end:
            end.append(now + max(0.0, seconds))
        return now >= end[0]

    on_step.name = "the demo's time budget"  # type: ignore[attr-defined]
    with run.phase("train"):
        res = train_tinygpt(10**9, config, st, data=data, on_step=on_step)
    model = res.model
    with run.phase("eval"):
        val = evaluate(model, data.val, batches=st.eval_batches, batch_size=st.eval_batch_size)
        run.add(tokens=st.eval_batches * st.eval_batch_size * model.config.block_size)
    return (
        f"tiny GPT ({model.num_params() / 1e6:.2f} M params) on Tiny Shakespeare, {res.steps_done} steps "
        f"({res.tokens:,} training tokens) in {res.seconds:.0f} s, validation loss {val:.2f}"
    )


# ---------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(
    model: TinyGPT, tokenizer: CharTokenizer, path: str | os.PathLike[str], extra: dict | None = None
) -> Path:
    """Write model weights, config and vocabulary to ``path`` (atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    torch.save(
        {
            "config": asdict(model.config),
            "chars": tokenizer.chars,
            "state_dict": model.state_dict(),
            "extra": extra or {},
        },
        tmp,
    )
    tmp.replace(p)
    return p


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[TinyGPT, CharTokenizer]:
    """Model (in eval mode) and tokenizer from a checkpoint written by :func:`save_checkpoint`."""
    p = Path(path)
    if not p.exists():
        raise WattwiseError(f"no checkpoint at {p}", "train one with `wattwise train-tinygpt --out DIR`")
    blob = torch.load(p, map_location="cpu", weights_only=True)
    model = TinyGPT(TinyGPTConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, CharTokenizer(blob["chars"])


def checkpoint_info(path: str | os.PathLike[str]) -> dict:
    """The ``extra`` dict saved with a checkpoint (step, val_loss ...)."""
    return dict(torch.load(Path(path), map_location="cpu", weights_only=True).get("extra", {}))


def pretrained_path(steps: int = 2000, cache: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`pretrained_tinygpt` keeps the default model trained for ``steps`` steps."""
    from wattwise.config import cache_dir

    base = Path(cache) if cache is not None else cache_dir() / "tinygpt"
    return base / f"default-{steps}" / "ckpt.pt"


def pretrained_tinygpt(
    steps: int = 2000, *, cache: str | os.PathLike[str] | None = None, retrain: bool = False
) -> tuple[TinyGPT, CharTokenizer, Path]:
    """A trained default TinyGPT, trained once (a few CPU minutes) and cached under the cache dir."""
    path = pretrained_path(steps, cache)
    if retrain or not path.exists():
        train_tinygpt(steps, out_dir=path.parent)
    model, tok = load_checkpoint(path)
    return model, tok, path
