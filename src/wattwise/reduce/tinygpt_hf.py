"""Our tiny GPT (``wattwise.train.tinygpt``) as a Hugging Face GPT-2, so the compression lab can reduce it.

The tiny GPT is a GPT-2 in all but names: pre-LayerNorm blocks, learned positions, exact GELU, tied embeddings.
Its weights map one to one onto ``GPT2LMHeadModel`` (GPT-2's ``Conv1D`` stores the transpose of a ``Linear``),
and its character vocabulary becomes a ``PreTrainedTokenizerFast`` that splits text into single characters.
The logits of both models agree to float rounding (tested).

Tokenizer conventions: the padding token is the vocabulary's first character (``"\\n"`` for Tiny Shakespeare;
padded positions are masked, so its identity does not matter); characters outside the vocabulary become a space,
where the tiny GPT's own tokenizer drops them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError

CHECKPOINT_NAME = "ckpt.pt"


def is_checkpoint(spec: str) -> bool:
    """Whether ``spec`` names a tiny GPT checkpoint: a ``.pt`` file or a folder holding ``ckpt.pt`` only."""
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix == ".pt":
        return True
    return p.is_dir() and (p / CHECKPOINT_NAME).is_file() and not (p / "config.json").exists()


def char_tokenizer(chars: str) -> Any:
    """A fast Hugging Face tokenizer with one token per character of ``chars`` (ids in that order)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if not chars:
        raise WattwiseError("empty character vocabulary")
    vocab = {c: i for i, c in enumerate(chars)}
    unk = " " if " " in vocab else chars[0]
    core = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=chars[0])


def to_hf(model: Any, chars: str) -> tuple[Any, Any]:
    """``(GPT2LMHeadModel, tokenizer)`` with the weights of a :class:`~wattwise.train.tinygpt.TinyGPT`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = model.config
    if len(chars) != cfg.vocab_size:
        raise WattwiseError(f"vocabulary of {len(chars)} characters does not match the model's {cfg.vocab_size}")
    hf_cfg = GPT2Config(
        vocab_size=cfg.vocab_size,
        n_positions=cfg.block_size,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_inner=4 * cfg.n_embd,
        activation_function="gelu",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
        architectures=["GPT2LMHeadModel"],
    )
    hf = GPT2LMHeadModel(hf_cfg)
    src = model.state_dict()
    state = {
        "transformer.wte.weight": src["tok_emb.weight"],
        "transformer.wpe.weight": src["pos_emb.weight"],
        "transformer.ln_f.weight": src["ln_f.weight"],
        "transformer.ln_f.bias": src["ln_f.bias"],
    }
    pairs = {"ln_1": "ln1", "ln_2": "ln2", "attn.c_attn": "qkv", "attn.c_proj": "proj", "mlp.c_fc": "mlp.0",
             "mlp.c_proj": "mlp.2"}
    for i in range(cfg.n_layer):
        for ours_hf, ours in pairs.items():
            w = src[f"blocks.{i}.{ours}.weight"]
            state[f"transformer.h.{i}.{ours_hf}.weight"] = w if ours_hf.startswith("ln") else w.t().contiguous()
            state[f"transformer.h.{i}.{ours_hf}.bias"] = src[f"blocks.{i}.{ours}.bias"]
    missing, unexpected = hf.load_state_dict(state, strict=False)
    left = [k for k in missing if k != "lm_head.weight" and not k.endswith(".attn.bias")]
    if left or unexpected:
        raise WattwiseError(f"tiny GPT -> GPT-2 mapping is incomplete: missing {left}, unexpected {unexpected}")
    hf.tie_weights()
    with torch.no_grad():
        if not torch.equal(hf.lm_head.weight, hf.transformer.wte.weight):
            raise WattwiseError("tiny GPT -> GPT-2: output head is not tied to the embeddings")
    return hf.eval(), char_tokenizer(chars)


def load_tinygpt(spec: str | os.PathLike[str]) -> tuple[Any, Any, Path]:
    """``(GPT2LMHeadModel, tokenizer, checkpoint path)`` from a checkpoint file or its folder."""
    from wattwise.train.tinygpt import load_checkpoint

    p = Path(spec).expanduser()
    ckpt = p / CHECKPOINT_NAME if p.is_dir() else p
    model, tok = load_checkpoint(ckpt)
    hf, hf_tok = to_hf(model, tok.chars)
    return hf, hf_tok, ckpt


def export_hf(spec: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Write a tiny GPT checkpoint as a Hugging Face model folder (config, safetensors, tokenizer)."""
    hf, tok, _ = load_tinygpt(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(out)
    tok.save_pretrained(out)
    return out
