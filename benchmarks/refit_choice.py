"""Should the classifier train its parts again on training + validation? Validation only.

A refit cannot be judged on the validation split it trains on, so this script holds the
run's validation split out as the judge and plays the run one level down: for every
dataset and seed it splits the suite's training split (stratified, so that the inner
validation part is as large a share as the run's) into an inner training and an inner
validation part, fits the default ensemble on them (validation picks each member's
epochs, the n-gram model's C, the temperatures and the blend), and scores on the run's
validation split

- that ensemble (``validated``), and
- the same ensemble with its parts trained again on inner training + inner validation
  for the chosen epochs and C (``refit``, what ``refit: true`` does).

The test split is never read.

    python benchmarks/refit_choice.py [--datasets emotion,trec,sms] [--seeds 1,2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from member_choices import scores

from seqlab.config import apply_overrides
from seqlab.data.split import stratified_split
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.ensemble import EnsembleClassifier
from seqlab.tasks.classify.workflow import load_splits

from _common import machine_line, markdown_table
from classification_suite import dataset_files


def run(dataset: str, seed: int, out: Path) -> list[dict[str, object]]:
    config = apply_overrides(RunConfig(), {**{f"data.{k}": v for k, v in
                                              dataset_files(dataset, out).items()},
                                           "seed": seed})
    splits = load_splits(config)
    train, judge = splits.train, splits.val
    share = len(judge.texts) / (len(train.texts) + len(judge.texts))
    inner, held, _ = stratified_split([str(v) for v in train.labels], share, 0.0, seed)
    texts = [train.texts[i] for i in inner]
    labels = np.asarray(train.labels)[inner]
    val_texts = [train.texts[i] for i in held]
    val_labels = np.asarray(train.labels)[held]
    began = time.perf_counter()
    ensemble = EnsembleClassifier.from_config(config)
    ensemble.fit(texts, labels, val_texts, val_labels)
    fit_seconds = time.perf_counter() - began
    began = time.perf_counter()
    refit = ensemble.refitted(texts + val_texts, np.concatenate([labels, val_labels]))
    refit_seconds = time.perf_counter() - began
    targets = ensemble.label_indices(judge.labels, "validation")
    rows = []
    for name, model, seconds in (("validated", ensemble, fit_seconds),
                                 ("refit", refit, fit_seconds + refit_seconds)):
        parts = {"ensemble": model.predict_proba(judge.texts),
                 **{part: component.predict_proba(judge.texts)
                    for part, component in model.components_.items()}}
        row: dict[str, object] = {"dataset": dataset, "seed": seed, "model": name,
                                  "inner train / val texts": f"{len(texts)} / {len(val_texts)}",
                                  "recurrent weight": model.weights_[0]}
        for part, proba in parts.items():
            for key, value in scores(targets, proba).items():
                if part == "ensemble" or key == "macro_f1":
                    row[f"{part} {key}"] = value
        row["train s"] = seconds
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="emotion,trec,sms")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--out", default="/tmp/refit_choice", help="scratch folder")
    args = parser.parse_args()
    rows = [row for dataset in args.datasets.split(",")
            for seed in (int(s) for s in args.seeds.split(","))
            for row in run(dataset, seed, Path(args.out))]
    print(f"\n{machine_line()}\n`python benchmarks/refit_choice.py --datasets "
          f"{args.datasets} --seeds {args.seeds}`\n")
    print("Scored on the run's validation split (the inner split chose everything)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
