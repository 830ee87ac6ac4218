"""How fast the recurrent classifier trains on long documents: each whole review (the
``vocab.max_length: auto`` of now), against the old cut at 400 tokens (which reads less).

The lengths are those of real IMDB reviews (``../shared/data/imdb``, the default
preprocessing, cut at 1,072 tokens as ``vocab.max_length: auto`` chose for them); the
token ids are random, since only the time is measured. Each set-up trains the default
network (LSTM 1×128, max pooling) forward and backward over the same length-bucketed
batches of 64.

    python benchmarks/long_documents.py [--reviews 2000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from seqlab.tasks.classify.config import ModelConfig
from seqlab.tasks.classify.network import SequenceClassifier
from seqlab.text.batching import bucket_batches, pad_batch
from seqlab.text.preprocess import Pipeline

from _common import SHARED, machine_line, markdown_table, require

LIMIT = 1072


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", type=int, default=2000)
    args = parser.parse_args()
    frame = pd.read_csv(require(SHARED / "imdb" / "imdb_50k.csv.gz"), nrows=args.reviews)
    lengths = [len(t) for t in Pipeline("default").process_many(frame["review"].astype(str))]
    print(machine_line())
    print(f"{len(lengths):,} reviews, {sum(lengths) / len(lengths):.0f} tokens on average\n")
    setups = {"whole reviews (≤ 1,072 tokens, the default)": LIMIT,
              "cut at 400 tokens (the old limit)": 400}
    rows, first = [], None
    for name, limit in setups.items():
        torch.manual_seed(0)
        model = SequenceClassifier(ModelConfig(), 20_000, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        seqs = [torch.randint(2, 20_000, (max(1, min(n, limit)),)).numpy() for n in lengths]
        tokens = sum(len(s) for s in seqs)
        began = time.perf_counter()
        for idx in bucket_batches([len(s) for s in seqs], 64, shuffle=True, seed=1):
            ids, lens = pad_batch([seqs[i] for i in idx])
            loss = model(ids, lens).logsumexp(1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - began
        first = first or seconds
        rows.append({"set-up": name, "tokens read": tokens, "seconds": seconds,
                     "tokens/s": tokens / seconds, "time × whole": seconds / first})
        print(f"{name}: {seconds:.1f} s", flush=True)
    print("\n" + markdown_table(rows))


if __name__ == "__main__":
    main()
