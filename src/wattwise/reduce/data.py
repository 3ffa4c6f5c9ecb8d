"""Evaluation and distillation data: STS-B dev pairs, unlabelled sentences, held-out text for causal LMs."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wattwise.errors import WattwiseError


@dataclass(frozen=True)
class STSPairs:
    """Sentence pairs with gold similarity scores."""

    first: list[str]
    second: list[str]
    scores: list[float]
    source: str

    def sentences(self) -> list[str]:
        """Distinct sentences of both sides, in first-seen order."""
        return list(dict.fromkeys([*self.first, *self.second]))

    def __len__(self) -> int:
        return len(self.scores)


def _packaged(name: str) -> Path:
    return Path(str(resources.files("wattwise") / "data" / "stsb" / name))


def stsb_dir() -> Path:
    """Where STS-B files are read: ``WATTWISE_STSB_DIR`` if set, else the copy shipped with wattwise."""
    env = os.environ.get("WATTWISE_STSB_DIR")
    return Path(env) if env else _packaged("").parent / "stsb"


def load_stsb(split: str = "dev", path: str | Path | None = None, limit: int | None = None) -> STSPairs:
    """STS-B pairs from ``path`` (CSV ``s1,s2,score``) or the shipped/configured ``stsb-en-<split>.csv``."""
    p = Path(path) if path else stsb_dir() / f"stsb-en-{split}.csv"
    if not p.exists():
        raise WattwiseError(
            f"STS-B file not found: {p}", "set WATTWISE_STSB_DIR or pass --eval-data FILE.csv"
        )
    first, second, scores = [], [], []
    with p.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if len(row) < 3:
                continue
            try:
                score = float(row[2])
            except ValueError:
                if i == 0:  # header
                    continue
                raise WattwiseError(f"{p}: row {i + 1} has a non-numeric score {row[2]!r}") from None
            first.append(row[0])
            second.append(row[1])
            scores.append(score)
            if limit and len(scores) >= limit:
                break
    if len(scores) < 3:
        raise WattwiseError(
            f"{p}: needs at least 3 scored pairs (sentence1,sentence2,score), found {len(scores)}"
        )
    return STSPairs(first, second, scores, str(p))


def unlabelled_sentences(path: str | Path | None = None, limit: int | None = None) -> tuple[list[str], str]:
    """Unlabelled text for distillation: one sentence per line (default: STS-B train sentences, no scores)."""
    p = Path(path) if path else _packaged("stsb-en-train-sentences.txt")
    if not p.exists():
        raise WattwiseError(
            f"distillation text not found: {p}", "pass --distill-text FILE (one sentence a line)"
        )
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise WattwiseError(f"{p} holds no text")
    return (lines[:limit] if limit else lines), str(p)


def lm_text(path: str | Path | None = None) -> tuple[str, str]:
    """Plain text for causal LMs: ``path``, else ``$WATTWISE_LM_TEXT``, else the packaged Tiny Shakespeare
    (the tiny GPT's corpus: its last 10 % is the held-out text the tiny GPT never trained on)."""
    if path and not Path(path).exists():
        raise WattwiseError(f"text file not found: {path}", "give an existing UTF-8 text file")
    env = os.environ.get("WATTWISE_LM_TEXT")
    p = Path(path) if path else Path(env) if env else Path(str(resources.files("wattwise") / "data" / "corpus"
                                                              / "tinyshakespeare.txt"))
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except (OSError, UnicodeDecodeError) as exc:
        raise WattwiseError(f"cannot read text {p}: {exc}", "give an existing UTF-8 text file") from exc


def split_text(text: str, held_out: float = 0.1) -> tuple[str, str]:
    """First (1 - held_out) for training, the rest held out (the usual split)."""
    cut = int(len(text) * (1 - held_out))
    return text[:cut], text[cut:]


def _variant(words: list[str], rng: random.Random) -> list[str]:
    """One word-level edit of a sentence of 3+ ``words``: drop some, swap two, or keep a contiguous span of at least
    60 %."""
    op = rng.randrange(3)
    if op == 0:
        kept = [w for w in words if rng.random() > 0.15]
        return kept if len(kept) >= 2 else words
    if op == 1:
        i, j = rng.sample(range(len(words)), 2)
        out = list(words)
        out[i], out[j] = out[j], out[i]
        return out
    n = max(2, round(len(words) * rng.uniform(0.6, 0.9)))
    start = rng.randrange(max(1, len(words) - n + 1))
    return words[start : start + n]


def augmented(texts: list[str], copies: int, seed: int = 0) -> list[str]:
    """``texts`` followed by ``copies`` edited versions of each (word dropout, swap, span crop): more inputs for
    the teacher to label, no human labels involved. Duplicates are dropped."""
    rng = random.Random(seed)
    out = dict.fromkeys(texts)
    for _ in range(copies):
        for t in texts:
            words = t.split()
            if len(words) >= 3:
                out.setdefault(" ".join(_variant(words, rng)))
    return list(out)
