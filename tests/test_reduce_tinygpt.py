"""The tiny GPT as a Hugging Face GPT-2: same logits, same ids, and the lab reduces a real trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch

from wattwise.cli.app import main
from wattwise.errors import WattwiseError
from wattwise.reduce import models, tinygpt_hf
from wattwise.train.tinygpt import TinyGPT, TinyGPTConfig, TrainSettings, shakespeare, train_tinygpt


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    """A tiny GPT trained for a few steps (seconds), saved as ckpt.pt."""
    out = tmp_path_factory.mktemp("tinygpt")
    vocab = shakespeare().tokenizer.vocab_size
    train_tinygpt(30, TinyGPTConfig.tiny(vocab), TrainSettings(eval_every=30, eval_batches=2), out_dir=out)
    return out / "ckpt.pt"


def test_same_logits_and_ids() -> None:
    torch.manual_seed(1)
    data = shakespeare()
    ours = TinyGPT(TinyGPTConfig.tiny(data.tokenizer.vocab_size)).eval()
    hf, tok = tinygpt_hf.to_hf(ours, data.tokenizer.chars)
    x = data.val[:32].unsqueeze(0)
    with torch.no_grad():
        assert torch.allclose(ours(x)[0], hf(input_ids=x).logits, atol=1e-5)
    text = data.tokenizer.decode(data.val[:200].tolist())
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids == data.val[:200].tolist()
    assert tok.decode(ids) == text


def test_vocab_mismatch_is_an_error() -> None:
    m = TinyGPT(TinyGPTConfig.tiny(10))
    with pytest.raises(WattwiseError, match="does not match"):
        tinygpt_hf.to_hf(m, "abc")


def test_checkpoint_loads_and_exports(ckpt: Path, tmp_path: Path) -> None:
    assert tinygpt_hf.is_checkpoint(str(ckpt)) and tinygpt_hf.is_checkpoint(str(ckpt.parent))
    lm = models.load(str(ckpt))
    assert lm.kind == "causal-lm" and lm.name == "tinygpt"
    assert models.context_length(lm.model) == 32
    folder = tinygpt_hf.export_hf(ckpt, tmp_path / "hf")
    assert not tinygpt_hf.is_checkpoint(str(folder))
    again = models.load(str(folder))
    x = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert torch.allclose(lm.model(input_ids=x).logits, again.model(input_ids=x).logits, atol=1e-6)


def test_reduce_cli_on_trained_tinygpt(ckpt: Path, tmp_path: Path, capsys) -> None:
    js = tmp_path / "r.json"
    rc = main(["reduce", str(ckpt), "--variants", "fp32,bf16,torchao-int8-dynamic,ort-int8", "--out",
               str(tmp_path / "out"), "--no-progress", "--json", str(js), "--intensity", "100"])
    out = capsys.readouterr().out
    assert rc == 0, out
    data = json.loads(js.read_text())
    rows = {v["name"]: v for v in data["variants"]}
    assert all(v["ok"] for v in rows.values()), [v.get("error") for v in rows.values()]
    base = rows["fp32"]["quality"]
    # 30 steps leave it far from trained, but well below the uniform guess over 65 characters
    assert 1 < base < 65
    assert abs(rows["bf16"]["quality_drop"]) < 5


def test_out_dir_next_to_checkpoint_is_refused(ckpt: Path, capsys) -> None:
    rc = main(["reduce", str(ckpt), "--variants", "fp32", "--out", str(ckpt.parent / "variants")])
    err = capsys.readouterr().err
    assert rc != 0 and "inside the input model folder" in err
    assert ckpt.exists()
