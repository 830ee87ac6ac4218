"""An encoder–decoder GRU with attention on Multi30k, within a training budget.

Trains on ../shared/data/translation/multi30k/train.<src>/.<tgt> (29,000 pairs; the
validation pairs are split off it with seed 13, as the shared folder holds no validation
file), picks the epoch by greedy validation BLEU, and scores test_2016_flickr once with
beam search. It prints sacreBLEU on the detokenised text (with its signature) and BLEU
on lower-cased tokens (tokenize none), the form the anchor reports (bentrevett's
pytorch-seq2seq notebook 3: GRU + Bahdanau attention, 28.3 BLEU on tokenised text).

    python benchmarks/multi30k.py [--pair de-en] [--minutes 40] [--hidden 256]
        [--attention additive] [--cell gru] [--beam 4] [--subwords N [--shared-vocab]]
        [--threads N] [--out /tmp/bench]

With --subwords N each side reads N BPE subwords learned on the training split (every
piece kept) instead of words and marks with the words seen once as <unk>.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import sacrebleu

from seqlab.config import apply_overrides
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.workflow import train_seq2seq
from seqlab.text.levels import LEVELS

from _common import SHARED, machine_line, markdown_table, require

ANCHOR_BLEU = 28.3


def tokenised(texts: list[str]) -> list[str]:
    words = LEVELS.get("word")
    return [" ".join(words.split(text.lower())) for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pair", default="de-en")
    parser.add_argument("--minutes", type=float, default=40.0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--subwords", type=int, default=None,
                        help="BPE subwords per side (default: words, seen twice or more)")
    parser.add_argument("--shared-vocab", action="store_true",
                        help="with --subwords: one BPE model and vocabulary for both sides")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: all cores); 1 to run two side by side")
    parser.add_argument("--out", default="/tmp/bench")
    args = parser.parse_args()
    source, target = args.pair.split("-")
    folder = require(SHARED / "translation" / "multi30k")
    config = apply_overrides(Seq2SeqConfig(), {
        "data.train": str(folder / f"train.{source}.gz"),
        "data.train_target": str(folder / f"train.{target}.gz"),
        "data.test": str(folder / f"test_2016_flickr.{source}.gz"),
        "data.test_target": str(folder / f"test_2016_flickr.{target}.gz"),
        "data.val_fraction": 0.035, "data.min_count": 1 if args.subwords else 2,
        "data.subwords": args.subwords, "data.shared_vocab": args.shared_vocab,
        "model.cell": args.cell, "model.attention": args.attention,
        "model.hidden_size": args.hidden, "model.embedding_dim": args.embedding,
        "model.dropout": 0.3, "training.batch_size": 128, "training.max_epochs": 60,
        "training.max_minutes": args.minutes, "training.patience": 5,
        "decode.beam_width": args.beam, "ablation": False, "training.threads": args.threads,
        "name": f"multi30k-{args.pair}-{args.cell}-{args.attention}"
                + (f"-bpe{args.subwords}" if args.subwords else ""), "output_dir": args.out})
    print(machine_line())
    began = time.perf_counter()
    outcome = train_seq2seq(config, notify=print)
    seconds = time.perf_counter() - began
    model = Seq2Seq.load(outcome.run_dir)
    test = pd.read_csv(outcome.run_dir / "test_outputs.tsv", sep="\t", keep_default_na=False)
    outputs, references = test["output"].tolist(), test["reference"].tolist()
    bleu = sacrebleu.metrics.BLEU()
    detok = bleu.corpus_score(outputs, [references])
    tok = sacrebleu.metrics.BLEU(tokenize="none").corpus_score(tokenised(outputs),
                                                                [tokenised(references)])
    info = model.fit_info_
    print(markdown_table([{
        "pair": args.pair, "model": outcome.leaderboard[0]["model"],
        "tokens": f"BPE {args.subwords:,}" + (" shared" if args.shared_vocab else "")
        if args.subwords else "words (min count 2)",
        "epochs": f"{info['best_epoch']} of {info['epochs']}",
        "train min": info["train_seconds"] / 60, "test sacreBLEU": detok.score,
        "test BLEU (tokenised)": tok.score, "÷ anchor 28.3": tok.score / ANCHOR_BLEU,
        "test chrF": outcome.leaderboard[0]["test"]["chrf"],
        "copy baseline BLEU": outcome.leaderboard[-1]["test"]["bleu"],
        "total min": seconds / 60}]))
    print(f"sacreBLEU signature: {bleu.get_signature()}")
    for src, ref, out in list(zip(test["source"], references, outputs, strict=True))[:3]:
        print(f"\n  {src}\n  ref: {ref}\n  out: {out}")


if __name__ == "__main__":
    main()
