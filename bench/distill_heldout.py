"""Student shapes checked on held-out STS-B *train* pairs, never on dev (the target's own evaluation).

Distils on the packaged train sentences minus those of the last 1,000 train pairs, then scores Spearman x 100 on
those 1,000 pairs (fp32 torch, 1 thread, no timing). One shape per call; results are appended to
bench/results/distill-heldout.json.

    python bench/distill_heldout.py NAME LAYERS [--heads S] [--ffn S] [--hidden-weight W] [--epochs N] [--save DIR]

LAYERS 0 scores the teacher itself.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wattwise.reduce import data, threads

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent.parent / "shared" / "data" / "stsb" / "stsb-en-train.csv"
OUT = HERE / "results" / "distill-heldout.json"
HELD = 1000


def held_out_pairs() -> data.STSPairs:
    """The last 1,000 STS-B train pairs: never distilled on, never the target's dev split."""
    pairs = data.load_stsb("train", path=TRAIN)
    n = len(pairs)
    return data.STSPairs(pairs.first[n - HELD:], pairs.second[n - HELD:], pairs.scores[n - HELD:], "train, last 1000")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("layers", type=int)
    ap.add_argument("--heads", type=float, default=0.0, help="share of heads removed before training")
    ap.add_argument("--ffn", type=float, default=0.0, help="share of FFN neurons removed before training")
    ap.add_argument("--hidden-weight", type=float, default=0.0, help="weight of the token-state loss")
    ap.add_argument("--sim-weight", type=float, default=0.0, help="weight of the in-batch cosine-similarity loss")
    ap.add_argument("--augment", type=int, default=0, help="augmented copies of every distillation sentence")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--int8-aware", type=int, default=0, help="last epochs trained with int8 rounding simulated")
    ap.add_argument("--save", type=Path, help="folder to save the student in (for bench/int8_heldout.py)")
    ap.add_argument("--threads", type=int, default=1, help="threads for training (scores do not depend on it)")
    args = ap.parse_args()
    threads.configure(args.threads)
    from wattwise.reduce import distill, evaluate, models

    base = models.load("bundled")
    held = held_out_pairs()
    seen = set(held.sentences())
    texts = [t for t in data.unlabelled_sentences()[0] if t not in seen]
    if args.augment:
        texts = data.augmented(texts, args.augment, seed=0)

    def score(model: object) -> float:
        w = evaluate.encoder_workload(base.tokenizer, held)
        fn = evaluate.torch_encoder_fn(model)
        return w.quality([w.run(fn, b) for b in w.batches])

    row: dict = {"texts": len(texts), "held_out_pairs": HELD, **{k: v for k, v in vars(args).items() if k != "save"}}
    if args.layers == 0:
        row["spearman_x100"] = round(score(base.model.eval()), 2)
    else:
        t0 = time.time()
        slim = (args.heads, args.ffn) if args.heads or args.ffn else None
        student, info = distill.distill_encoder(base, texts, layers=args.layers, epochs=args.epochs, lr=args.lr,
                                                slim=slim, hidden_weight=args.hidden_weight,
                                                sim_weight=args.sim_weight, int8_aware_epochs=args.int8_aware)
        row.update(spearman_x100=round(score(student.eval()), 2), train_s=round(time.time() - t0),
                   params=sum(p.numel() for p in student.parameters()), final_loss=info["final_loss"])
        if args.save:
            student.save_pretrained(args.save)
            base.tokenizer.save_pretrained(args.save)
    rows = json.loads(OUT.read_text()) if OUT.exists() else []
    rows = [r for r in rows if r["name"] != row["name"]] + [row]
    OUT.write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
