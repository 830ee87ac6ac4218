"""Character-level RNN, LSTM and GRU against Kneser-Ney n-grams on tiny-shakespeare.

The last 10 % of ../shared/data/text/tinyshakespeare.txt is the validation text (the
split nanoGPT uses). Each recurrent model trains within the same time budget with the
settings below; validation perplexity picks its epoch. The n-gram baselines use the same
characters and vocabulary. The table gives validation loss in nats and bits per
character, the ratio to the best n-gram and to nanoGPT's reference (a 10.7M-parameter
character transformer trained on a GPU: about 1.47 nats/char), training time and
generation speed, then one sample per model.

    python benchmarks/lm_shakespeare.py [--cells lstm,gru,rnn] [--minutes 12] [--hidden 256]
        [--layers 2] [--dropout 0.2] [--scheduler none|cosine|plateau] [--orders 3,5,7]
        [--average-epochs 1]

With ``--average-epochs N`` each model may keep the mean of its N best epochs' weights
(``training.average_epochs``); the run then prints the best epoch's validation loss
beside the kept weights'.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from seqlab.config import apply_overrides
from seqlab.engine.estimator import kept_weights
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import read_corpus
from seqlab.tasks.lm.model import LanguageModel
from seqlab.tasks.lm.ngram import KneserNey

from _common import SHARED, machine_line, markdown_table, require

NANOGPT_NATS = 1.47
PROMPT = "ROMEO:"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--minutes", type=float, default=12.0, help="training budget each")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--orders", default="3,5,7", help="n-gram orders")
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--scheduler", default="none", choices=["none", "cosine", "plateau"],
                        help="learning-rate schedule (plateau: halve after a flat epoch)")
    parser.add_argument("--average-epochs", type=int, default=1,
                        help="training.average_epochs: the mean of the N best epochs")
    args = parser.parse_args()
    path = require(SHARED / "text" / "tinyshakespeare.txt")
    base = apply_overrides(LMConfig(), {
        "corpus.path": str(path), "model.hidden_size": args.hidden,
        "model.num_layers": args.layers, "model.embedding_dim": 64, "model.dropout": args.dropout,
        "bptt": 128, "training.batch_size": 32, "training.lr": 2e-3,
        "training.max_epochs": 50, "training.patience": 3,
        "training.scheduler": args.scheduler, "training.average_epochs": args.average_epochs,
        "training.max_minutes": args.minutes})
    corpus = read_corpus(base.corpus)
    print(machine_line())
    print(f"corpus: {path.name}; {corpus.notes[-1]}; budget {args.minutes} min per model\n")
    rows, samples, last_lm = [], {}, None
    for cell in args.cells.split(","):
        config = apply_overrides(base, {"model.cell": cell})
        lm = LanguageModel(config).fit(corpus)
        last_lm = lm
        nats = lm.mean_nats(lm.encode(corpus.val))
        began = time.perf_counter()
        sample = lm.generate_text(PROMPT, 300, temperature=0.8, seed=1)
        speed = 300 / (time.perf_counter() - began)
        samples[cell] = sample
        info = lm.fit_info_
        rows.append({"model": f"{cell.upper()} {args.layers}×{args.hidden}",
                     "parameters": info["parameters"],
                     "epochs (kept)": f"{info['epochs']} ({kept_weights(info)})",
                     "train min": info["train_seconds"] / 60, "val nats/char": nats,
                     "bits/char": nats / math.log(2), "perplexity": math.exp(nats),
                     "vs nanoGPT": nats / NANOGPT_NATS, "generate chars/s": speed})
        print(f"{cell}: {nats:.4f} nats/char after {info['epochs']} epochs", flush=True)
        if "averaged" in info:
            best = next(h for h in lm.history_ if h["epoch"] == info["best_epoch"])
            print(f"{cell}: validation loss of the best epoch {best['val_loss']:.4f}, of the "
                  f"mean of epochs {info['averaged']} "
                  f"{info['averaged_validation']['val_loss']:.4f}", flush=True)
    assert last_lm is not None
    train_ids = last_lm.encode(corpus.train).tolist()
    val_ids = last_lm.encode(corpus.val).tolist()
    for order in (int(o) for o in args.orders.split(",")):
        began = time.perf_counter()
        model = KneserNey(order, len(last_lm.vocab_)).fit(train_ids)
        nats = model.nats(val_ids)
        rows.append({"model": f"Kneser-Ney {order}-gram", "parameters": model.size,
            "epochs (kept)": "—", "train min": (time.perf_counter() - began) / 60,
            "val nats/char": nats, "bits/char": nats / math.log(2),
            "perplexity": math.exp(nats), "vs nanoGPT": nats / NANOGPT_NATS,
            "generate chars/s": "—"})
    best_ngram = min(r["val nats/char"] for r in rows if r["model"].startswith("Kneser"))
    for row in rows:
        row["vs best n-gram"] = row["val nats/char"] / best_ngram
    rows.sort(key=lambda r: r["val nats/char"])
    print("\n" + markdown_table(rows))
    print(f"\nparameters of an n-gram model: stored n-grams. torch threads: "
          f"{torch.get_num_threads()}.")
    for cell, sample in samples.items():
        print(f"\n{cell.upper()} sample (prompt {PROMPT!r}, temperature 0.8, seed 1):\n")
        print("\n".join("    " + line for line in sample.splitlines()))


if __name__ == "__main__":
    main()
