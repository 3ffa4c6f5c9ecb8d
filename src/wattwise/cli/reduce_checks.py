"""Checks of ``reduce`` / ``lm-profile`` arguments that run before torch is imported (a bad file name or a
wrong ``--kind`` fails in a fraction of a second, not after 10-25 s of loading torch or minutes of training)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

from wattwise import validate
from wattwise.errors import WattwiseError, unknown

PRECISIONS = ("fp32", "bf16", "fp16")
#: Named models and what they are (see wattwise.reduce.models.load).
NAMED_KINDS = {"tinygpt": "causal-lm", "tiny-gpt2": "causal-lm", "tiny-bert": "encoder"}


def model_kind(spec: str) -> str | None:
    """``encoder`` / ``causal-lm`` for a model spec, read without torch (None when only loading can tell).
    An unknown path is an error."""
    from wattwise.reduce import models, tinygpt_hf

    s = spec.strip().lower()
    if s in NAMED_KINDS:
        return NAMED_KINDS[s]
    if s in models.BUNDLED_NAMES:
        return "encoder"
    if tinygpt_hf.is_checkpoint(spec):
        return "causal-lm"
    p = Path(spec).expanduser()
    if not p.exists():
        raise WattwiseError(f"model not found: {spec}", "give a local Hugging Face model folder, 'all-MiniLM-L6-v2' "
                            "(bundled), 'tinygpt', 'tiny-bert' or 'tiny-gpt2'")
    cfg = p / "config.json"
    if not cfg.is_file():
        raise WattwiseError(f"{spec} is not a Hugging Face model folder (no config.json)")
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WattwiseError(f"cannot read {cfg}: {exc}", "fix the model folder's config.json") from None
    return models.detect_kind(SimpleNamespace(**data)) if isinstance(data, dict) else None


def _check_kind(model: str, kind: str | None) -> None:
    from wattwise.reduce.models import KINDS

    if kind is not None and kind not in KINDS:
        raise WattwiseError(f"unknown model kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    actual = model_kind(model)
    if kind is not None and actual is not None and kind != actual:
        raise WattwiseError(f"{model} is a {actual}, not an {kind}" if kind[0] in "aeiou" else
                            f"{model} is a {actual}, not a {kind}", f"drop --kind, or use --kind {actual}")


def _readable(path: str, what: str) -> None:
    p = Path(path).expanduser()
    if not p.is_file():
        raise WattwiseError(f"{what} not found: {path}" if not p.exists() else f"{what} {path} is not a file",
                            "give an existing UTF-8 text file")
    try:
        with p.open(encoding="utf-8") as f:
            f.read(1 << 20)
    except (OSError, UnicodeDecodeError) as exc:
        raise WattwiseError(f"cannot read {what} {path}: {exc}", "give an existing UTF-8 text file") from None


def check_reduce(model: str, kind: str | None, location: str | None, intensity: float | None,
                 eval_pairs: int | None, eval_data: str | None, distill_text: str | None, lm_text: str | None,
                 distill_texts: int | None = None, distill_epochs: int = 1, repeats: int = 1,
                 slim_epochs: int = 1) -> None:
    """Everything about ``reduce``'s input that can be checked without torch."""
    _check_kind(model, kind)
    validate.intensity(intensity, "--intensity")
    for name, value in (("--eval-pairs", eval_pairs), ("--distill-texts", distill_texts)):
        if value is not None:
            validate.number(value, name, validate.COUNT)
    validate.number(distill_epochs, "--distill-epochs", validate.COUNT)
    validate.number(slim_epochs, "--slim-epochs", validate.COUNT)
    validate.number(repeats, "--repeats", validate.COUNT)
    if location:
        from wattwise.grid import resolve_location

        resolve_location(location)
    if eval_data:
        from wattwise.reduce.data import load_stsb

        _readable(eval_data, "--eval-data file")
        try:
            load_stsb(path=eval_data, limit=eval_pairs)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise WattwiseError(f"--eval-data {eval_data} is not a CSV of sentence1,sentence2,score: {exc}",
                                "one pair per row; a header row is allowed") from None
        except WattwiseError as exc:
            raise WattwiseError(f"--eval-data: {exc.message}", exc.hint or "rows of sentence1,sentence2,score "
                                "(a header row is allowed), at least 3 of them") from None
    if distill_text:
        from wattwise.reduce.data import unlabelled_sentences

        _readable(distill_text, "--distill-text file")
        try:
            unlabelled_sentences(distill_text)
        except WattwiseError as exc:
            raise WattwiseError(f"--distill-text: {exc.message}", exc.hint or "one sentence a line") from None
    if lm_text:
        _readable(lm_text, "--lm-text file")
        if not Path(lm_text).expanduser().read_text(encoding="utf-8").strip():
            raise WattwiseError(f"--lm-text {lm_text} holds no text", "give a UTF-8 text file with some text")


def check_lm_profile(model: str, batch_sizes: str, precisions: str, new_tokens: int,
                     prompt_tokens: int) -> tuple[list[int], list[str]]:
    """(batch sizes, precisions) of ``lm-profile``, checked without torch."""
    sizes: list[int] = []
    for b in (x.strip() for x in batch_sizes.split(",")):
        if not b:
            continue
        try:
            sizes.append(int(b))
        except ValueError:
            raise WattwiseError(f"--batch-sizes must be whole numbers, got {b!r}",
                                "e.g. --batch-sizes 1,8,32") from None
        validate.number(sizes[-1], "--batch-sizes", validate.Quantity("", 1, 4096, integer=True,
                                                                      hint="e.g. --batch-sizes 1,8,32"))
    if not sizes:
        raise WattwiseError("no batch sizes given", "e.g. --batch-sizes 1,8,32")
    precs = [p.strip().lower() for p in precisions.split(",") if p.strip()]
    if not precs:
        raise WattwiseError("no precisions given", f"use some of: {', '.join(PRECISIONS)}")
    for p in precs:
        if p not in PRECISIONS:
            raise unknown("precision", p, list(PRECISIONS))
    validate.number(new_tokens, "--new-tokens", validate.COUNT)
    validate.number(prompt_tokens, "--prompt-tokens", validate.COUNT)
    kind = model_kind(model)
    if kind == "encoder":
        raise WattwiseError(f"{model} is an encoder, not a causal LM", "lm-profile needs a model that generates text")
    return sizes, precs
